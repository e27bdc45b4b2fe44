#include "crest/aws/https.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "crest/http/blocking_connection.hpp"

namespace crest::aws {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

std::string Endpoint::url() const {
  return fmt::format("{}://{}:{}", tls ? "https" : "http", host, port);
}

bool Endpoint::is_loopback() const {
  if (host == "localhost" || host == "::1") return true;
  boost::system::error_code ec;
  const auto address = net::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

Result<Endpoint> parse_endpoint(std::string_view url) {
  const auto bad = [&](std::string_view why) {
    return Error{ErrorKind::invalid_argument, fmt::format("endpoint '{}': {}", url, why)};
  };
  Endpoint e;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    e.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return bad("the scheme must be http or https");
  }
  if (rest.ends_with('/')) rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) return bad("a path is not allowed");
  const auto colon = rest.rfind(':');
  std::string_view host = rest;
  if (colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    const auto port_text = rest.substr(colon + 1);
    unsigned port = 0;
    if (port_text.empty() || port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; })) {
      return bad("the port is not a number");
    }
    for (const char c : port_text) port = port * 10 + static_cast<unsigned>(c - '0');
    if (port == 0 || port > 65535) return bad("the port is out of range");
    e.port = static_cast<std::uint16_t>(port);
  } else if (e.tls) {
    e.port = 443;
  } else if (url.starts_with("http://")) {
    e.port = 80;
  } else {
    return bad("expected http(s)://host[:port] or host:port");
  }
  if (host.empty()) return bad("the host is empty");
  e.host = std::string(host);
  // crest::http's client always sends host:port; for TLS the default port is left out, as the
  // SDKs do for the regional endpoints.
  e.host_header = e.tls && e.port == 443 ? e.host : fmt::format("{}:{}", e.host, e.port);
  return e;
}

Result<Endpoint> resolve_endpoint(std::string_view service_id, std::string_view configured,
                                  std::string_view region, const EnvLookup& env) {
  if (!configured.empty()) return parse_endpoint(configured);
  std::string variable = "AWS_ENDPOINT_URL_";
  for (const char c : service_id) {
    variable += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  for (const std::string& name : {variable, std::string("AWS_ENDPOINT_URL")}) {
    if (auto value = env(name); value && !value->empty()) {
      auto parsed = parse_endpoint(*value);
      if (!parsed.ok()) return Error{parsed.error().kind, name + ": " + parsed.error().message};
      return parsed;
    }
  }
  if (region.empty()) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("no endpoint for {}: the region is empty", service_id)};
  }
  return parse_endpoint(fmt::format("https://{}.{}.amazonaws.com", service_id, region));
}

namespace {

using Connection = http::BlockingConnection<beast::ssl_stream<beast::tcp_stream>>;

}  // namespace

struct HttpsClientPool::Impl {
  Endpoint endpoint;
  http::ClientOptions options;
  ssl::context context{ssl::context::tls_client};
  std::string context_error;
  mutable std::mutex mutex;
  std::vector<std::unique_ptr<Connection>> idle;
  std::size_t opened = 0;

  Error failure(const beast::error_code& ec, std::string_view during) const {
    const auto kind = ec == beast::error::timeout ? ErrorKind::timeout : ErrorKind::unavailable;
    return Error{kind, fmt::format("{} {}: {}", during, endpoint.url(), ec.message())};
  }

  std::optional<Error> connect(Connection& c) {
    if (!context_error.empty()) return Error{ErrorKind::internal, context_error};
    beast::error_code ec;
    tcp::resolver resolver(c.ioc);
    const auto endpoints = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
    if (ec) return failure(ec, "resolve");
    c.stream.emplace(c.ioc, context);
    SSL* native = c.stream->native_handle();
    // Name check done by OpenSSL during the handshake: an IP address against the certificate's
    // IP SANs, a DNS name against its DNS SANs (wildcards allowed in the leftmost label only).
    X509_VERIFY_PARAM* param = SSL_get0_param(native);
    boost::system::error_code not_ip;
    net::ip::make_address(endpoint.host, not_ip);
    if (!not_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, endpoint.host.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, endpoint.host.c_str(), 0);
      // SSL_set_tlsext_host_name without its macro's C-style cast.
      SSL_ctrl(native, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(endpoint.host.c_str()));
    }
    auto& tcp_layer = beast::get_lowest_layer(*c.stream);
    tcp_layer.expires_after(options.connect_timeout);
    tcp_layer.async_connect(endpoints,
                            [&ec](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
    c.run_pending();
    if (ec) {
      c.close();
      return failure(ec, "connect to");
    }
    tcp_layer.socket().set_option(tcp::no_delay(true), ec);
    tcp_layer.expires_after(options.connect_timeout);
    c.stream->async_handshake(ssl::stream_base::client,
                              [&ec](const beast::error_code& e) { ec = e; });
    c.run_pending();
    if (ec) {
      const long verify = SSL_get_verify_result(native);
      std::string detail = ec.message();
      if (verify != X509_V_OK) {
        detail = fmt::format("certificate verification failed: {}",
                             X509_verify_cert_error_string(verify));
      }
      c.close();
      if (ec == beast::error::timeout) return failure(ec, "TLS handshake with");
      return Error{ErrorKind::internal,
                   fmt::format("TLS handshake with {}: {}", endpoint.url(), detail)};
    }
    return std::nullopt;
  }

  Result<http::Response> attempt(Connection& c, const http::ClientRequest& request, bool reused,
                                 bool& stale) {
    bhttp::request<bhttp::string_body> message;
    message.method_string(request.method);
    message.target(request.target);
    message.version(11);
    message.set(bhttp::field::host, endpoint.host_header);
    for (const auto& [name, value] : request.headers.all()) message.insert(name, value);
    message.body() = request.body;
    message.keep_alive(true);
    message.prepare_payload();

    beast::error_code ec;
    auto& tcp_layer = beast::get_lowest_layer(*c.stream);
    tcp_layer.expires_after(options.request_timeout);
    bhttp::async_write(*c.stream, message,
                       [&ec](const beast::error_code& e, std::size_t) { ec = e; });
    c.run_pending();
    if (ec) {
      stale = reused && ec != beast::error::timeout;
      c.close();
      return failure(ec, "send to");
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(options.response_body_limit);
    bhttp::async_read(*c.stream, c.buffer, parser,
                      [&ec](const beast::error_code& e, std::size_t) { ec = e; });
    c.run_pending();
    if (ec) {
      stale = reused && !parser.got_some() && ec != beast::error::timeout;
      c.close();
      return failure(ec, "read from");
    }
    auto& reply = parser.get();
    http::Response response;
    response.status = static_cast<int>(reply.result_int());
    for (const auto& field : reply) {
      response.headers.add(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(reply.body());
    if (!reply.keep_alive()) c.close();
    return response;
  }
};

HttpsClientPool::HttpsClientPool(Endpoint endpoint, http::ClientOptions options, TlsOptions tls)
    : impl_(std::make_unique<Impl>()) {
  impl_->endpoint = std::move(endpoint);
  impl_->options = options;
  auto& ctx = impl_->context;
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  ctx.set_default_verify_paths(ec);
  if (ec) impl_->context_error = "loading the system CA store: " + ec.message();
  if (!tls.extra_ca_file.empty()) {
    ctx.load_verify_file(tls.extra_ca_file, ec);
    if (ec) {
      impl_->context_error =
          fmt::format("loading CA file '{}': {}", tls.extra_ca_file, ec.message());
    }
  }
  ctx.set_verify_mode(ssl::verify_peer);
}

HttpsClientPool::~HttpsClientPool() = default;

std::size_t HttpsClientPool::connections_opened() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->opened;
}

Result<http::Response> HttpsClientPool::send(const http::ClientRequest& request) {
  auto& impl = *impl_;
  std::unique_ptr<Connection> connection;
  {
    std::lock_guard lock(impl.mutex);
    if (!impl.idle.empty()) {
      connection = std::move(impl.idle.back());
      impl.idle.pop_back();
    }
  }
  for (int attempt = 0;; ++attempt) {
    if (!connection) connection = std::make_unique<Connection>();
    const bool reused = connection->stream.has_value();
    if (!reused) {
      if (auto error = impl.connect(*connection)) return *error;
      std::lock_guard lock(impl.mutex);
      ++impl.opened;
    }
    bool stale = false;
    auto response = impl.attempt(*connection, request, reused, stale);
    if (response.ok()) {
      if (connection->stream) {
        std::lock_guard lock(impl.mutex);
        impl.idle.push_back(std::move(connection));
      }
      return response;
    }
    if (!stale || attempt > 0) return response;
    connection.reset();  // the server closed it while idle: once more on a new connection
  }
}

EndpointTransport::EndpointTransport(const Endpoint& endpoint, http::ClientOptions options,
                                     TlsOptions tls) {
  if (endpoint.tls) {
    tls_ = std::make_unique<HttpsClientPool>(endpoint, options, std::move(tls));
  } else {
    plain_ = std::make_unique<http::HttpClientPool>(endpoint.host, endpoint.port, options);
  }
}

EndpointTransport::~EndpointTransport() = default;

Result<http::Response> EndpointTransport::send(const http::ClientRequest& request) {
  return tls_ ? tls_->send(request) : plain_->send(request);
}

}  // namespace crest::aws
