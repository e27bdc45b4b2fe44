#pragma once
// One parser for "host:port" text: listen addresses, URL authorities, worker and coordinator
// addresses, MySQL URLs. Brackets around an IPv6 address are removed ("[::1]:80" → "::1", 80).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crest/core/error.hpp"

namespace crest {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};

struct HostPortRules {
  std::optional<std::uint16_t> default_port;  // when set, "host" alone is accepted
  bool allow_port_zero = false;               // 0: "any free port", for listen addresses
  bool allow_empty_host = false;              // ":8080": every interface, for listen addresses
};

// "host:port", "[v6]:port", or "host" / "[v6]" when rules.default_port is set. The port is
// decimal, 1..65535 (0 too with rules.allow_port_zero). Errors name the text and what is wrong.
Result<HostPort> parse_host_port(std::string_view text, const HostPortRules& rules = {});

}  // namespace crest
