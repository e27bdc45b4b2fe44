#include "crest/http/server.hpp"

#include <csignal>
#include <mutex>
#include <thread>
#include <unordered_set>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "crest/metrics/registry.hpp"

namespace crest::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

namespace {

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool idle = true;  // only touched on the connection's strand
};

Request to_request(const bhttp::request<bhttp::string_body>& message, std::string remote) {
  Request request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  const auto question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) request.query_string = request.target.substr(question + 1);
  for (const auto& field : message) {
    request.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = message.body();
  request.remote_address = std::move(remote);
  return request;
}

bhttp::response<bhttp::string_body> to_message(Response response, unsigned version, bool keep_alive) {
  bhttp::response<bhttp::string_body> message;
  message.result(static_cast<unsigned>(response.status));
  message.version(version);
  message.set(bhttp::field::server, "crest");
  for (auto& [name, value] : response.headers.all()) message.insert(name, value);
  message.body() = std::move(response.body);
  message.keep_alive(keep_alive);
  message.prepare_payload();
  return message;
}

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions opts, Router routes, std::vector<Middleware> middleware, metrics::Registry& reg)
      : options(std::move(opts)),
        registry(reg),
        logger(options.service_name),
        acceptor_strand(net::make_strand(ioc)),
        acceptor(acceptor_strand),
        signals(ioc, SIGTERM, SIGINT) {
    add_builtin_routes(routes);
    pipeline = compose(std::move(middleware),
                       [router = std::make_shared<Router>(std::move(routes))](Request& request) {
                         return router->dispatch(request);
                       });
  }

  void add_builtin_routes(Router& routes) {
    routes.add("GET", "/healthz", [](Request&) { return Response::json(200, {{"status", "ok"}}); });
    routes.add("GET", "/readyz", [this](Request&) {
      if (is_draining) return Response::json(503, {{"status", "draining"}});
      std::string reason;
      {
        std::lock_guard lock(mutex);
        if (readiness_check) reason = readiness_check();
      }
      if (!reason.empty()) return Response::json(503, {{"status", "not ready"}, {"reason", reason}});
      return Response::json(200, {{"status", "ready"}});
    });
    routes.add("GET", "/metrics", [this](Request&) {
      return Response::text(200, registry.render(), std::string(metrics::kContentType));
    });
  }

  net::awaitable<void> accept_loop() {
    for (;;) {
      beast::error_code ec;
      auto strand = net::make_strand(ioc);
      tcp::socket socket(strand);
      co_await acceptor.async_accept(socket, net::redirect_error(net::use_awaitable, ec));
      if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        // Out of descriptors, most likely: back off instead of spinning.
        logger.warn("accept failed", {{"error", ec.message()}});
        net::steady_timer pause(acceptor_strand, std::chrono::milliseconds(50));
        co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
        continue;
      }
      auto connection = std::make_shared<Connection>(std::move(socket));
      {
        std::lock_guard lock(mutex);
        connections.insert(connection);
      }
      net::co_spawn(strand, serve(connection), net::detached);
    }
  }

  net::awaitable<void> write_error(Connection& connection, int status, std::string_view code,
                                   std::string_view message) {
    beast::error_code ec;
    auto out = to_message(Response::error(status, code, message), 11, false);
    connection.stream.expires_after(options.read_timeout);
    co_await bhttp::async_write(connection.stream, out, net::redirect_error(net::use_awaitable, ec));
  }

  net::awaitable<void> serve(std::shared_ptr<Connection> connection) {
    beast::error_code ec;
    beast::flat_buffer buffer;
    const auto endpoint = connection->stream.socket().remote_endpoint(ec);
    const std::string remote = ec ? std::string() : endpoint.address().to_string();
    while (!is_draining) {
      connection->idle = true;
      connection->stream.expires_after(options.idle_timeout);
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(16 * 1024);
      parser.body_limit(options.body_limit);
      co_await bhttp::async_read_header(connection->stream, buffer, parser,
                                        net::redirect_error(net::use_awaitable, ec));
      connection->idle = false;
      if (ec == bhttp::error::header_limit) {
        co_await write_error(*connection, 431, "header_too_large", "request header exceeds 16 KiB");
        break;
      }
      if (ec == bhttp::error::body_limit) {
        co_await write_error(*connection, 413, "payload_too_large", body_limit_message());
        break;
      }
      if (is_parse_error(ec)) {
        co_await write_error(*connection, 400, "bad_request", "malformed HTTP request: " + ec.message());
        break;
      }
      if (ec) break;  // closed, reset or idle timeout: nothing to answer

      InFlight guard(in_flight);
      connection->stream.expires_after(options.read_timeout);
      if (!parser.is_done()) {
        if (const auto expect = parser.get()[bhttp::field::expect]; iequals(expect, "100-continue")) {
          bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
          co_await bhttp::async_write(connection->stream, go_on, net::redirect_error(net::use_awaitable, ec));
          if (ec) break;
        }
        co_await bhttp::async_read(connection->stream, buffer, parser,
                                   net::redirect_error(net::use_awaitable, ec));
        if (ec == bhttp::error::body_limit) {
          co_await write_error(*connection, 413, "payload_too_large", body_limit_message());
          break;
        }
        if (is_parse_error(ec)) {
          co_await write_error(*connection, 400, "bad_request", "malformed HTTP request: " + ec.message());
          break;
        }
        if (ec) break;
      }
      auto& message = parser.get();
      Request request = to_request(message, remote);
      Response response;
      try {
        response = pipeline(request);
      } catch (const std::exception& e) {  // only a broken middleware gets here
        logger.error("request pipeline failed", {{"error", e.what()}});
        response = Response::error(500, "internal", "internal error");
      }
      const bool keep_alive = message.keep_alive() && !is_draining;
      auto out = to_message(std::move(response), message.version(), keep_alive);
      connection->stream.expires_after(options.read_timeout);
      co_await bhttp::async_write(connection->stream, out, net::redirect_error(net::use_awaitable, ec));
      if (ec || !keep_alive) break;
    }
    connection->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    connection->stream.close();
    std::lock_guard lock(mutex);
    connections.erase(connection);
  }

  std::string body_limit_message() const {
    return "request body exceeds " + std::to_string(options.body_limit) + " bytes";
  }

  struct InFlight {
    explicit InFlight(std::atomic<int>& n) : count(n) { ++count; }
    ~InFlight() { --count; }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
    std::atomic<int>& count;
  };

  void begin_drain() {
    if (is_draining.exchange(true)) return;
    std::vector<std::function<void()>> callbacks;
    std::vector<std::shared_ptr<Connection>> open;
    {
      std::lock_guard lock(mutex);
      callbacks = drain_callbacks;
      open.assign(connections.begin(), connections.end());
    }
    logger.info("draining", {{"open_connections", open.size()}, {"in_flight", in_flight.load()},
                             {"grace_ms", options.drain_grace.count()}});
    net::post(acceptor_strand, [this] {
      beast::error_code ec;
      acceptor.close(ec);
    });
    for (auto& connection : open) {
      net::post(connection->stream.get_executor(), [connection] {
        if (connection->idle) connection->stream.cancel();
      });
    }
    for (auto& callback : callbacks) callback();
    net::co_spawn(ioc, wait_for_drain(), net::detached);
  }

  net::awaitable<void> wait_for_drain() {
    const auto deadline = std::chrono::steady_clock::now() + options.drain_grace;
    net::steady_timer timer(ioc);
    for (;;) {
      std::size_t open = 0;
      {
        std::lock_guard lock(mutex);
        open = connections.size();
      }
      if (open == 0) {
        logger.info("drained");
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        logger.warn("drain grace period over; closing", {{"open_connections", open},
                                                         {"in_flight", in_flight.load()}});
        break;
      }
      timer.expires_after(std::chrono::milliseconds(10));
      beast::error_code ec;
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    ioc.stop();
  }

  ServerOptions options;
  metrics::Registry& registry;
  log::Logger logger;
  Handler pipeline;
  net::io_context ioc;
  net::strand<net::io_context::executor_type> acceptor_strand;
  tcp::acceptor acceptor;
  net::signal_set signals;
  std::atomic<bool> is_draining{false};
  std::atomic<int> in_flight{0};
  std::mutex mutex;  // guards connections, readiness_check, drain_callbacks
  std::unordered_set<std::shared_ptr<Connection>> connections;
  std::function<std::string()> readiness_check;
  std::vector<std::function<void()>> drain_callbacks;
};

Server::Server(ServerOptions options, Router router, std::vector<Middleware> middleware,
               metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), std::move(middleware),
                                   registry)) {}

Server::~Server() = default;

std::string Server::listen() {
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->options.address, ec);
  if (ec) return "invalid listen address '" + impl_->options.address + "'";
  const tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return "cannot listen on " + impl_->options.address + ":" +
           std::to_string(impl_->options.port) + ": " + ec.message();
  }
  return {};
}

std::uint16_t Server::port() const {
  beast::error_code ec;
  const auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void Server::run() {
  auto& impl = *impl_;
  impl.signals.async_wait([&impl](const beast::error_code& ec, int signal) {
    if (!ec) {
      impl.logger.info("signal received", {{"signal", signal}});
      impl.begin_drain();
    }
  });
  net::co_spawn(impl.acceptor_strand, impl.accept_loop(), net::detached);
  impl.logger.info("listening", {{"address", impl.options.address}, {"port", port()},
                                 {"threads", impl.options.threads}});
  std::vector<std::thread> threads;
  for (int i = 1; i < std::max(1, impl.options.threads); ++i) {
    threads.emplace_back([&impl] { impl.ioc.run(); });
  }
  impl.ioc.run();
  for (auto& thread : threads) thread.join();
  beast::error_code ec;
  impl.signals.cancel(ec);
}

void Server::drain() {
  net::post(impl_->ioc, [impl = impl_.get()] { impl->begin_drain(); });
}

void Server::set_readiness_check(std::function<std::string()> check) {
  std::lock_guard lock(impl_->mutex);
  impl_->readiness_check = std::move(check);
}

void Server::on_drain(std::function<void()> callback) {
  std::lock_guard lock(impl_->mutex);
  impl_->drain_callbacks.push_back(std::move(callback));
}

bool Server::draining() const { return impl_->is_draining; }

}  // namespace crest::http
