#include "crest/load/metrics_endpoint.hpp"

#include <charconv>
#include <mutex>
#include <optional>
#include <thread>

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
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos) {
    return Error{ErrorKind::invalid_argument,
                 "--metrics-addr: expected HOST:PORT, got '" + host_port + "'"};
  }
  const std::string port_text = host_port.substr(colon + 1);
  int port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return Error{ErrorKind::invalid_argument,
                 "--metrics-addr: expected HOST:PORT with an IP address, got '" + host_port + "'"};
  }
  http::ServerOptions options;
  options.address = host_port.substr(0, colon);
  options.port = static_cast<std::uint16_t>(port);
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
