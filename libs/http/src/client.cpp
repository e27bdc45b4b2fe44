#include "crest/http/client.hpp"

#include <cctype>

#include <optional>

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "crest/http/blocking_connection.hpp"

namespace crest::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

struct HttpClient::Impl : BlockingConnection<beast::tcp_stream> {
  std::string host;
  std::uint16_t port;
  ClientOptions options;

  Error failure(const beast::error_code& ec, std::string_view during) const {
    const auto kind = ec == beast::error::timeout ? ErrorKind::timeout : ErrorKind::unavailable;
    return Error{kind, fmt::format("{} {}:{}: {}", during, host, port, ec.message())};
  }

  std::optional<Error> connect() {
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    const auto endpoints = resolver.resolve(host, std::to_string(port), ec);
    if (ec) return failure(ec, "resolve");
    stream.emplace(ioc);
    stream->expires_after(options.connect_timeout);
    stream->async_connect(endpoints,
                          [&ec](const beast::error_code& e, const tcp::endpoint&) { ec = e; });
    run_pending();
    if (ec) {
      close();
      return failure(ec, "connect to");
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    return std::nullopt;
  }

  // One attempt. `stale` is set when a reused connection failed before any response byte.
  Result<Response> attempt(const ClientRequest& request, bool reused, bool& stale) {
    bhttp::request<bhttp::string_body> message;
    message.method_string(request.method);
    message.target(request.target);
    message.version(11);
    message.set(bhttp::field::host, fmt::format("{}:{}", host, port));
    for (const auto& [name, value] : request.headers.all()) message.insert(name, value);
    message.body() = request.body;
    message.keep_alive(true);
    message.prepare_payload();

    beast::error_code ec;
    stream->expires_after(options.request_timeout);  // covers the write and the read
    bhttp::async_write(*stream, message,
                       [&ec](const beast::error_code& e, std::size_t) { ec = e; });
    run_pending();
    if (ec) {
      stale = reused && ec != beast::error::timeout;
      close();
      return failure(ec, "send to");
    }
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(options.response_body_limit);
    bhttp::async_read(*stream, buffer, parser,
                      [&ec](const beast::error_code& e, std::size_t) { ec = e; });
    run_pending();
    if (ec) {
      stale = reused && !parser.got_some() && ec != beast::error::timeout;
      close();
      return failure(ec, "read from");
    }
    auto& reply = parser.get();
    Response response;
    response.status = static_cast<int>(reply.result_int());
    for (const auto& field : reply) {
      response.headers.add(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(reply.body());
    if (!reply.keep_alive()) close();
    return response;
  }
};

HttpClient::HttpClient(std::string host, std::uint16_t port, ClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->options = options;
}

HttpClient::~HttpClient() = default;

Result<Response> HttpClient::send(const ClientRequest& request) {
  for (int attempt = 0;; ++attempt) {
    const bool reused = impl_->stream.has_value();
    if (!reused) {
      if (auto error = impl_->connect()) return *error;
    }
    bool stale = false;
    auto result = impl_->attempt(request, reused, stale);
    if (result.ok() || !stale || attempt > 0) return result;
  }
}

HttpClientPool::HttpClientPool(std::string host, std::uint16_t port, ClientOptions options)
    : host_(std::move(host)), port_(port), options_(options) {}

Result<Response> HttpClientPool::send(const ClientRequest& request) {
  std::unique_ptr<HttpClient> client;
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      client = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!client) client = std::make_unique<HttpClient>(host_, port_, options_);
  auto result = client->send(request);
  std::lock_guard lock(mutex_);
  if (idle_.size() < 64) idle_.push_back(std::move(client));
  return result;
}

Result<HostPort> parse_base_url(std::string_view url) {
  if (url.starts_with("http://")) url.remove_prefix(7);
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  return crest::parse_host_port(url);
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace crest::http
