#pragma once
// The capacity simulator: a ScaleTarget whose instances are placed by a NodePoolModel and take a
// start delay to become ready and a health-check delay to serve, and a MetricsReader whose CPU
// demand is shared by the serving instances. With a ManualClock it runs the whole chain
// (decision -> Pending -> node -> started -> ready -> serving, and back) in no time, for tests,
// for what-if runs of HPA settings, and as a reference for the stack's real ScaleTarget.
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "crest/autoscale/controller.hpp"
#include "crest/autoscale/event_log.hpp"
#include "crest/autoscale/node_pool_model.hpp"

namespace crest::autoscale {

struct SimulatedWorkloadOptions {
  std::string service;
  double cpu_request_cores = 0.0625;
  double cpu_limit_cores = 0.25;
  double memory_request_bytes = 0;
  std::chrono::milliseconds start_delay{2'000};  // process start -> /readyz 200
  std::chrono::milliseconds serve_delay{1'000};  // ready -> enabled in the load balancer
  std::chrono::milliseconds drain_delay{1'000};  // draining -> stopped
};

class SimulatedWorkload final : public ScaleTarget {
 public:
  SimulatedWorkload(SimulatedWorkloadOptions options, NodePoolModel& pool, const Clock& clock,
                    AutoscaleEventLog* events, int initial_replicas);

  int replicas() const override { return replicas_; }
  std::vector<Instance> instances() const override;
  void scale_to(int replicas) override;

  // Moves every instance on to where the clock says it is (call after the clock moved, and
  // after NodePoolModel::tick(); placements made by the tick are passed in).
  void advance(const std::vector<Placement>& placements);
  int serving() const;
  bool serving(const std::string& instance) const;
  const SimulatedWorkloadOptions& options() const { return options_; }

 private:
  enum class Stage { pending, started, ready, serving, draining };
  struct Sim {
    std::string name;
    Stage stage;
    Clock::SteadyTime since;
  };
  void enter(Sim& sim, Stage stage, PodTransition transition);

  SimulatedWorkloadOptions options_;
  NodePoolModel& pool_;
  const Clock& clock_;
  AutoscaleEventLog* events_;
  int replicas_ = 0;
  int next_ = 1;
  std::vector<Sim> instances_;
};

// CPU demand per workload, in cores, shared evenly by its serving instances (each capped at its
// limit); instances not serving use none. Memory is reported as the request (at target).
class SimulatedCpuLoad final : public MetricsReader {
 public:
  void add(const SimulatedWorkload& workload) {
    workloads_[workload.options().service] = &workload;
  }
  void set_demand(const std::string& service, double cores) { demand_[service] = cores; }

  Result<InstanceValues> instance_values(const std::string& workload,
                                         const std::vector<std::string>& instances,
                                         const MetricQuery& metric) override;
  Result<double> external_value(const MetricQuery& metric) override;

 private:
  std::map<std::string, const SimulatedWorkload*> workloads_;
  std::map<std::string, double> demand_;
};

}  // namespace crest::autoscale
