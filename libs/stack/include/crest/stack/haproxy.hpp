#pragma once
// HAProxy as the local load balancer: its configuration (path routing per service, cookie
// stickiness with dynamic cookies, /readyz health checks, server-template slots, the built-in
// Prometheus exporter) and a client for its runtime API on a Unix socket, through which instances
// are added to and removed from the slots without reloads.
#include <cstdint>
#include <string>
#include <vector>

#include "crest/core/error.hpp"

namespace crest::stack {

struct HaproxyBackend {
  std::string name;                        // "catalog": also the backend and cookie name
  std::vector<std::string> path_prefixes;  // routed here
  int slots = 8;                           // server-template srv1..srvN
};

struct HaproxyConfig {
  std::uint16_t port = 0;          // the shop's entry point
  std::uint16_t metrics_port = 0;  // /metrics (Prometheus exporter) and /stats
  std::string socket_path;         // runtime API
  std::vector<HaproxyBackend> backends;
};

std::string render_haproxy_config(const HaproxyConfig& config);

// One server slot as `show stat` reports it.
struct HaproxyServerStat {
  std::string backend;
  std::string server;
  int current_sessions = 0;  // scur: requests being served (in-flight)
  std::string status;        // UP, DOWN, MAINT, DRAIN, no check
};

class HaproxyRuntime {
 public:
  explicit HaproxyRuntime(std::string socket_path) : socket_path_(std::move(socket_path)) {}
  // Sends one command and returns the answer (the socket closes after each command).
  Result<std::string> command(const std::string& line) const;
  // `set server B/S addr 127.0.0.1 port P` then `state ready`.
  Result<void> enable_server(const std::string& backend, const std::string& server,
                             std::uint16_t port) const;
  // "ready", "drain" or "maint".
  Result<void> set_state(const std::string& backend, const std::string& server,
                         const std::string& state) const;
  Result<std::vector<HaproxyServerStat>> server_stats() const;

 private:
  std::string socket_path_;
};

}  // namespace crest::stack
