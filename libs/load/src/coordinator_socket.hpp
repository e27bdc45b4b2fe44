#pragma once
// TCP plumbing shared by the coordinator (crest run --coordinator) and its workers (crest worker):
// HOST:PORT addresses, a listening socket, a connection, and whole-frame sends with a deadline.
#include <string>
#include <string_view>

#include "crest/core/error.hpp"
#include "crest/core/host_port.hpp"

namespace crest::load {

using crest::HostPort;
// Addresses are parsed by crest::parse_host_port: a listen address may be ":PORT" (every
// address) and port 0 (any free one); a connect address needs a host and a port.
inline constexpr HostPortRules kListenAddress{
    .default_port = std::nullopt, .allow_port_zero = true, .allow_empty_host = true};

// A listening socket (SO_REUSEADDR, non-blocking) and the address it got ("127.0.0.1:41234").
struct Listener {
  int fd = -1;
  std::string bound;
};
Result<Listener> listen_tcp(const HostPort& at);
// A connected socket with TCP keep-alive on (a peer that vanishes is noticed in about a minute).
Result<int> connect_tcp(const HostPort& to);
// Accepts one connection (non-blocking listener); -1 when none is waiting. *peer: "ip:port".
int accept_tcp(int listener, std::string* peer);

// Sends all of `bytes` within timeout_s (the socket may be non-blocking); false on error/timeout.
bool send_all(int fd, std::string_view bytes, double timeout_s);
// Lower-case hex of n random bytes (RAND_bytes).
std::string random_hex(std::size_t n);

}  // namespace crest::load
