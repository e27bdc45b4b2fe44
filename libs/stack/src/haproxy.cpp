#include "crest/stack/haproxy.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

namespace crest::stack {

std::string render_haproxy_config(const HaproxyConfig& config) {
  std::string out = fmt::format(
      R"(# Written by crest up: the local stand-in for the ALB. Slots are filled through the runtime API.
global
  stats socket {} mode 600 level admin
  maxconn 4000

defaults
  mode http
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 60s
  option redispatch 1
  retries 3
  retry-on conn-failure empty-response
  timeout check 2s
  # Like a readiness probe (period 1 s, failure threshold 3): a throttled instance answering
  # /readyz slowly is not taken out. A crashed one is set to maint by the supervisor at once.
  default-server inter 1s fall 3 rise 1

frontend shop
  bind 127.0.0.1:{}
  option forwardfor
)",
      config.socket_path, config.port);
  out +=
      "  http-request return status 404 content-type application/json string "
      "\"{\\\"error\\\":{\\\"code\\\":\\\"no_route\\\"}}\" if !{ path_beg /api/ }\n";
  for (const auto& backend : config.backends) {
    std::string prefixes;
    for (const auto& prefix : backend.path_prefixes) prefixes += " " + prefix;
    out += fmt::format("  use_backend {} if {{ path_beg{} }}\n", backend.name, prefixes);
  }
  out += fmt::format(R"(
frontend metrics
  bind 127.0.0.1:{}
  http-request use-service prometheus-exporter if {{ path /metrics }}
  stats enable
  stats uri /stats
)",
                     config.metrics_port);
  for (const auto& backend : config.backends) {
    // Stickiness like the ALB's lb_cookie: a cookie per service; template slots need `dynamic`.
    out += fmt::format(R"(
backend {0}
  balance roundrobin
  cookie crest_{0} insert indirect nocache dynamic httponly
  dynamic-cookie-key crest-{0}
  option httpchk GET /readyz
  http-check expect status 200
  server-template srv 1-{1} 127.0.0.1:1 check disabled
)",
                       backend.name, backend.slots);
  }
  return out;
}

Result<std::string> HaproxyRuntime::command(const std::string& line) const {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{ErrorKind::internal, "socket: " + std::string(std::strerror(errno))};
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path_.c_str(), sizeof(address.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd);
    return Error{ErrorKind::unavailable,
                 fmt::format("HAProxy runtime API {}: {}", socket_path_, error)};
  }
  const std::string request = line + "\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return Error{ErrorKind::unavailable, "HAProxy runtime API: short write"};
  }
  std::string answer;
  char buffer[8192];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) {
      ::close(fd);
      return Error{ErrorKind::timeout, "HAProxy runtime API: no answer to '" + line + "'"};
    }
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n <= 0) break;
    answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

namespace {
Result<void> expect_empty(const Result<std::string>& answer, const std::string& what) {
  if (!answer.ok()) return answer.error();
  // Successful `set server` commands answer nothing (or a newline).
  if (answer->find_first_not_of("\n ") != std::string::npos) {
    return Error{ErrorKind::internal, fmt::format("HAProxy refused '{}': {}", what, *answer)};
  }
  return {};
}
}  // namespace

Result<void> HaproxyRuntime::enable_server(const std::string& backend, const std::string& server,
                                           std::uint16_t port) const {
  const std::string addr =
      fmt::format("set server {}/{} addr 127.0.0.1 port {}", backend, server, port);
  auto answer = command(addr);
  if (!answer.ok()) return answer.error();
  if (answer->find("No such") != std::string::npos ||
      answer->find("Invalid") != std::string::npos ||
      answer->find("Require") != std::string::npos) {
    return Error{ErrorKind::internal, fmt::format("HAProxy refused '{}': {}", addr, *answer)};
  }
  return set_state(backend, server, "ready");
}

Result<void> HaproxyRuntime::set_state(const std::string& backend, const std::string& server,
                                       const std::string& state) const {
  const std::string line = fmt::format("set server {}/{} state {}", backend, server, state);
  return expect_empty(command(line), line);
}

Result<std::vector<HaproxyServerStat>> HaproxyRuntime::server_stats() const {
  auto answer = command("show stat");
  if (!answer.ok()) return answer.error();
  // CSV: "# pxname,svname,qcur,qmax,scur,smax,slim,stot,...,status(17),..."
  std::vector<HaproxyServerStat> stats;
  std::istringstream in(*answer);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::string field;
    std::istringstream row(line);
    while (std::getline(row, field, ',')) fields.push_back(field);
    if (fields.size() < 18 || fields[1] == "FRONTEND" || fields[1] == "BACKEND") continue;
    HaproxyServerStat stat;
    stat.backend = fields[0];
    stat.server = fields[1];
    stat.current_sessions = std::atoi(fields[4].c_str());
    stat.status = fields[17];
    stats.push_back(std::move(stat));
  }
  return stats;
}

}  // namespace crest::stack
