#pragma once
// A blocking HTTP/1.1 client with keep-alive and timeouts, for service-to-service calls and the
// AWS clients. One HttpClient is one connection and is not thread-safe; HttpClientPool lends
// clients to threads. A request on a reused connection that fails before any response byte
// arrives is retried once on a fresh connection (the server may have closed it while idle).
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/core/host_port.hpp"
#include "crest/http/message.hpp"

namespace crest::http {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{2'000};
  std::chrono::milliseconds request_timeout{10'000};
  std::size_t response_body_limit = 16 * 1024 * 1024;
};

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";
  Headers headers;
  std::string body;
};

class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port, ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // A Response for any HTTP status; an Error (unavailable/timeout) when no response came.
  Result<Response> send(const ClientRequest& request);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

class HttpClientPool {
 public:
  HttpClientPool(std::string host, std::uint16_t port, ClientOptions options = {});
  Result<Response> send(const ClientRequest& request);

 private:
  std::string host_;
  std::uint16_t port_;
  ClientOptions options_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<HttpClient>> idle_;
};

// "http://host:port[/]" or "host:port" into its parts (crest::parse_host_port after the scheme);
// an error for anything else.
Result<HostPort> parse_base_url(std::string_view url);

// Percent-encodes everything but RFC 3986's unreserved characters (a query parameter's value).
std::string url_encode(std::string_view text);

}  // namespace crest::http
