#pragma once
// The HTTP/1.1 server: Boost.Beast with C++20 coroutines, one coroutine per connection on its own
// strand, several threads on one io_context. Handlers are ordinary functions and may block (a
// database call); a blocked handler holds one thread, so `threads` bounds concurrent handlers.
//
// Built in: GET /healthz (alive), GET /readyz (200 when ready, 503 while starting or draining),
// GET /metrics (the registry's Prometheus text).
//
// Graceful drain (SIGTERM/SIGINT or drain()): report not ready, close the acceptor, close idle
// keep-alive connections, let in-flight requests finish (answered with Connection: close) within
// `drain_grace`, then stop. run() returns once the server has stopped.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "crest/http/middleware.hpp"
#include "crest/http/router.hpp"

namespace crest::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 picks a free port; see Server::port()
  int threads = 8;
  std::size_t body_limit = 1024 * 1024;
  std::chrono::milliseconds read_timeout{30'000};   // for a request's header and body
  std::chrono::milliseconds idle_timeout{60'000};   // between keep-alive requests
  std::chrono::milliseconds drain_grace{10'000};
  std::string service_name = "http";
};

class Server {
 public:
  Server(ServerOptions options, Router router, std::vector<Middleware> middleware,
         metrics::Registry& registry);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket. Returns an error message, or "" on success.
  std::string listen();
  std::uint16_t port() const;

  // Serves until drained; drains on SIGTERM or SIGINT. Call after listen().
  void run();
  // Starts a graceful drain; safe from any thread.
  void drain();
  // /readyz answers 503 with the returned reason while it is non-empty (a dependency down).
  void set_readiness_check(std::function<std::string()> check);
  // Runs once when a drain begins, so that background work (a queue consumer) stops too.
  void on_drain(std::function<void()> callback);
  bool draining() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace crest::http
