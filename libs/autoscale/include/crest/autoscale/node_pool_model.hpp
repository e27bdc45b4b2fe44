#pragma once
// A capacity model of the Cluster Autoscaler, not the Cluster Autoscaler: one node pool with
// min/max nodes, an allocatable CPU (and memory) per node and a provisioning delay. An instance
// is placed on a ready node with room for its requests; one that fits nowhere stays Pending and,
// if no node on its way has room either, a node is requested (ready after the delay). A node
// with no instance for idle_removal_delay is removed, down to min_nodes. The stack asks the
// model where an instance may start and starts it only once placed.
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crest/core/clock.hpp"

namespace crest::autoscale {

class AutoscaleEventLog;

struct NodeShape {
  double allocatable_cpu_cores = 0;
  double allocatable_memory_bytes = 0;
};

struct NodePoolOptions {
  std::string name = "general";
  int min_nodes = 1;
  int max_nodes = 3;
  NodeShape shape;
  std::chrono::milliseconds provisioning_delay{30'000};  // EC2 + kubelet join: 1-2 min on EKS
  std::chrono::milliseconds idle_removal_delay{60'000};  // CA's scale-down-unneeded-time: 10 min
};

// The EKS managed node group "general" of deploy/terraform (m6i.xlarge: 4 vCPU, 16 GiB; EKS
// allocatable 3.92 CPU and about 14.8 GiB), every size multiplied by factor (1/8 by default: a
// 0.49-CPU node), so that a pool fits in one 2-core machine. Pod requests must be scaled by the
// same factor (scale_request).
NodePoolOptions eks_general_node_pool(double factor = 1.0 / 8);
double scale_request(double request, double factor = 1.0 / 8);

enum class NodeState { provisioning, ready };

struct NodeStatus {
  std::string name;
  NodeState state = NodeState::provisioning;
  double cpu_requested = 0;  // by the instances placed on it
  double memory_requested = 0;
  std::vector<std::string> instances;
};

struct Placement {
  std::string instance;
  std::string node;
};

class NodePoolModel {
 public:
  // Starts with min_nodes ready nodes.
  NodePoolModel(NodePoolOptions options, const Clock& clock, AutoscaleEventLog* events = nullptr);

  // Places the instance now if a ready node has room (returns the node), else queues it as
  // Pending (returns nothing) and requests a node if none on its way has room.
  std::optional<std::string> place(const std::string& instance, double cpu_request,
                                   double memory_request = 0);
  // The instance stopped (or was never started): frees its requests, or drops it from Pending.
  void release(const std::string& instance);
  // Moves time on: nodes past their delay become ready, Pending instances are placed (FIFO),
  // idle nodes past idle_removal_delay are removed. Returns the placements made.
  std::vector<Placement> tick();

  std::vector<NodeStatus> nodes() const;
  int ready_nodes() const;
  int provisioning_nodes() const;
  std::vector<std::string> pending_instances() const;
  const NodePoolOptions& options() const { return options_; }
  // For `crest chaos`: a slower (or faster) provisioning from now on.
  void set_provisioning_delay(std::chrono::milliseconds delay) {
    options_.provisioning_delay = delay;
  }

 private:
  struct Node {
    std::string name;
    NodeState state;
    Clock::SteadyTime ready_at;
    Clock::SteadyTime idle_since;
    std::map<std::string, std::pair<double, double>> instances;  // name -> cpu, memory
    double cpu() const;
    double memory() const;
  };
  struct PendingInstance {
    std::string name;
    double cpu;
    double memory;
  };
  bool fits(const Node& node, double cpu, double memory) const;
  Node& add_node(NodeState state);
  void request_nodes_for_pending();

  NodePoolOptions options_;
  const Clock& clock_;
  AutoscaleEventLog* events_;
  std::vector<Node> nodes_;
  std::vector<PendingInstance> pending_;
  int next_node_ = 1;
};

}  // namespace crest::autoscale
