#pragma once
// The HTTP/1.1 server: Boost.Beast with C++20 coroutines.
//
// Threads: one event loop per CPU available to the process (its cgroup CPU quota where one is
// set, else its CPU affinity), each a single-threaded io_context with its own SO_REUSEPORT
// acceptor, so a connection lives on one thread from accept to close. Handlers of ordinary routes
// run on that loop and must not block. Routes registered as blocking (Router::add_blocking:
// database calls, Argon2) run on one bounded pool of `blocking_threads`; their connection's loop
// waits for the answer without holding a thread. Beyond `blocking_queue_limit` waiting requests
// the server answers 503 with Retry-After rather than queueing without bound.
//
// Built in: GET /healthz (alive), GET /readyz (200 when ready, 503 while starting or draining),
// GET /metrics (the registry's Prometheus text). HEAD works wherever GET does.
//
// Drain, as Kubernetes expects (SIGTERM or drain()): keep accepting and serving but answer
// /readyz 503 for `drain_delay`, so load balancers take the instance out; then stop accepting,
// close idle keep-alive connections, let in-flight requests finish (answered with
// Connection: close) within `drain_grace`, and stop. SIGINT, or a second signal, skips the delay.
// run() returns once the server has stopped.
//
// Protection: at most `max_connections` open connections across all loops (beyond it a new one
// is accepted and closed at once, counted in http_server_rejected_connections_total); a request
// header must arrive within `header_timeout` of its first byte; accept errors (out of
// descriptors) back off exponentially up to a second; a Transfer-Encoding other than "chunked" is
// answered 501 and obsolete header line folding 400, both closing the connection.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "crest/core/error.hpp"
#include "crest/http/middleware.hpp"
#include "crest/http/router.hpp"

namespace crest::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  // 0 picks a free port; see Server::port()
  int event_loops = 0;        // 0: one per CPU available to the process (see available_cpus())
  int blocking_threads = 8;   // the pool for blocking routes
  std::size_t blocking_queue_limit = 1024;  // requests waiting for the pool; 503 beyond
  std::size_t max_connections = 10'000;     // across every loop
  std::size_t body_limit = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10'000};  // from a request's first byte to its header
  std::chrono::milliseconds read_timeout{30'000};    // for a request's body, and each write
  std::chrono::milliseconds idle_timeout{60'000};    // between keep-alive requests
  std::chrono::milliseconds drain_delay{0};       // /readyz 503 while still serving (services: 5 s)
  std::chrono::milliseconds drain_grace{10'000};  // for in-flight requests once not accepting
  std::string service_name = "http";
};

// CPUs this process may use: min(affinity, ceil(cgroup CPU quota)); at least 1.
int available_cpus();
// The CPU quota in a cgroup v2 "cpu.max" text ("200000 100000" → 2, "max 100000" → nullopt).
std::optional<double> parse_cgroup_v2_cpu_max(std::string_view text);

class Server {
 public:
  Server(ServerOptions options, Router router, std::vector<Middleware> middleware,
         metrics::Registry& registry);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening sockets (one per event loop, on the same port).
  Result<void> listen();
  std::uint16_t port() const;
  int event_loops() const;

  // Serves until drained; drains on SIGTERM or SIGINT. Call after listen().
  void run();
  // Starts a graceful drain (with the drain delay); safe from any thread.
  void drain();
  // Skips the rest of the drain delay: stop accepting and finish in-flight requests now.
  void stop_accepting();
  // /readyz answers 503 with the returned reason while it is non-empty (a dependency down).
  void set_readiness_check(std::function<std::string()> check);
  // Runs once when the server stops accepting, so that background work (a queue consumer) stops.
  void on_drain(std::function<void()> callback);
  bool draining() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace crest::http
