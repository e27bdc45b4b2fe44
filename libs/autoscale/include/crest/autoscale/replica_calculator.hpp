#pragma once
// The Kubernetes HPA replica calculation (pkg/controller/podautoscaler/replica_calculator.go) as
// pure functions: per metric, the replica count that brings the metric back to its target.
//
//  - desired = ceil(current usage ratio x pods counted), over the ready pods;
//  - no change while |1 - ratio| <= tolerance (0.1);
//  - a pod without a value counts as 100 % of the target on a scale-down (the larger of 100 % of
//    its request and the target, for Resource utilisation) and 0 % on a scale-up;
//  - a not-yet-ready pod counts as 0 % on a scale-up and is left out otherwise (CPU only; for
//    other metrics Kubernetes counts a started pod's value as it is); a pending pod (not running)
//    is treated so for every metric;
//  - no change if filling in those pods would reverse the direction of the change.
#include <optional>
#include <string>
#include <vector>

#include "crest/core/error.hpp"

namespace crest::autoscale {

enum class PodReadiness {
  pending,  // not running yet (no node, or its process not started): never counted as ready
  started,  // running, not ready: unready for CPU, counted for other metrics
  ready,
};

struct PodSample {
  std::string name;
  PodReadiness readiness = PodReadiness::ready;
  std::optional<double> value;  // absent: the metric has no value for this pod
  double request = 0;           // resource request (cores or bytes), for utilisation only
};

struct ReplicaProposal {
  int replicas = 0;
  // What the metric measured: utilisation in percent of the request (Resource Utilization),
  // else the average value per pod (or the external value).
  double usage = 0;
};

struct CalculatorOptions {
  double tolerance = 0.1;
};

// Resource metric with target.type Utilization (target in percent of the request). Utilisation
// is computed over pods with a value in whole percent, as Kubernetes does (integer division).
// set_aside_unready: true for cpu. Errors: no pods, no values, a pod with a value but no request.
Result<ReplicaProposal> utilization_replicas(int current_replicas,
                                             const std::vector<PodSample>& pods,
                                             double target_percent, bool set_aside_unready,
                                             CalculatorOptions options = {});

// Pods metrics (and Resource with target.type AverageValue): the average over pods vs target.
Result<ReplicaProposal> average_value_replicas(int current_replicas,
                                               const std::vector<PodSample>& pods,
                                               double target_average, bool set_aside_unready,
                                               CalculatorOptions options = {});

// External metric with target.type Value: ratio = value / target, applied to the ready pods.
Result<ReplicaProposal> external_value_replicas(int current_replicas, int ready_pods, double value,
                                                double target, CalculatorOptions options = {});

// External metric with target.type AverageValue: replicas = ceil(value / target per pod), unless
// value / (target x status_replicas) is within tolerance of 1.
Result<ReplicaProposal> external_average_value_replicas(int status_replicas, double value,
                                                        double target_per_pod,
                                                        CalculatorOptions options = {});

}  // namespace crest::autoscale
