// The network between the load balancer and a service's instances: a fault proxy (`crest chaos
// proxy`, HTTP mode) started per targeted instance, and the instance's HAProxy server pointed at
// it through the runtime API. Inserted at fault time, not for the stack's whole life: instances
// come and go with the autoscaler, and a proxy per instance would have to follow every one.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "crest/chaos/fault_proxy.hpp"
#include "crest/stack/child_process.hpp"
#include "crest/stack/haproxy.hpp"
#include "crest/stack/local_platform.hpp"
#include "fault_preparation.hpp"

namespace crest::chaos::detail {

namespace {

// The crest binary that serves `crest chaos proxy`: CREST_BINARY, else this program (crest
// itself when `crest chaos`, a scenario or `crest demo` starts the fault).
std::string crest_program() {
  if (const char* env = std::getenv("CREST_BINARY"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const auto self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("crest") : self.string();
}

struct BalancerServer {
  std::string server;  // "srv2"
  std::string address;
  std::uint16_t port = 0;
};

// `show servers state BACKEND`: a version line, a "# be_id be_name srv_id srv_name srv_addr ..."
// header, then one row per server slot.
Result<std::vector<BalancerServer>> balancer_servers(const stack::HaproxyRuntime& haproxy,
                                                     const std::string& backend) {
  auto answer = haproxy.command("show servers state " + backend);
  if (!answer.ok()) return answer.error();
  std::istringstream in(*answer);
  std::vector<std::string> header;
  std::vector<BalancerServer> out;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::vector<std::string> fields;
    for (std::string w; words >> w;) fields.push_back(w);
    if (fields.empty()) continue;
    if (fields[0] == "#") {
      header.assign(fields.begin() + 1, fields.end());
      continue;
    }
    if (header.empty() || fields.size() < header.size()) continue;
    BalancerServer s;
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == "srv_name") s.server = fields[i];
      if (header[i] == "srv_addr") s.address = fields[i];
      if (header[i] == "srv_port")
        s.port = static_cast<std::uint16_t>(std::atoi(fields[i].c_str()));
    }
    out.push_back(std::move(s));
  }
  if (header.empty())
    return Error{ErrorKind::unavailable,
                 fmt::format("HAProxy has no backend '{}': {}", backend, answer->substr(0, 200))};
  return out;
}

Result<void> point_server(const stack::HaproxyRuntime& haproxy, const std::string& backend,
                          const std::string& server, std::uint16_t port) {
  const std::string line =
      fmt::format("set server {}/{} addr 127.0.0.1 port {}", backend, server, port);
  auto answer = haproxy.command(line);
  if (!answer.ok()) return answer.error();
  if (answer->find("No such") != std::string::npos ||
      answer->find("Invalid") != std::string::npos || answer->find("Require") != std::string::npos)
    return Error{ErrorKind::internal, fmt::format("HAProxy refused '{}': {}", line, *answer)};
  return {};
}

// Waits until the proxy just started answers on its control socket.
Result<void> wait_for_proxy(const std::string& control_socket, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto answer = send_control_command(control_socket, "get", std::chrono::milliseconds(500));
    if (answer.ok() && answer->rfind("ok", 0) == 0) return {};
    if (std::chrono::steady_clock::now() >= until)
      return Error{ErrorKind::timeout, "the fault proxy did not answer on " + control_socket +
                                           " within " + std::to_string(timeout.count()) + " ms"};
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

Result<Applied> prepare_network_latency(Context& c) {
  const std::string target = c.spec.target.empty() ? "catalog" : c.spec.target;
  auto delay = int_parameter(c, "delay_ms", 0, 60'000);
  auto probability = number_parameter(c, "probability", 0.0, 1.0);
  if (!delay.ok()) return delay.error();
  if (!probability.ok()) return probability.error();
  const std::string& kind = c.parameters.at("kind");
  std::string fault_line;
  if (kind == "latency") {
    if (*delay < 1) return Error{ErrorKind::invalid_argument, "delay_ms must be at least 1"};
    fault_line = fmt::format("latency latency_ms={}", *delay);
  } else if (kind == "error") {
    auto status = int_parameter(c, "status", 400, 599);
    if (!status.ok()) return status.error();
    fault_line = fmt::format("error status={}", *status);
  } else if (kind == "reset") {
    fault_line = "reset";
  } else {
    return Error{ErrorKind::invalid_argument,
                 "kind=" + kind + ": expected latency, error or reset"};
  }
  // Only the traffic: the balancer's health checks (/readyz) pass, so it keeps the instances in.
  fault_line += fmt::format(" probability={} match=/api/", *probability);

  // The instances: every ready one of a service, or the one named.
  std::vector<StackProcess> instances;
  if (is_service(target)) {
    for (const auto& p : component_processes(c, target)) {
      if (p.phase == "ready" || p.phase.empty()) instances.push_back(p);
    }
  } else {
    auto p = storefront_instance(c, target);
    if (!p.ok()) return p.error();
    instances.push_back(*p);
  }
  if (instances.empty())
    return Error{ErrorKind::unavailable, "no ready instance of " + target + " to put behind"};

  auto state = stack::read_state(c.run_dir);
  if (!state.ok()) return state.error();
  const std::string socket = state->value("haproxy_socket", "");
  if (socket.empty())
    return Error{ErrorKind::unavailable, "the stack has no load balancer (no haproxy_socket)"};
  const stack::HaproxyRuntime haproxy(socket);
  const std::string backend = instances.front().component;
  auto servers = balancer_servers(haproxy, backend);
  if (!servers.ok()) return servers.error();

  Applied a;
  a.target = is_service(target) ? target : instances.front().name;
  const fs::path pid_file = helper_pid_file(c);
  a.undo["pid_file"] = pid_file.string();
  json routes = json::array();
  json instance_names = json::array();
  for (const auto& p : instances) {
    const BalancerServer* slot = nullptr;
    for (const auto& s : *servers) {
      if (s.port == p.port && p.port != 0) slot = &s;
    }
    if (slot == nullptr)
      return Error{ErrorKind::unavailable,
                   fmt::format("{} (port {}) is in no server of HAProxy's backend {}", p.name,
                               p.port, backend)};
    auto proxy_port = stack::free_loopback_port();
    if (!proxy_port.ok()) return proxy_port.error();
    const std::string name = p.name + "-lb";
    routes.push_back({{"backend", backend},
                      {"server", slot->server},
                      {"instance", p.name},
                      {"instance_port", p.port},
                      {"proxy_port", *proxy_port},
                      {"proxy_name", name},
                      {"control_socket", proxy_control_socket(c.run_dir, name)}});
    instance_names.push_back(p.name);
  }
  a.undo["balancer"] = {{"socket", socket}, {"routes", routes}};
  a.parameters["proxy"] = fault_line;
  a.parameters["instances"] = instance_names;
  a.apply = [routes, socket, pid_file, fault_line, run_dir = c.run_dir]() -> Result<void> {
    const stack::HaproxyRuntime balancer(socket);
    const std::string program = crest_program();
    for (const auto& r : routes) {
      auto pid = spawn_program_detached(
          {program, "chaos", "proxy", "--name", r["proxy_name"].get<std::string>(), "--dir",
           run_dir.string(), "--upstream-port", std::to_string(r["instance_port"].get<int>()),
           "--listen-port", std::to_string(r["proxy_port"].get<int>())});
      if (!pid.ok()) return pid.error();
      if (auto recorded = record_helper(pid_file, *pid); !recorded.ok()) return recorded;
      const std::string control = r["control_socket"];
      if (auto up = wait_for_proxy(control, std::chrono::seconds(5)); !up.ok()) return up;
      auto set = send_control_command(control, "set " + fault_line);
      if (!set.ok()) return set.error();
      if (set->rfind("ok", 0) != 0) return Error{ErrorKind::invalid_argument, *set};
      if (auto pointed = point_server(balancer, r["backend"], r["server"],
                                      static_cast<std::uint16_t>(r["proxy_port"].get<int>()));
          !pointed.ok())
        return pointed;
    }
    return {};
  };
  return a;
}

// Points each server back at its instance, but only where it still points at the fault's proxy:
// a slot the supervisor has given to another instance since (a restart, a scale-out) is left as
// it is. The proxies are ended afterwards, from the pid file, by the caller.
Result<void> restore_balancer_routes(const json& balancer) {
  const stack::HaproxyRuntime haproxy(balancer.value("socket", ""));
  std::map<std::string, std::vector<BalancerServer>> by_backend;
  for (const auto& r : balancer.value("routes", json::array())) {
    const std::string backend = r.value("backend", "");
    if (by_backend.count(backend) == 0) {
      auto servers = balancer_servers(haproxy, backend);
      if (!servers.ok()) {
        // No balancer to answer (the stack is gone): nothing routes through the proxies any more.
        if (servers.error().kind == ErrorKind::unavailable) return {};
        return servers.error();
      }
      by_backend[backend] = std::move(servers).value();
    }
    const std::string server = r.value("server", "");
    const auto proxy_port = r.value("proxy_port", 0);
    for (const auto& s : by_backend[backend]) {
      if (s.server != server || s.port != proxy_port) continue;
      if (auto back = point_server(haproxy, backend, server,
                                   static_cast<std::uint16_t>(r.value("instance_port", 0)));
          !back.ok())
        return back;
    }
    std::error_code ec;
    fs::remove(r.value("control_socket", ""), ec);
  }
  return {};
}

}  // namespace crest::chaos::detail
