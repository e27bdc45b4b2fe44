#include "crest/stack/local_platform.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "local_platform_internal.hpp"

namespace crest::stack {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace detail;

// ---- storefront instances, nodes and scaling ----

LocalPlatform::Process& LocalPlatform::add_instance(const std::string& service) {
  const ServiceProfile& sp = *options_.profile.service(service);
  const int index = ++next_index_[service];
  const std::string name = fmt::format("{}-{}", service, index);
  const fs::path dir = options_.run_dir / "pods" / name;
  fs::create_directories(dir);
  ProcessSpec spec;
  spec.program = options_.storefront_binary;
  spec.args = {service, "--port", "0", "--port-file", (dir / "port").string()};
  std::ifstream args(options_.run_dir / "storefront.args");
  for (std::string line; std::getline(args, line);) {
    if (!line.empty()) spec.args.insert(spec.args.end(), {"--set", line});
  }
  spec.log_path = (options_.run_dir / "logs" / (name + ".log")).string();
  Process& p = add_process(service, name, spec, sp.limits, 0);
  p.storefront = true;
  p.port_file = (dir / "port").string();
  p.ready_path = "/readyz";
  p.cpu_request = sp.cpu_request;
  p.routed = kRoutes.contains(service);
  if (p.routed) {
    std::set<int> used;
    for (const auto& other : processes_) {
      if (other->component == service && other.get() != &p) used.insert(other->slot);
    }
    for (int slot = 1; slot <= options_.profile.haproxy_slots; ++slot) {
      if (!used.contains(slot)) {
        p.slot = slot;
        break;
      }
    }
  }
  p.phase = InstancePhase::pending;
  event({{"kind", "pod"}, {"service", service}, {"instance", name}, {"transition", "pending"}});
  return p;
}

void LocalPlatform::place_pending() {
  for (auto& owned : processes_) {
    Process& p = *owned;
    if (!p.storefront || p.phase != InstancePhase::pending) continue;
    Node* chosen = nullptr;
    for (auto& node : nodes_) {
      if (node->removed || !node->ready) continue;
      double used = 0;
      for (const auto& other : processes_) {
        if (other->node == node.get() && !other->removed) used += other->cpu_request;
      }
      if (used + p.cpu_request <= node->allocatable + 1e-9) {
        chosen = node.get();
        break;
      }
    }
    if (chosen == nullptr) continue;  // stays Pending; manage_nodes() may add a node
    p.node = chosen;
    p.group = chosen->name + "/" + p.name;
    if (auto launched = launch(p); !launched.ok()) {
      progress(p.name, "cannot start: " + launched.error().message);
      p.node = nullptr;
    }
  }
}

void LocalPlatform::manage_nodes() {
  const auto& profile = options_.profile;
  const auto now = Clock::now();
  int live = 0;
  bool provisioning = false;
  const auto provision_delay =
      node_provision_delay_override_.value_or(profile.node_provision_delay);
  for (auto& node : nodes_) {
    if (node->removed) continue;
    ++live;
    // A provisioning delay shortened at run time (a slow-provisioning fault undone) applies to
    // the nodes still waiting too; a longer one only to nodes requested from then on.
    if (!node->ready)
      node->ready_at = std::min(node->ready_at, node->requested_at + provision_delay);
    if (!node->ready && now >= node->ready_at) {
      node->ready = true;
      event({{"kind", "node"},
             {"service", "node-pool"},
             {"node", node->name},
             {"transition", "ready"}});
    }
    provisioning |= !node->ready;
  }
  auto add_node = [&](std::chrono::milliseconds delay) {
    auto node = std::make_unique<Node>();
    node->name = fmt::format("node-{}", nodes_.size() + 1);
    node->allocatable = profile.node_cpu;
    node->requested_at = now;
    node->ready_at = now + delay;
    node->ready = delay.count() == 0;
    (void)cgroups_.make_group(node->name, {profile.node_cpu, 0});
    event({{"kind", "node"},
           {"service", "node-pool"},
           {"node", node->name},
           {"transition", "requested"},
           {"allocatable_cpu", profile.node_cpu}});
    if (node->ready)
      event({{"kind", "node"},
             {"service", "node-pool"},
             {"node", node->name},
             {"transition", "ready"}});
    nodes_.push_back(std::move(node));
    ++live;
  };
  while (live < profile.nodes_min) add_node(0ms);
  place_pending();
  const bool pending = std::any_of(processes_.begin(), processes_.end(), [](const auto& p) {
    return p->storefront && p->phase == InstancePhase::pending;
  });
  // Like the Cluster Autoscaler: a pod that fits on no node asks for one more (one at a time).
  if (pending && !provisioning && live < profile.nodes_max) add_node(provision_delay);
  // Idle nodes above the minimum go after a delay, like the Cluster Autoscaler's scale-down.
  for (auto& node : nodes_) {
    if (node->removed || !node->ready) continue;
    const bool empty = std::none_of(processes_.begin(), processes_.end(),
                                    [&](const auto& p) { return p->node == node.get(); });
    if (!empty) {
      node->idle_since = now;
    } else if (live > profile.nodes_min && now - node->idle_since >= profile.node_idle_removal) {
      node->removed = true;
      --live;
      cgroups_.remove_group(node->name);
      event({{"kind", "node"},
             {"service", "node-pool"},
             {"node", node->name},
             {"transition", "removed"}});
    }
  }
}

std::vector<InstanceView> LocalPlatform::instances(const std::string& service) const {
  std::vector<InstanceView> views;
  for (const auto& p : processes_) {
    if (p->component != service || p->removed) continue;
    InstanceView v;
    v.service = service;
    v.name = p->name;
    v.pid = p->pid();
    v.port = p->port;
    v.phase = p->phase;
    v.ready = p->phase == InstancePhase::ready && p->serving;
    v.cpu_request = p->cpu_request;
    v.restarts = p->restarts;
    v.node = p->node ? p->node->name : "";
    v.started = p->started;
    views.push_back(v);
  }
  return views;
}

int LocalPlatform::desired(const std::string& service) const {
  int n = 0;
  for (const auto& p : processes_) {
    if (p->component == service && !p->removed && p->phase != InstancePhase::draining &&
        p->phase != InstancePhase::stopping && p->phase != InstancePhase::stopped) {
      ++n;
    }
  }
  return n;
}

Result<void> LocalPlatform::scale(const std::string& service, int replicas,
                                  const std::string& reason) {
  const ServiceProfile* sp = options_.profile.service(service);
  if (sp == nullptr) return Error{ErrorKind::not_found, "no service " + service};
  const int limit = kRoutes.contains(service) ? options_.profile.haproxy_slots : 64;
  replicas = std::clamp(replicas, 0, limit);
  int current = desired(service);
  if (current == replicas) return {};
  event({{"kind", "scale"},
         {"service", service},
         {"from", current},
         {"to", replicas},
         {"reason", reason}});
  while (current < replicas) {
    add_instance(service);
    ++current;
  }
  while (current > replicas) {
    // The newest instance that is not yet leaving: pending ones first, then the youngest.
    Process* victim = nullptr;
    for (auto& p : processes_) {
      if (p->component != service || p->removed || p->phase == InstancePhase::draining ||
          p->phase == InstancePhase::stopping || p->phase == InstancePhase::stopped) {
        continue;
      }
      const bool pending = p->phase == InstancePhase::pending;
      const bool victim_pending = victim != nullptr && victim->phase == InstancePhase::pending;
      if (victim == nullptr || (pending && !victim_pending) ||
          (pending == victim_pending && p->started > victim->started)) {
        victim = p.get();
      }
    }
    if (victim == nullptr) break;
    if (victim->phase == InstancePhase::pending) {
      victim->removed = true;
      event({{"kind", "pod"},
             {"service", service},
             {"instance", victim->name},
             {"transition", "stopped"}});
    } else {
      // Out of HAProxy first (maint: sticky clients are redispatched), then wait for in-flight.
      unserve(*victim);
      victim->phase = InstancePhase::draining;
      victim->deadline = Clock::now() + 15s;
      event({{"kind", "pod"},
             {"service", service},
             {"instance", victim->name},
             {"transition", "draining"}});
    }
    --current;
  }
  return {};
}

int LocalPlatform::min_replicas(const std::string& service) const {
  const auto it = overrides_.find(service);
  if (it != overrides_.end() && it->second.min) return *it->second.min;
  const auto* sp = options_.profile.service(service);
  return sp ? sp->min_instances : 0;
}

int LocalPlatform::max_replicas(const std::string& service) const {
  const auto it = overrides_.find(service);
  if (it != overrides_.end() && it->second.max) return *it->second.max;
  const auto* sp = options_.profile.service(service);
  return sp ? sp->max_instances : 0;
}

bool LocalPlatform::autoscaled(const std::string& service) const {
  const auto* sp = options_.profile.service(service);
  const auto it = overrides_.find(service);
  const bool off = it != overrides_.end() && (it->second.autoscaling_off || it->second.replicas);
  return options_.profile.autoscaler && sp && sp->autoscale && !off;
}

ScaleOverride LocalPlatform::override_for(const std::string& service) const {
  const auto it = overrides_.find(service);
  return it == overrides_.end() ? ScaleOverride{} : it->second;
}

void LocalPlatform::apply_overrides() {
  const fs::path file = options_.run_dir / "scale.json";
  // A service whose entry is gone (a chaos fault undone writes the previous state back, which
  // may be no entry at all) has no override any more: its autoscaling and bounds come back.
  const auto clear_unlisted = [this](const nlohmann::json& listed) {
    for (auto& [service, current] : overrides_) {
      const bool had = current.min || current.max || current.replicas || current.autoscaling_off;
      if (!had || listed.contains(service)) continue;
      current = ScaleOverride{};
      event({{"kind", "override"}, {"service", service}, {"override", nlohmann::json::object()}});
    }
  };
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    node_provision_delay_override_.reset();
    clear_unlisted(nlohmann::json::object());
    return;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception&) {
    return;  // being written; next tick
  }
  // The node pool's provisioning time, changed at run time (no event: a cloud's slow capacity
  // does not announce itself either; the nodes' requested/ready events show it).
  node_provision_delay_override_.reset();
  if (j.contains("node-pool") && j["node-pool"].is_object() &&
      j["node-pool"].contains("provision_delay_ms") &&
      j["node-pool"]["provision_delay_ms"].is_number_integer())
    node_provision_delay_override_ =
        std::chrono::milliseconds(j["node-pool"]["provision_delay_ms"].get<long long>());
  for (const auto& [service, o] : j.items()) {
    if (options_.profile.service(service) == nullptr) continue;
    ScaleOverride next;
    if (o.contains("min")) next.min = o["min"].get<int>();
    if (o.contains("max")) next.max = o["max"].get<int>();
    if (o.contains("replicas")) next.replicas = o["replicas"].get<int>();
    next.autoscaling_off = o.value("off", false);
    auto& current = overrides_[service];
    const bool changed = current.min != next.min || current.max != next.max ||
                         current.replicas != next.replicas ||
                         current.autoscaling_off != next.autoscaling_off;
    current = next;
    if (changed) event({{"kind", "override"}, {"service", service}, {"override", o}});
    int want = desired(service);
    if (next.replicas) want = *next.replicas;
    if (next.min) want = std::max(want, *next.min);
    if (next.max) want = std::min(want, *next.max);
    if (want != desired(service)) (void)scale(service, want, "crest scale");
  }
  clear_unlisted(j);
}

}  // namespace crest::stack
