#pragma once
// Where an AWS client sends its requests, and HTTPS to it: TLS 1.2+ over OpenSSL (Boost.Beast's
// ssl_stream) with the peer certificate verified against the system CA store (OpenSSL's default
// paths, which honour SSL_CERT_FILE / SSL_CERT_DIR) and its name checked against the host (DNS
// name or IP address), SNI set, keep-alive connections reused from a pool, and a request on a
// reused connection that fails before any response byte retried once on a fresh connection.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "crest/aws/config.hpp"
#include "crest/core/error.hpp"
#include "crest/http/client.hpp"

namespace crest::aws {

struct Endpoint {
  bool tls = false;
  std::string host;
  std::uint16_t port = 0;
  std::string host_header;  // what Host carries and SigV4 signs: no port when it is the default

  std::string url() const;
  bool is_loopback() const;  // 127.0.0.0/8, ::1 or localhost
};

// "https://host[:port]", "http://host[:port]" or "host:port" (plain HTTP); a trailing "/" is
// allowed, a path is not. invalid_argument naming the URL otherwise.
Result<Endpoint> parse_endpoint(std::string_view url);

// The endpoint a client of `service_id` ("dynamodb", "sqs", "sts") uses, as the SDKs resolve it:
// `configured` if not empty, else AWS_ENDPOINT_URL_<SERVICE> (upper case), else AWS_ENDPOINT_URL,
// else https://<service>.<region>.amazonaws.com.
Result<Endpoint> resolve_endpoint(std::string_view service_id, std::string_view configured,
                                  std::string_view region, const EnvLookup& env);

struct TlsOptions {
  // PEM file of extra trust anchors, used besides the system store (empty: system store only).
  std::string extra_ca_file;
};

// A pool of TLS connections to one host. Thread-safe; connections are lent to one request at a
// time. Errors: timeout, unavailable (connect/reset), internal (TLS handshake failed, e.g. a
// certificate that does not verify or does not match the host: retrying cannot help).
class HttpsClientPool {
 public:
  HttpsClientPool(Endpoint endpoint, http::ClientOptions options, TlsOptions tls = {});
  ~HttpsClientPool();
  HttpsClientPool(const HttpsClientPool&) = delete;
  HttpsClientPool& operator=(const HttpsClientPool&) = delete;

  Result<http::Response> send(const http::ClientRequest& request);
  // Connections opened so far (for tests of connection reuse).
  std::size_t connections_opened() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Sends requests to one endpoint over HTTP (crest::http's pool) or HTTPS (HttpsClientPool). The
// request must not carry Host: the transport sets endpoint.host_header.
class EndpointTransport {
 public:
  EndpointTransport(const Endpoint& endpoint, http::ClientOptions options, TlsOptions tls = {});
  ~EndpointTransport();
  Result<http::Response> send(const http::ClientRequest& request);

 private:
  std::unique_ptr<http::HttpClientPool> plain_;
  std::unique_ptr<HttpsClientPool> tls_;
};

}  // namespace crest::aws
