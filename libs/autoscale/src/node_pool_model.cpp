#include "crest/autoscale/node_pool_model.hpp"

#include <algorithm>
#include <stdexcept>

#include "crest/autoscale/event_log.hpp"

namespace crest::autoscale {

NodePoolOptions eks_general_node_pool(double factor) {
  NodePoolOptions options;
  options.name = "general";
  options.shape.allocatable_cpu_cores = 3.92 * factor;
  options.shape.allocatable_memory_bytes = 14.8 * 1024 * 1024 * 1024 * factor;
  options.min_nodes = 1;
  options.max_nodes = 3;
  return options;
}

double scale_request(double request, double factor) {
  return request * factor;
}

double NodePoolModel::Node::cpu() const {
  double total = 0;
  for (const auto& [instance_name, req] : instances) {
    (void)instance_name;
    total += req.first;
  }
  return total;
}

double NodePoolModel::Node::memory() const {
  double total = 0;
  for (const auto& [instance_name, req] : instances) {
    (void)instance_name;
    total += req.second;
  }
  return total;
}

NodePoolModel::NodePoolModel(NodePoolOptions options, const Clock& clock, AutoscaleEventLog* events)
    : options_(std::move(options)), clock_(clock), events_(events) {
  if (options_.min_nodes < 0 || options_.max_nodes < std::max(1, options_.min_nodes)) {
    throw std::invalid_argument("node pool '" + options_.name +
                                "': need 0 <= min_nodes <= max_nodes and max_nodes >= 1");
  }
  if (options_.shape.allocatable_cpu_cores <= 0) {
    throw std::invalid_argument("node pool '" + options_.name + "': allocatable CPU must be > 0");
  }
  for (int i = 0; i < options_.min_nodes; ++i) {
    add_node(NodeState::ready);
  }
}

bool NodePoolModel::fits(const Node& node, double cpu, double memory) const {
  constexpr double kSlack = 1e-9;
  const bool cpu_ok = node.cpu() + cpu <= options_.shape.allocatable_cpu_cores + kSlack;
  const bool memory_ok = options_.shape.allocatable_memory_bytes <= 0 ||
                         node.memory() + memory <= options_.shape.allocatable_memory_bytes + kSlack;
  return cpu_ok && memory_ok;
}

NodePoolModel::Node& NodePoolModel::add_node(NodeState state) {
  Node node;
  node.name = options_.name + "-" + std::to_string(next_node_++);
  node.state = state;
  node.ready_at =
      clock_.now() + (state == NodeState::ready ? Clock::Duration{0}
                                                : Clock::Duration{options_.provisioning_delay});
  node.idle_since = node.ready_at;
  nodes_.push_back(node);
  if (events_ != nullptr) {
    events_->node(options_.name, node.name,
                  state == NodeState::ready ? NodeTransition::ready : NodeTransition::requested);
  }
  return nodes_.back();
}

std::optional<std::string> NodePoolModel::place(const std::string& instance, double cpu_request,
                                                double memory_request) {
  for (auto& node : nodes_) {
    if (node.state == NodeState::ready && fits(node, cpu_request, memory_request)) {
      node.instances[instance] = {cpu_request, memory_request};
      return node.name;
    }
  }
  pending_.push_back({instance, cpu_request, memory_request});
  request_nodes_for_pending();
  return std::nullopt;
}

// Simulates packing the Pending instances onto the free room of ready and provisioning nodes,
// adding nodes (up to max) for what does not fit: the Cluster Autoscaler's scale-up estimate.
void NodePoolModel::request_nodes_for_pending() {
  std::vector<std::pair<double, double>> room;
  for (const auto& node : nodes_) {
    room.emplace_back(options_.shape.allocatable_cpu_cores - node.cpu(),
                      options_.shape.allocatable_memory_bytes - node.memory());
  }
  const bool memory_limited = options_.shape.allocatable_memory_bytes > 0;
  for (const auto& p : pending_) {
    bool placed = false;
    for (auto& [cpu, memory] : room) {
      if (p.cpu <= cpu + 1e-9 && (!memory_limited || p.memory <= memory + 1e-9)) {
        cpu -= p.cpu;
        memory -= p.memory;
        placed = true;
        break;
      }
    }
    const bool could_ever_fit = p.cpu <= options_.shape.allocatable_cpu_cores + 1e-9;
    if (!placed && could_ever_fit && static_cast<int>(nodes_.size()) < options_.max_nodes) {
      add_node(NodeState::provisioning);
      room.emplace_back(options_.shape.allocatable_cpu_cores - p.cpu,
                        options_.shape.allocatable_memory_bytes - p.memory);
    }
  }
}

void NodePoolModel::release(const std::string& instance) {
  std::erase_if(pending_, [&](const PendingInstance& p) { return p.name == instance; });
  for (auto& node : nodes_) {
    if (node.instances.erase(instance) > 0 && node.instances.empty()) {
      node.idle_since = clock_.now();
    }
  }
}

std::vector<Placement> NodePoolModel::tick() {
  const auto now = clock_.now();
  for (auto& node : nodes_) {
    if (node.state == NodeState::provisioning && now >= node.ready_at) {
      node.state = NodeState::ready;
      node.idle_since = now;
      if (events_ != nullptr) {
        events_->node(options_.name, node.name, NodeTransition::ready);
      }
    }
  }
  std::vector<Placement> placed;
  for (auto it = pending_.begin(); it != pending_.end();) {
    bool done = false;
    for (auto& node : nodes_) {
      if (node.state == NodeState::ready && fits(node, it->cpu, it->memory)) {
        node.instances[it->name] = {it->cpu, it->memory};
        placed.push_back({it->name, node.name});
        done = true;
        break;
      }
    }
    it = done ? pending_.erase(it) : std::next(it);
  }
  if (!pending_.empty()) {
    request_nodes_for_pending();
  }
  // Idle removal, newest nodes first, never below min_nodes ready-or-coming nodes.
  for (auto it = nodes_.end(); it != nodes_.begin();) {
    --it;
    const bool idle = it->state == NodeState::ready && it->instances.empty() &&
                      now - it->idle_since >= options_.idle_removal_delay;
    if (idle && static_cast<int>(nodes_.size()) > options_.min_nodes && pending_.empty()) {
      if (events_ != nullptr) {
        events_->node(options_.name, it->name, NodeTransition::removed);
      }
      it = nodes_.erase(it);
    }
  }
  return placed;
}

std::vector<NodeStatus> NodePoolModel::nodes() const {
  std::vector<NodeStatus> out;
  for (const auto& node : nodes_) {
    NodeStatus s{node.name, node.state, node.cpu(), node.memory(), {}};
    for (const auto& [name, req] : node.instances) {
      (void)req;
      s.instances.push_back(name);
    }
    out.push_back(std::move(s));
  }
  return out;
}

int NodePoolModel::ready_nodes() const {
  return static_cast<int>(std::count_if(nodes_.begin(), nodes_.end(),
                                        [](const Node& n) { return n.state == NodeState::ready; }));
}

int NodePoolModel::provisioning_nodes() const {
  return static_cast<int>(nodes_.size()) - ready_nodes();
}

std::vector<std::string> NodePoolModel::pending_instances() const {
  std::vector<std::string> out;
  for (const auto& p : pending_) {
    out.push_back(p.name);
  }
  return out;
}

}  // namespace crest::autoscale
