#include "crest/core/host_port.hpp"

#include <charconv>

#include <fmt/format.h>

namespace crest {

Result<HostPort> parse_host_port(std::string_view text, const HostPortRules& rules) {
  const auto invalid = [&](std::string_view what) {
    return Error{ErrorKind::invalid_argument, fmt::format("'{}' {}", text, what)};
  };
  HostPort parsed;
  std::string_view host = text;
  std::optional<std::string_view> port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return invalid("has an unclosed IPv6 address");
    host = text.substr(1, close - 1);
    const auto after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid("has text after the IPv6 address that is no port");
      port = after.substr(1);
    }
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return invalid("is an IPv6 address without brackets (write [address]:port)");
    }
  }
  if (host.empty() && !rules.allow_empty_host) return invalid("names no host (expected HOST:PORT)");
  parsed.host = std::string(host);
  if (!port) {
    if (!rules.default_port) return invalid("names no port (expected HOST:PORT)");
    parsed.port = *rules.default_port;
    return parsed;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), value);
  const unsigned lowest = rules.allow_port_zero ? 0 : 1;
  if (port->empty() || ec != std::errc() || end != port->data() + port->size() || value < lowest ||
      value > 65535) {
    return invalid(fmt::format("has no valid port ({}..65535)", lowest));
  }
  parsed.port = static_cast<std::uint16_t>(value);
  return parsed;
}

}  // namespace crest
