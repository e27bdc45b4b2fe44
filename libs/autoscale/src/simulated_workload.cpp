#include "crest/autoscale/simulated_workload.hpp"

#include <algorithm>

namespace crest::autoscale {

SimulatedWorkload::SimulatedWorkload(SimulatedWorkloadOptions options, NodePoolModel& pool,
                                     const Clock& clock, AutoscaleEventLog* events,
                                     int initial_replicas)
    : options_(std::move(options)), pool_(pool), clock_(clock), events_(events) {
  scale_to(initial_replicas);
}

void SimulatedWorkload::enter(Sim& sim, Stage stage, PodTransition transition) {
  sim.stage = stage;
  sim.since = clock_.now();
  if (events_ != nullptr) {
    events_->pod(options_.service, sim.name, transition);
  }
}

void SimulatedWorkload::scale_to(int replicas) {
  replicas_ = replicas;
  auto live = [](const Sim& s) { return s.stage != Stage::draining; };
  int count = static_cast<int>(std::count_if(instances_.begin(), instances_.end(), live));
  while (count < replicas) {
    Sim sim{options_.service + "-" + std::to_string(next_++), Stage::pending, clock_.now()};
    enter(sim, Stage::pending, PodTransition::pending);
    if (pool_.place(sim.name, options_.cpu_request_cores, options_.memory_request_bytes)) {
      enter(sim, Stage::started, PodTransition::started);
    }
    instances_.push_back(sim);
    ++count;
  }
  // Scale-in takes the youngest first: pending, then started, ready, serving (as a ReplicaSet
  // prefers unscheduled and not-ready pods).
  for (Stage stage : {Stage::pending, Stage::started, Stage::ready, Stage::serving}) {
    for (auto it = instances_.rbegin(); it != instances_.rend() && count > replicas; ++it) {
      if (it->stage == stage) {
        if (stage == Stage::pending) {
          pool_.release(it->name);
        }
        enter(*it, Stage::draining, PodTransition::draining);
        --count;
      }
    }
  }
}

void SimulatedWorkload::advance(const std::vector<Placement>& placements) {
  const auto now = clock_.now();
  for (auto& sim : instances_) {
    for (const auto& p : placements) {
      if (p.instance == sim.name && sim.stage == Stage::pending) {
        enter(sim, Stage::started, PodTransition::started);
      }
    }
    if (sim.stage == Stage::started && now - sim.since >= options_.start_delay) {
      enter(sim, Stage::ready, PodTransition::ready);
    }
    if (sim.stage == Stage::ready && now - sim.since >= options_.serve_delay) {
      enter(sim, Stage::serving, PodTransition::serving);
    }
  }
  for (auto it = instances_.begin(); it != instances_.end();) {
    if (it->stage == Stage::draining && now - it->since >= options_.drain_delay) {
      pool_.release(it->name);
      if (events_ != nullptr) {
        events_->pod(options_.service, it->name, PodTransition::stopped);
      }
      it = instances_.erase(it);
    } else {
      ++it;
    }
  }
}

std::vector<Instance> SimulatedWorkload::instances() const {
  std::vector<Instance> out;
  for (const auto& sim : instances_) {
    InstancePhase phase = InstancePhase::pending;
    switch (sim.stage) {
      case Stage::pending:
        phase = InstancePhase::pending;
        break;
      case Stage::started:
        phase = InstancePhase::started;
        break;
      case Stage::ready:
      case Stage::serving:
        phase = InstancePhase::ready;
        break;
      case Stage::draining:
        phase = InstancePhase::draining;
        break;
    }
    out.push_back({sim.name, phase, options_.cpu_request_cores, options_.memory_request_bytes});
  }
  return out;
}

int SimulatedWorkload::serving() const {
  return static_cast<int>(std::count_if(instances_.begin(), instances_.end(),
                                        [](const Sim& s) { return s.stage == Stage::serving; }));
}

bool SimulatedWorkload::serving(const std::string& instance) const {
  return std::any_of(instances_.begin(), instances_.end(),
                     [&](const Sim& s) { return s.name == instance && s.stage == Stage::serving; });
}

Result<InstanceValues> SimulatedCpuLoad::instance_values(const std::string& workload,
                                                         const std::vector<std::string>& instances,
                                                         const MetricQuery& metric) {
  auto it = workloads_.find(workload);
  if (it == workloads_.end()) {
    return Error{ErrorKind::not_found, "no simulated workload '" + workload + "'"};
  }
  const SimulatedWorkload& w = *it->second;
  InstanceValues out;
  if (metric.type != MetricSourceType::resource) {
    return Error{ErrorKind::not_found, "the simulator has cpu and memory only"};
  }
  const int serving = w.serving();
  const double share = serving == 0 ? 0 : demand_[workload] / serving;
  for (const auto& instance : w.instances()) {
    if (std::find(instances.begin(), instances.end(), instance.name) == instances.end() ||
        instance.phase == InstancePhase::pending) {
      continue;
    }
    if (metric.name == "memory") {
      out[instance.name] = w.options().memory_request_bytes;
    } else {
      // Started and not-yet-serving instances idle; serving ones share the demand.
      out[instance.name] =
          w.serving(instance.name) ? std::min(share, w.options().cpu_limit_cores) : 0.0;
    }
  }
  return out;
}

Result<double> SimulatedCpuLoad::external_value(const MetricQuery& metric) {
  return Error{ErrorKind::not_found, "the simulator has no external metric '" + metric.name + "'"};
}

}  // namespace crest::autoscale
