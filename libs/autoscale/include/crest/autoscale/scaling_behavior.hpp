#pragma once
// The second half of the HPA controller (horizontal.go): what it does with the metrics'
// proposal before scaling. Pure, with time passed in.
//  1. Stabilisation: the recommendation is the current count, raised to the lowest proposal of
//     the scale-up window and lowered to the highest proposal of the scale-down window.
//  2. Rate: behavior policies bound the change per period (Pods: +/- n, Percent: x (1 +/- p %)),
//     counted from the replica count at the start of the period (scale events remembered);
//     selectPolicy Max takes the policy allowing the largest change, Min the smallest, Disabled
//     none.
//  3. minReplicas/maxReplicas.
#include <chrono>
#include <deque>
#include <string>

#include "crest/autoscale/hpa_spec.hpp"

namespace crest::autoscale {

struct NormalizedReplicas {
  int replicas = 0;
  // "DesiredWithinRange", "ScaleUpLimit", "ScaleDownLimit", "TooManyReplicas", "TooFewReplicas"
  // (Kubernetes' condition reasons), or "ScaleUpStabilized"/"ScaleDownStabilized" when the
  // window held the count back.
  std::string reason;
};

// The per-HPA memory of recommendations and scale events that the behaviour needs.
class ScalingHistory {
 public:
  using Time = std::chrono::steady_clock::time_point;

  // The whole step: stabilise proposal against the windows, record it, bound the change by the
  // policies and by min/max. Does not record a scale event: call record_scale() once the
  // target has been scaled.
  NormalizedReplicas normalize(Time now, int current_replicas, int proposal, int min_replicas,
                               int max_replicas, const ScalingRules& scale_up,
                               const ScalingRules& scale_down);
  void record_scale(Time now, int from_replicas, int to_replicas);

  // Pieces, exposed for tests.
  int stabilize(Time now, int current_replicas, int proposal, const ScalingRules& scale_up,
                const ScalingRules& scale_down);
  int scale_up_limit(Time now, int current_replicas, const ScalingRules& rules) const;
  int scale_down_limit(Time now, int current_replicas, const ScalingRules& rules) const;

 private:
  struct Recommendation {
    Time at;
    int replicas;
  };
  struct ScaleEvent {
    Time at;
    int change;  // positive: added; stored in the up or down list
  };
  int changes_within(Time now, int period_seconds, const std::deque<ScaleEvent>& events) const;
  void forget_older_than(Time cutoff);

  std::deque<Recommendation> recommendations_;
  std::deque<ScaleEvent> up_events_;
  std::deque<ScaleEvent> down_events_;
};

}  // namespace crest::autoscale
