#pragma once
// A small fault-injecting proxy placed in front of a dependency (dynalite, the SQS server, or a
// service): pass-through by default; at run time, added latency, error responses, connection
// resets, or DynamoDB-style throttling (HTTP 400, __type ProvisionedThroughputExceededException).
// HTTP mode understands requests (one fault decision per request, keep-alive kept); TCP mode
// relays bytes and applies faults per connection (latency before connecting, resets).
// Injected answers look like the real service's: nothing in them names the proxy or a fault.
//
// Control: set_fault()/clear_fault() in process, or a Unix control socket taking one line per
// command (send_control_command): "set <fault>", "clear", "get"; answers "ok <fault>" or
// "error <why>". A fault is written "<kind> [latency_ms=N] [status=N] [probability=P]
// [match=TEXT]", e.g. "throttle probability=0.5 match=PutItem" (match: a substring of the
// request target or of X-Amz-Target).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "crest/core/error.hpp"

namespace crest::chaos {

enum class ProxyMode { http, tcp };
enum class ProxyFaultKind { none, latency, error, reset, throttle };

struct ProxyFault {
  ProxyFaultKind kind = ProxyFaultKind::none;
  std::chrono::milliseconds latency{0};  // latency: added before forwarding
  int status = 503;                      // error: the status answered
  double probability = 1.0;              // share of requests (HTTP) or connections (TCP) hit
  std::string match;                     // empty: every request
};

std::string to_string(const ProxyFault& fault);
Result<ProxyFault> parse_proxy_fault(std::string_view text);

struct ProxyOptions {
  std::string upstream_host = "127.0.0.1";
  std::uint16_t upstream_port = 0;
  std::uint16_t listen_port = 0;  // 0: a free loopback port (see FaultProxy::port)
  ProxyMode mode = ProxyMode::http;
  std::string control_socket;  // a Unix socket path; empty: no control socket
  std::uint64_t seed = 1;      // for probabilities, so runs repeat
};

struct ProxyStats {
  std::uint64_t forwarded = 0;  // requests (HTTP) or connections (TCP) passed upstream
  std::uint64_t delayed = 0;
  std::uint64_t errors = 0;
  std::uint64_t resets = 0;
  std::uint64_t throttled = 0;
};

class FaultProxy {
 public:
  // Listens on 127.0.0.1 (and the control socket) and serves on its own threads.
  static Result<std::unique_ptr<FaultProxy>> start(ProxyOptions options);
  ~FaultProxy();  // stop()
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::uint16_t port() const;
  void set_fault(ProxyFault fault);
  void clear_fault() { set_fault({}); }
  ProxyFault fault() const;
  ProxyStats stats() const;
  // Closes the listener and every connection; idempotent.
  void stop();

  struct Impl;

 private:
  explicit FaultProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sends one command line to a proxy's control socket and returns its answer line.
Result<std::string> send_control_command(
    const std::string& socket_path, std::string_view line,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(2'000));

}  // namespace crest::chaos
