#pragma once
// --metrics-addr: the run's Prometheus text (format_prometheus) on GET /metrics, served by
// crest::http::Server on its own thread.
#include <memory>
#include <string>

#include "crest/core/error.hpp"

namespace crest::load {

class MetricsEndpoint {
 public:
  MetricsEndpoint();
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  // "127.0.0.1:9464" (port 0: any). Call before installing signal handlers: the server's own
  // SIGINT/SIGTERM handling must not be the one that stays.
  Result<void> start(const std::string& host_port);
  unsigned short port() const;
  void update(std::string text);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crest::load
