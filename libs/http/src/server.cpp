#include "crest/http/server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <unordered_set>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "crest/core/text.hpp"
#include "crest/metrics/registry.hpp"

namespace crest::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = net::ip::tcp;

namespace {

struct Loop;

struct Connection {
  Connection(tcp::socket socket, Loop& owner) : stream(std::move(socket)), loop(owner) {}
  beast::tcp_stream stream;
  Loop& loop;
  bool idle = true;  // waiting for a request's first byte; only touched on the loop's thread
};

// One single-threaded event loop with its own acceptor; its connections never leave it.
struct Loop {
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::unordered_set<std::shared_ptr<Connection>> connections;  // only touched on this loop
};

// What the innermost handler of the middleware chain answers for the request in progress. The
// chain runs synchronously on one thread, so a thread-local hands it over without a lookup.
struct Dispatch {
  const Route* route = nullptr;
  Response* failure = nullptr;               // the 404/405/400 when route is null
  std::optional<Response>* ready = nullptr;  // a response the route's without_blocking produced
};
thread_local Dispatch* current_dispatch = nullptr;

constexpr std::size_t kHeaderLimit = 16 * 1024;

Response answer_dispatch(Request& request) {
  Dispatch& dispatch = *current_dispatch;
  if (dispatch.ready != nullptr && dispatch.ready->has_value()) return std::move(**dispatch.ready);
  if (dispatch.route == nullptr) return std::move(*dispatch.failure);
  return dispatch.route->handler(request);
}

Request to_request(const bhttp::request<bhttp::string_body>& message, const std::string& remote) {
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
  request.remote_address = remote;
  return request;
}

bhttp::response<bhttp::string_body> to_message(Response response, unsigned version, bool keep_alive,
                                               bool head) {
  bhttp::response<bhttp::string_body> message;
  message.result(static_cast<unsigned>(response.status));
  message.version(version);
  message.set(bhttp::field::server, "crest");
  for (auto& [name, value] : response.headers.all()) message.insert(name, value);
  message.keep_alive(keep_alive);
  if (head) {  // the GET answer's headers, its length, no body
    message.content_length(response.body.size());
  } else {
    message.body() = std::move(response.body);
    message.prepare_payload();
  }
  return message;
}

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

// RFC 9112: a Transfer-Encoding the server does not implement is 501; "chunked" is the only one
// here. Returns true when the header is absent or exactly one "chunked".
bool transfer_encoding_supported(const bhttp::request_parser<bhttp::string_body>& parser) {
  int fields = 0;
  for (const auto& field : parser.get()) {
    if (field.name() != bhttp::field::transfer_encoding) continue;
    if (++fields > 1 || !iequals(text::trim(field.value()), "chunked")) return false;
  }
  return true;
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions opts, Router routes, std::vector<Middleware> middleware,
       metrics::Registry& reg)
      : options(std::move(opts)),
        registry(reg),
        logger(options.service_name),
        signals(control, SIGTERM, SIGINT),
        drain_timer(control),
        pool(static_cast<std::size_t>(std::max(1, options.blocking_threads))),
        rejected(registry.counter_family(
            "http_server_rejected_connections_total",
            "Connections closed at once because the server was full or out of descriptors.",
            {"reason"})),
        rejected_full(rejected.with({"max_connections"})),
        rejected_descriptors(rejected.with({"out_of_descriptors"})),
        open_gauge(registry.gauge("http_server_open_connections", "Open client connections.")) {
    add_builtin_routes(routes);
    router = std::move(routes);
    pipeline = compose(std::move(middleware), answer_dispatch);
    const int count = options.event_loops > 0 ? options.event_loops : available_cpus();
    for (int i = 0; i < count; ++i) loops.push_back(std::make_unique<Loop>());
    reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  ~Impl() {
    if (reserve_fd >= 0) ::close(reserve_fd);
  }

  void add_builtin_routes(Router& routes) {
    RouteOptions on_loop;
    on_loop.blocking = false;
    routes.add(
        "GET", "/healthz",
        [](Request&) {
          return Response::json(200, {{"status", "ok"}});
        },
        on_loop);
    // The readiness check may ask a database: it runs on the blocking pool unless there is none.
    RouteOptions readiness;
    readiness.blocking = true;
    readiness.without_blocking = [this](Request&) -> std::optional<Response> {
      if (is_draining) return Response::json(503, {{"status", "draining"}});
      std::lock_guard lock(mutex);
      if (!readiness_check) return Response::json(200, {{"status", "ready"}});
      return std::nullopt;
    };
    routes.add(
        "GET", "/readyz",
        [this](Request&) {
          if (is_draining) return Response::json(503, {{"status", "draining"}});
          std::function<std::string()> check;
          {
            std::lock_guard lock(mutex);
            check = readiness_check;
          }
          const std::string reason = check ? check() : std::string();
          if (!reason.empty()) {
            return Response::json(503, {{"status", "not ready"}, {"reason", reason}});
          }
          return Response::json(200, {{"status", "ready"}});
        },
        std::move(readiness));
    routes.add(
        "GET", "/metrics",
        [this](Request&) {
          return Response::text(200, registry.render(), std::string(metrics::kContentType));
        },
        on_loop);
  }

  Response run_pipeline(Request& request, Dispatch& dispatch) {
    current_dispatch = &dispatch;
    Response response;
    try {
      response = pipeline(request);
    } catch (const std::exception& e) {  // only a broken middleware gets here
      logger.error("request pipeline failed", {{"error", e.what()}});
      response = Response::error(500, "internal", "internal error");
    }
    current_dispatch = nullptr;
    return response;
  }

  net::awaitable<Response> run_on_pool(Request& request, Dispatch& dispatch) {
    --blocking_waiting;
    co_return run_pipeline(request, dispatch);
  }

  // Routing, then the middleware chain: on this loop, or on the pool for a blocking route.
  net::awaitable<Response> respond(Request& request) {
    Response failure;
    std::optional<Response> ready;
    Dispatch dispatch{router.find(request, failure), &failure, &ready};
    if (dispatch.route == nullptr || !dispatch.route->blocking) {
      co_return run_pipeline(request, dispatch);
    }
    if (const auto& fast = dispatch.route->without_blocking) {
      try {
        ready = fast(request);
      } catch (const std::exception&) {
        ready.reset();  // the blocking handler will meet the same problem and report it
      }
      if (ready) co_return run_pipeline(request, dispatch);
    }
    if (blocking_waiting.fetch_add(1) >= options.blocking_queue_limit) {
      --blocking_waiting;
      ready = Response::error(503, "overloaded", "too many requests waiting; retry shortly");
      ready->headers.set("Retry-After", "1");
      co_return run_pipeline(request, dispatch);
    }
    co_return co_await net::co_spawn(pool, run_on_pool(request, dispatch), net::use_awaitable);
  }

  // Out of descriptors: give up the spare one to accept the clients waiting on any loop and close
  // them at once, so they are told instead of left hanging in the backlog. (Linux reports EMFILE
  // before looking at the queue, so the failing loop may not be the one with a client waiting.)
  // The exclusive lock keeps the other loops' accepts (shared lock) from taking the freed slot:
  // a served keep-alive client would then hold it and the spare could never be reopened.
  void shed_waiting_connections() {
    std::unique_lock lock(reserve_mutex);
    if (reserve_fd < 0) {  // something else in the process took the slot; try to get it back
      reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      return;
    }
    ::close(reserve_fd);
    for (auto& loop : loops) {
      for (;;) {
        const int fd = ::accept4(loop->acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) break;
        ::close(fd);
        rejected_descriptors.inc();
      }
    }
    reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  // One accept(2) on the loop's non-blocking listening socket: the descriptor, or -1 with errno.
  int accept_one(Loop& loop) {
    std::shared_lock lock(reserve_mutex);
    return ::accept4(loop.acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  }

  // Accepts until the backlog is empty, then waits for the listening socket to be readable (the
  // reactor is edge-triggered, so it must be drained first). Out of descriptors, it sheds the
  // waiting clients and backs off, doubling from 10 ms to 1 s, with one warning a second at most.
  net::awaitable<void> accept_loop(Loop& loop) {
    auto backoff = std::chrono::milliseconds(0);
    auto last_warning = std::chrono::steady_clock::time_point();
    const auto protocol = loop.acceptor.local_endpoint().protocol();
    for (int accepted = 1;; ++accepted) {
      beast::error_code ec;
      if (!loop.acceptor.is_open()) co_return;
      if (accepted % 64 == 0) co_await net::post(loop.ioc, net::use_awaitable);  // let others run
      const int fd = accept_one(loop);
      if (fd < 0) {
        const int error = errno;
        if (error == EAGAIN || error == EWOULDBLOCK) {
          co_await loop.acceptor.async_wait(tcp::acceptor::wait_read,
                                            net::redirect_error(net::use_awaitable, ec));
          if (ec == net::error::operation_aborted || !loop.acceptor.is_open()) co_return;
          continue;
        }
        if (error == EINTR || error == ECONNABORTED || error == EPROTO) continue;
        if (error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM) {
          shed_waiting_connections();
        }
        backoff = std::min(std::chrono::milliseconds(1000),
                           backoff.count() == 0 ? std::chrono::milliseconds(10) : 2 * backoff);
        const auto now = std::chrono::steady_clock::now();
        if (now - last_warning >= std::chrono::seconds(1)) {  // one line a second at most
          last_warning = now;
          logger.warn(
              "accept failed; backing off",
              {{"error", std::generic_category().message(error)}, {"backoff_ms", backoff.count()}});
        }
        net::steady_timer pause(loop.ioc, backoff);
        co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
        continue;
      }
      backoff = std::chrono::milliseconds(0);
      tcp::socket socket(loop.ioc);
      socket.assign(protocol, fd, ec);
      if (ec) {
        ::close(fd);
        continue;
      }
      if (open_connections.fetch_add(1) >= options.max_connections) {
        --open_connections;
        rejected_full.inc();
        socket.close(ec);
        continue;
      }
      open_gauge.inc();
      auto connection = std::make_shared<Connection>(std::move(socket), loop);
      loop.connections.insert(connection);
      net::co_spawn(loop.ioc, serve(connection), net::detached);
    }
  }

  net::awaitable<void> write_error(Connection& connection, int status, std::string_view code,
                                   std::string_view message) {
    beast::error_code ec;
    auto out = to_message(Response::error(status, code, message), 11, false, false);
    connection.stream.expires_after(options.read_timeout);
    co_await bhttp::async_write(connection.stream, out,
                                net::redirect_error(net::use_awaitable, ec));
  }

  // A request that could not be read: 413 over the body limit, 400 when it is not HTTP; nothing
  // for a closed, reset or timed-out connection. The connection is closed after it either way.
  net::awaitable<void> answer_read_error(Connection& connection, const beast::error_code& ec) {
    if (ec == bhttp::error::body_limit) {
      co_await write_error(connection, 413, "payload_too_large", body_limit_message());
    } else if (is_parse_error(ec)) {
      co_await write_error(connection, 400, "bad_request",
                           "malformed HTTP request: " + ec.message());
    }
  }

  net::awaitable<void> serve(std::shared_ptr<Connection> connection) {
    beast::error_code ec;
    beast::flat_buffer buffer;
    const auto endpoint = connection->stream.socket().remote_endpoint(ec);
    const std::string remote = ec ? std::string() : endpoint.address().to_string();
    while (!is_closing) {
      connection->idle = true;
      if (buffer.size() == 0) {  // wait for the next request's first byte
        connection->stream.expires_after(options.idle_timeout);
        const auto received = co_await connection->stream.async_read_some(
            buffer.prepare(4096), net::redirect_error(net::use_awaitable, ec));
        buffer.commit(received);
        if (ec) break;  // closed, reset, idle timeout or drain
      }
      connection->idle = false;
      connection->stream.expires_after(options.header_timeout);
      const auto header = co_await read_header_bytes(*connection, buffer);
      if (header == HeaderBytes::too_large) {
        co_await write_error(*connection, 431, "header_too_large", "request header exceeds 16 KiB");
        break;
      }
      if (header == HeaderBytes::folded) {
        co_await write_error(*connection, 400, "bad_request",
                             "obsolete header line folding is not accepted");
        break;
      }
      if (header == HeaderBytes::failed) break;  // closed, reset or header deadline
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(options.body_limit);
      co_await bhttp::async_read_header(connection->stream, buffer, parser,
                                        net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        co_await answer_read_error(*connection, ec);
        break;
      }
      if (!transfer_encoding_supported(parser)) {
        co_await write_error(*connection, 501, "unsupported_transfer_encoding",
                             "only Transfer-Encoding: chunked is supported");
        break;
      }

      InFlight guard(in_flight);
      connection->stream.expires_after(options.read_timeout);
      if (!parser.is_done()) {
        if (const auto expect = parser.get()[bhttp::field::expect];
            iequals(expect, "100-continue")) {
          bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
          co_await bhttp::async_write(connection->stream, go_on,
                                      net::redirect_error(net::use_awaitable, ec));
          if (ec) break;
        }
        co_await bhttp::async_read(connection->stream, buffer, parser,
                                   net::redirect_error(net::use_awaitable, ec));
        if (ec) {
          co_await answer_read_error(*connection, ec);
          break;
        }
      }
      auto& message = parser.get();
      Request request = to_request(message, remote);
      Response response = co_await respond(request);
      const bool keep_alive = message.keep_alive() && !is_closing;
      auto out = to_message(std::move(response), message.version(), keep_alive,
                            message.method() == bhttp::verb::head);
      connection->stream.expires_after(options.read_timeout);
      co_await bhttp::async_write(connection->stream, out,
                                  net::redirect_error(net::use_awaitable, ec));
      if (ec || !keep_alive) break;
    }
    connection->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    connection->stream.close();
    connection->loop.connections.erase(connection);
    --open_connections;
    open_gauge.dec();
  }

  enum class HeaderBytes { complete, too_large, folded, failed };

  // Reads until the buffer holds a whole request header (Beast then parses it without reading),
  // and looks at the raw bytes for what Beast would silently accept: obsolete line folding.
  net::awaitable<HeaderBytes> read_header_bytes(Connection& connection,
                                                beast::flat_buffer& buffer) {
    std::size_t searched = 0;
    for (;;) {
      const std::string_view bytes(static_cast<const char*>(buffer.data().data()), buffer.size());
      const auto end = bytes.find("\r\n\r\n", searched);
      if (end != std::string_view::npos) {
        const std::string_view head = bytes.substr(0, end + 2);
        if (head.find("\n ") != std::string_view::npos ||
            head.find("\n\t") != std::string_view::npos) {
          co_return HeaderBytes::folded;
        }
        co_return end + 4 > kHeaderLimit ? HeaderBytes::too_large : HeaderBytes::complete;
      }
      if (bytes.size() >= kHeaderLimit) co_return HeaderBytes::too_large;
      searched = bytes.size() < 3 ? 0 : bytes.size() - 3;
      beast::error_code ec;
      const auto received = co_await connection.stream.async_read_some(
          buffer.prepare(4096), net::redirect_error(net::use_awaitable, ec));
      buffer.commit(received);
      if (ec) co_return HeaderBytes::failed;
    }
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

  // Phase one of a drain: not ready, still serving.
  void begin_drain(bool with_delay) {
    const bool already = is_draining.exchange(true);
    if (!already) {
      logger.info("draining: not ready, still serving",
                  {{"drain_delay_ms", with_delay ? options.drain_delay.count() : 0}});
    }
    if (!with_delay || options.drain_delay.count() <= 0) {
      begin_closing();
      return;
    }
    if (already) return;
    drain_timer.expires_after(options.drain_delay);
    drain_timer.async_wait([this](const beast::error_code& ec) {
      if (!ec) begin_closing();
    });
  }

  // Phase two: stop accepting, close idle connections, finish in-flight requests, stop.
  void begin_closing() {
    is_draining = true;
    if (is_closing.exchange(true)) return;
    drain_timer.cancel();
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(mutex);
      callbacks = drain_callbacks;
    }
    logger.info("closing: not accepting, finishing in-flight requests",
                {{"open_connections", open_connections.load()},
                 {"in_flight", in_flight.load()},
                 {"grace_ms", options.drain_grace.count()}});
    for (auto& loop : loops) {
      net::post(loop->ioc, [&loop = *loop] {
        beast::error_code ec;
        loop.acceptor.close(ec);
        for (const auto& connection : loop.connections) {
          if (connection->idle) connection->stream.cancel();
        }
      });
    }
    for (auto& callback : callbacks) callback();
    net::co_spawn(control, wait_for_drain(), net::detached);
  }

  net::awaitable<void> wait_for_drain() {
    const auto deadline = std::chrono::steady_clock::now() + options.drain_grace;
    net::steady_timer timer(control);
    for (;;) {
      const auto open = open_connections.load();
      if (open == 0) {
        logger.info("drained");
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        logger.warn("drain grace period over; closing",
                    {{"open_connections", open}, {"in_flight", in_flight.load()}});
        break;
      }
      timer.expires_after(std::chrono::milliseconds(10));
      beast::error_code ec;
      co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    }
    for (auto& loop : loops) loop->ioc.stop();
    control.stop();
  }

  ServerOptions options;
  metrics::Registry& registry;
  log::Logger logger;
  Router router;
  Handler pipeline;
  std::vector<std::unique_ptr<Loop>> loops;
  net::io_context control{1};  // signals and the drain's timers
  net::signal_set signals;
  net::steady_timer drain_timer;
  net::thread_pool pool;
  std::atomic<std::size_t> blocking_waiting{0};
  std::atomic<bool> is_draining{false};
  std::atomic<bool> is_closing{false};
  std::atomic<int> in_flight{0};
  std::atomic<std::size_t> open_connections{0};
  metrics::CounterFamily& rejected;
  metrics::Counter& rejected_full;
  metrics::Counter& rejected_descriptors;
  metrics::Gauge& open_gauge;
  std::shared_mutex reserve_mutex;  // exclusive while shedding, shared around accept(2)
  int reserve_fd = -1;
  std::mutex mutex;  // guards readiness_check, drain_callbacks
  std::function<std::string()> readiness_check;
  std::vector<std::function<void()>> drain_callbacks;
  int signals_seen = 0;  // on the control loop only
};

Server::Server(ServerOptions options, Router router, std::vector<Middleware> middleware,
               metrics::Registry& registry)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), std::move(middleware),
                                   registry)) {}

Server::~Server() {
  impl_->pool.stop();
  impl_->pool.join();
}

Result<void> Server::listen() {
  auto& impl = *impl_;
  beast::error_code ec;
  const auto address = net::ip::make_address(impl.options.address, ec);
  if (ec) {
    return Error{ErrorKind::invalid_argument,
                 "invalid listen address '" + impl.options.address + "'"};
  }
  std::uint16_t port = impl.options.port;
  for (auto& loop : impl.loops) {
    // Every loop binds the same port; the kernel spreads new connections across them.
    const tcp::endpoint endpoint(address, port);
    auto& acceptor = loop->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) {
      const int on = 1;
      if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) {
        ec.assign(errno, boost::system::system_category());
      }
    }
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) acceptor.non_blocking(true, ec);  // accept_loop calls accept(2) itself
    if (ec) {
      return Error{ErrorKind::unavailable, "cannot listen on " + impl.options.address + ":" +
                                               std::to_string(port) + ": " + ec.message()};
    }
    port = acceptor.local_endpoint().port();
  }
  return {};
}

std::uint16_t Server::port() const {
  beast::error_code ec;
  const auto endpoint = impl_->loops.front()->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

int Server::event_loops() const {
  return static_cast<int>(impl_->loops.size());
}

void Server::run() {
  auto& impl = *impl_;
  std::function<void(const beast::error_code&, int)> on_signal;
  on_signal = [&impl, &on_signal](const beast::error_code& ec, int signal) {
    if (ec) return;
    impl.logger.info("signal received", {{"signal", signal}});
    // SIGTERM (Kubernetes) waits out the drain delay; Ctrl-C or a second signal does not.
    impl.begin_drain(signal == SIGTERM && ++impl.signals_seen == 1);
    impl.signals.async_wait(on_signal);
  };
  impl.signals.async_wait(on_signal);
  for (auto& loop : impl.loops) {
    net::co_spawn(loop->ioc, impl.accept_loop(*loop), net::detached);
  }
  impl.logger.info("listening", {{"address", impl.options.address},
                                 {"port", port()},
                                 {"event_loops", impl.loops.size()},
                                 {"blocking_threads", impl.options.blocking_threads}});
  std::vector<std::thread> threads;
  for (auto& loop : impl.loops) {
    threads.emplace_back([&loop = *loop] { loop.ioc.run(); });
  }
  impl.control.run();
  for (auto& thread : threads) thread.join();
  beast::error_code ec;
  impl.signals.cancel(ec);
}

void Server::drain() {
  net::post(impl_->control, [impl = impl_.get()] { impl->begin_drain(true); });
}

void Server::stop_accepting() {
  net::post(impl_->control, [impl = impl_.get()] { impl->begin_closing(); });
}

void Server::set_readiness_check(std::function<std::string()> check) {
  std::lock_guard lock(impl_->mutex);
  impl_->readiness_check = std::move(check);
}

void Server::on_drain(std::function<void()> callback) {
  std::lock_guard lock(impl_->mutex);
  impl_->drain_callbacks.push_back(std::move(callback));
}

bool Server::draining() const {
  return impl_->is_draining;
}

}  // namespace crest::http
