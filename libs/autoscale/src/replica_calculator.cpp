#include "crest/autoscale/replica_calculator.hpp"

#include <cmath>
#include <cstdint>
#include <map>
#include <set>

namespace crest::autoscale {
namespace {

// Kubernetes works in milli-units (Quantity.MilliValue()); so do we, so that its integer
// divisions, and therefore its test expectations, carry over exactly.
std::int64_t milli(double value) {
  return std::llround(value * 1000.0);
}

Error no_pods() {
  return Error{ErrorKind::unavailable, "no instances to scale from"};
}
Error no_values() {
  return Error{ErrorKind::unavailable, "no metric values for any ready instance"};
}

bool within(double ratio, double tolerance) {
  return std::fabs(1.0 - ratio) <= tolerance;
}
bool reverses(double before, double after) {
  return (before < 1.0 && after > 1.0) || (before > 1.0 && after < 1.0);
}

struct Grouped {
  int ready = 0;
  std::set<std::string> unready;
  std::set<std::string> missing;
  std::map<std::string, std::int64_t> values;  // milli
};

// groupPods(): pending pods are unready for every metric, started-but-not-ready ones only when
// set_aside_unready (cpu); pods without a value are missing.
Grouped group(const std::vector<PodSample>& pods, bool set_aside_unready) {
  Grouped g;
  for (const auto& pod : pods) {
    if (pod.readiness == PodReadiness::pending) {
      g.unready.insert(pod.name);
      continue;
    }
    if (!pod.value) {
      g.missing.insert(pod.name);
      continue;
    }
    if (set_aside_unready && pod.readiness == PodReadiness::started) {
      g.unready.insert(pod.name);
      continue;
    }
    ++g.ready;
    g.values[pod.name] = milli(*pod.value);
  }
  return g;
}

struct Utilization {
  std::int64_t percent = 0;
  double ratio = 0;
};

Utilization utilization_of(const std::map<std::string, std::int64_t>& values,
                           const std::map<std::string, std::int64_t>& requests, double target) {
  std::int64_t used = 0;
  std::int64_t requested = 0;
  for (const auto& [name, value] : values) {
    used += value;
    requested += requests.at(name);
  }
  Utilization u;
  u.percent = requested == 0 ? 0 : used * 100 / requested;
  u.ratio = static_cast<double>(u.percent) / target;
  return u;
}

double average_ratio(const std::map<std::string, std::int64_t>& values, std::int64_t target,
                     std::int64_t* average) {
  std::int64_t total = 0;
  for (const auto& [name, value] : values) {
    total += value;
  }
  *average = total / static_cast<std::int64_t>(values.size());
  return static_cast<double>(*average) / static_cast<double>(target);
}

}  // namespace

Result<ReplicaProposal> utilization_replicas(int current_replicas,
                                             const std::vector<PodSample>& pods,
                                             double target_percent, bool set_aside_unready,
                                             CalculatorOptions options) {
  if (pods.empty()) {
    return no_pods();
  }
  if (target_percent <= 0) {
    return Error{ErrorKind::invalid_argument, "target utilisation must be above 0 %"};
  }
  std::map<std::string, std::int64_t> requests;
  for (const auto& pod : pods) {
    if (pod.request <= 0) {
      return Error{ErrorKind::invalid_argument,
                   "instance '" + pod.name + "' has no resource request to compare usage with"};
    }
    requests[pod.name] = milli(pod.request);
  }
  Grouped g = group(pods, set_aside_unready);
  if (g.values.empty()) {
    return no_values();
  }
  const Utilization first = utilization_of(g.values, requests, target_percent);
  const double usage = static_cast<double>(first.percent);
  const bool scale_up_with_unready = !g.unready.empty() && first.ratio > 1.0;
  if (!scale_up_with_unready && g.missing.empty()) {
    if (within(first.ratio, options.tolerance)) {
      return ReplicaProposal{current_replicas, usage};
    }
    return ReplicaProposal{static_cast<int>(std::ceil(first.ratio * g.ready)), usage};
  }
  if (first.ratio < 1.0) {
    const auto fallback = static_cast<std::int64_t>(std::max(100.0, target_percent));
    for (const auto& name : g.missing) {
      g.values[name] = requests[name] * fallback / 100;
    }
  } else if (first.ratio > 1.0) {
    for (const auto& name : g.missing) {
      g.values[name] = 0;
    }
  }
  if (scale_up_with_unready) {
    for (const auto& name : g.unready) {
      g.values[name] = 0;
    }
  }
  const Utilization second = utilization_of(g.values, requests, target_percent);
  if (within(second.ratio, options.tolerance) || reverses(first.ratio, second.ratio)) {
    return ReplicaProposal{current_replicas, usage};
  }
  const int proposal =
      static_cast<int>(std::ceil(second.ratio * static_cast<double>(g.values.size())));
  if ((second.ratio < 1.0 && proposal > current_replicas) ||
      (second.ratio > 1.0 && proposal < current_replicas)) {
    return ReplicaProposal{current_replicas, usage};
  }
  return ReplicaProposal{proposal, usage};
}

Result<ReplicaProposal> average_value_replicas(int current_replicas,
                                               const std::vector<PodSample>& pods,
                                               double target_average, bool set_aside_unready,
                                               CalculatorOptions options) {
  if (pods.empty()) {
    return no_pods();
  }
  const std::int64_t target = milli(target_average);
  if (target <= 0) {
    return Error{ErrorKind::invalid_argument, "target average value must be above 0"};
  }
  Grouped g = group(pods, set_aside_unready);
  if (g.values.empty()) {
    return no_values();
  }
  std::int64_t average = 0;
  const double ratio = average_ratio(g.values, target, &average);
  const double usage = static_cast<double>(average) / 1000.0;
  const bool scale_up_with_unready = !g.unready.empty() && ratio > 1.0;
  if (!scale_up_with_unready && g.missing.empty()) {
    if (within(ratio, options.tolerance)) {
      return ReplicaProposal{current_replicas, usage};
    }
    return ReplicaProposal{static_cast<int>(std::ceil(ratio * g.ready)), usage};
  }
  if (ratio < 1.0) {
    for (const auto& name : g.missing) {
      g.values[name] = target;
    }
  } else if (ratio > 1.0) {
    for (const auto& name : g.missing) {
      g.values[name] = 0;
    }
  }
  if (scale_up_with_unready) {
    for (const auto& name : g.unready) {
      g.values[name] = 0;
    }
  }
  std::int64_t ignored = 0;
  const double new_ratio = average_ratio(g.values, target, &ignored);
  if (within(new_ratio, options.tolerance) || reverses(ratio, new_ratio)) {
    return ReplicaProposal{current_replicas, usage};
  }
  const int proposal =
      static_cast<int>(std::ceil(new_ratio * static_cast<double>(g.values.size())));
  if ((new_ratio < 1.0 && proposal > current_replicas) ||
      (new_ratio > 1.0 && proposal < current_replicas)) {
    return ReplicaProposal{current_replicas, usage};
  }
  return ReplicaProposal{proposal, usage};
}

Result<ReplicaProposal> external_value_replicas(int current_replicas, int ready_pods, double value,
                                                double target, CalculatorOptions options) {
  const std::int64_t target_milli = milli(target);
  if (target_milli <= 0) {
    return Error{ErrorKind::invalid_argument, "target value must be above 0"};
  }
  const double ratio = static_cast<double>(milli(value)) / static_cast<double>(target_milli);
  if (current_replicas == 0) {
    return ReplicaProposal{static_cast<int>(std::ceil(ratio)), value};
  }
  if (within(ratio, options.tolerance)) {
    return ReplicaProposal{current_replicas, value};
  }
  return ReplicaProposal{static_cast<int>(std::ceil(ratio * ready_pods)), value};
}

Result<ReplicaProposal> external_average_value_replicas(int status_replicas, double value,
                                                        double target_per_pod,
                                                        CalculatorOptions options) {
  const std::int64_t target = milli(target_per_pod);
  if (target <= 0) {
    return Error{ErrorKind::invalid_argument, "target average value must be above 0"};
  }
  const std::int64_t usage = milli(value);
  int replicas = status_replicas;
  const double ratio = static_cast<double>(usage) /
                       (static_cast<double>(target) * static_cast<double>(status_replicas));
  if (!within(ratio, options.tolerance)) {
    replicas =
        static_cast<int>(std::ceil(static_cast<double>(usage) / static_cast<double>(target)));
  }
  const double per_pod = status_replicas == 0
                             ? value
                             : std::ceil(static_cast<double>(usage) / status_replicas) / 1000.0;
  return ReplicaProposal{replicas, per_pod};
}

}  // namespace crest::autoscale
