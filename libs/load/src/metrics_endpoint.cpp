#include "crest/load/metrics_endpoint.hpp"

#include <mutex>
#include <optional>
#include <thread>

#include "crest/core/host_port.hpp"
#include "crest/core/log.hpp"
#include "crest/http/server.hpp"
#include "crest/metrics/registry.hpp"

namespace crest::load {

struct MetricsEndpoint::Impl {
  std::mutex mutex;
  std::string text = "# no data yet\n";
  metrics::Registry registry;  // the server's own; /metrics is answered before it is consulted
  std::optional<http::Server> server;
  std::thread thread;

  std::string current() {
    std::lock_guard lock(mutex);
    return text;
  }
};

MetricsEndpoint::MetricsEndpoint() : impl_(std::make_unique<Impl>()) {}
MetricsEndpoint::~MetricsEndpoint() {
  stop();
}

Result<void> MetricsEndpoint::start(const std::string& host_port) {
  // A listen address: port 0 takes a free port.
  const auto at = crest::parse_host_port(
      host_port,
      {.default_port = std::nullopt, .allow_port_zero = true, .allow_empty_host = false});
  if (!at.ok()) {
    return Error{ErrorKind::invalid_argument, "--metrics-addr: " + at.error().message};
  }
  http::ServerOptions options;
  options.address = at->host;
  options.port = at->port;
  options.event_loops = 1;
  options.drain_grace = std::chrono::milliseconds(500);
  options.service_name = "crest-run-metrics";
  // The run's own output is its summary: the server's start and drain lines are not wanted.
  log::set_level(log::Level::warn);
  // The run's text replaces the server's registry on GET /metrics.
  http::Middleware serve_run_metrics = [impl = impl_.get()](http::Request& request,
                                                            const http::Handler& next) {
    if (request.method == "GET" && request.path == "/metrics") {
      return http::Response::text(200, impl->current(), "text/plain; version=0.0.4; charset=utf-8");
    }
    return next(request);
  };
  impl_->server.emplace(options, http::Router{}, std::vector<http::Middleware>{serve_run_metrics},
                        impl_->registry);
  if (const auto listening = impl_->server->listen(); !listening.ok()) {
    impl_->server.reset();
    const std::string& error = listening.error().message;
    if (listening.error().kind == ErrorKind::invalid_argument) {
      return Error{
          ErrorKind::invalid_argument,
          "--metrics-addr: expected HOST:PORT with an IP address, got '" + host_port + "'"};
    }
    return Error{ErrorKind::unavailable, "--metrics-addr " + host_port + ": " + error};
  }
  impl_->thread = std::thread([server = &*impl_->server] { server->run(); });
  return {};
}

unsigned short MetricsEndpoint::port() const {
  return impl_->server ? impl_->server->port() : 0;
}

void MetricsEndpoint::update(std::string text) {
  std::lock_guard lock(impl_->mutex);
  impl_->text = std::move(text);
}

void MetricsEndpoint::stop() {
  if (impl_ && impl_->thread.joinable()) {
    impl_->server->drain();
    impl_->thread.join();
  }
}

}  // namespace crest::load
