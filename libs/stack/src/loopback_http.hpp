#pragma once
// A blocking HTTP/1.0 GET to 127.0.0.1, bounded in time: readiness probes and Prometheus queries
// from the supervisor, which needs no connection reuse.
#include <chrono>
#include <cstdint>
#include <string>

#include "crest/core/error.hpp"

namespace crest::stack {

struct LoopbackResponse {
  int status = 0;
  std::string body;
};

Result<LoopbackResponse> loopback_get(std::uint16_t port, const std::string& target,
                                      std::chrono::milliseconds timeout);
std::string url_encode(const std::string& text);

}  // namespace crest::stack
