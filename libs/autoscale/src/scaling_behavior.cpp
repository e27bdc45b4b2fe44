#include "crest/autoscale/scaling_behavior.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

namespace crest::autoscale {
namespace {

std::chrono::seconds seconds(int s) {
  return std::chrono::seconds(s);
}

int longest_period(const ScalingRules& rules) {
  int longest = 0;
  for (const auto& policy : rules.policies) {
    longest = std::max(longest, policy.period_seconds);
  }
  return longest;
}

}  // namespace

ScalingRules default_scale_up_rules() {
  return ScalingRules{0,
                      SelectPolicy::max,
                      {{ScalingPolicyType::pods, 4, 15}, {ScalingPolicyType::percent, 100, 15}}};
}

ScalingRules default_scale_down_rules() {
  return ScalingRules{300, SelectPolicy::max, {{ScalingPolicyType::percent, 100, 15}}};
}

const char* to_string(MetricSourceType type) noexcept {
  switch (type) {
    case MetricSourceType::resource:
      return "Resource";
    case MetricSourceType::pods:
      return "Pods";
    case MetricSourceType::external:
      return "External";
  }
  return "?";
}

const char* to_string(MetricTargetType type) noexcept {
  switch (type) {
    case MetricTargetType::utilization:
      return "Utilization";
    case MetricTargetType::average_value:
      return "AverageValue";
    case MetricTargetType::value:
      return "Value";
  }
  return "?";
}

const char* to_string(SelectPolicy policy) noexcept {
  switch (policy) {
    case SelectPolicy::max:
      return "Max";
    case SelectPolicy::min:
      return "Min";
    case SelectPolicy::disabled:
      return "Disabled";
  }
  return "?";
}

int ScalingHistory::stabilize(Time now, int current_replicas, int proposal,
                              const ScalingRules& scale_up, const ScalingRules& scale_down) {
  // A controller that has just started remembers the current count as a recommendation, so it
  // does not scale down before one scale-down window has passed (recordInitialRecommendation).
  if (recommendations_.empty()) {
    recommendations_.push_back({now, current_replicas});
  }
  const Time up_cutoff = now - seconds(scale_up.stabilization_window_seconds);
  const Time down_cutoff = now - seconds(scale_down.stabilization_window_seconds);
  int up = proposal;
  int down = proposal;
  for (const auto& rec : recommendations_) {
    if (rec.at > up_cutoff) {
      up = std::min(up, rec.replicas);
    }
    if (rec.at > down_cutoff) {
      down = std::max(down, rec.replicas);
    }
  }
  int recommendation = current_replicas;
  if (recommendation < up) {
    recommendation = up;
  }
  if (recommendation > down) {
    recommendation = down;
  }
  const Time oldest = std::min(up_cutoff, down_cutoff);
  while (!recommendations_.empty() && recommendations_.front().at <= oldest) {
    recommendations_.pop_front();
  }
  recommendations_.push_back({now, proposal});
  return recommendation;
}

int ScalingHistory::changes_within(Time now, int period_seconds,
                                   const std::deque<ScaleEvent>& events) const {
  const Time cutoff = now - seconds(period_seconds);
  int total = 0;
  for (const auto& event : events) {
    if (event.at > cutoff) {
      total += event.change;
    }
  }
  return total;
}

int ScalingHistory::scale_up_limit(Time now, int current_replicas,
                                   const ScalingRules& rules) const {
  if (rules.select_policy == SelectPolicy::disabled) {
    return current_replicas;
  }
  const bool take_min = rules.select_policy == SelectPolicy::min;
  int result = take_min ? INT_MAX : INT_MIN;
  for (const auto& policy : rules.policies) {
    const int start = current_replicas - changes_within(now, policy.period_seconds, up_events_) +
                      changes_within(now, policy.period_seconds, down_events_);
    int proposed = start;
    if (policy.type == ScalingPolicyType::pods) {
      proposed = start + policy.value;
    } else {
      // Rounded up, or a small count would never grow.
      proposed = static_cast<int>(std::ceil(static_cast<double>(start) *
                                            (1.0 + static_cast<double>(policy.value) / 100.0)));
    }
    result = take_min ? std::min(result, proposed) : std::max(result, proposed);
  }
  return rules.policies.empty() ? current_replicas : result;
}

int ScalingHistory::scale_down_limit(Time now, int current_replicas,
                                     const ScalingRules& rules) const {
  if (rules.select_policy == SelectPolicy::disabled) {
    return current_replicas;
  }
  // For a scale-down the smallest change is the highest count.
  const bool take_max = rules.select_policy == SelectPolicy::min;
  int result = take_max ? INT_MIN : INT_MAX;
  for (const auto& policy : rules.policies) {
    const int start = current_replicas - changes_within(now, policy.period_seconds, up_events_) +
                      changes_within(now, policy.period_seconds, down_events_);
    int proposed = start;
    if (policy.type == ScalingPolicyType::pods) {
      proposed = start - policy.value;
    } else {
      proposed = static_cast<int>(static_cast<double>(start) *
                                  (1.0 - static_cast<double>(policy.value) / 100.0));
    }
    result = take_max ? std::max(result, proposed) : std::min(result, proposed);
  }
  return rules.policies.empty() ? current_replicas : result;
}

NormalizedReplicas ScalingHistory::normalize(Time now, int current_replicas, int proposal,
                                             int min_replicas, int max_replicas,
                                             const ScalingRules& scale_up,
                                             const ScalingRules& scale_down) {
  const int stabilized = stabilize(now, current_replicas, proposal, scale_up, scale_down);
  std::string stabilized_reason;
  if (stabilized != proposal) {
    stabilized_reason = stabilized < proposal ? "ScaleUpStabilized" : "ScaleDownStabilized";
  }
  NormalizedReplicas out{stabilized, "DesiredWithinRange"};
  if (stabilized > current_replicas) {
    const int limit = std::max(scale_up_limit(now, current_replicas, scale_up), current_replicas);
    int allowed = max_replicas;
    std::string reason = "TooManyReplicas";
    if (allowed > limit) {
      allowed = limit;
      reason = "ScaleUpLimit";
    }
    if (stabilized > allowed) {
      out = {allowed, reason};
    }
  } else if (stabilized < current_replicas) {
    const int limit =
        std::min(scale_down_limit(now, current_replicas, scale_down), current_replicas);
    int allowed = min_replicas;
    std::string reason = "TooFewReplicas";
    if (allowed < limit) {
      allowed = limit;
      reason = "ScaleDownLimit";
    }
    if (stabilized < allowed) {
      out = {allowed, reason};
    }
  }
  if (out.reason == "DesiredWithinRange" && !stabilized_reason.empty()) {
    out.reason = stabilized_reason;
  }
  // Keep scale events as long as the longest policy period needs them.
  const int keep = std::max(longest_period(scale_up), longest_period(scale_down));
  forget_older_than(now - seconds(keep));
  return out;
}

void ScalingHistory::record_scale(Time now, int from_replicas, int to_replicas) {
  if (to_replicas > from_replicas) {
    up_events_.push_back({now, to_replicas - from_replicas});
  } else if (to_replicas < from_replicas) {
    down_events_.push_back({now, from_replicas - to_replicas});
  }
}

void ScalingHistory::forget_older_than(Time cutoff) {
  for (auto* events : {&up_events_, &down_events_}) {
    while (!events->empty() && events->front().at <= cutoff) {
      events->pop_front();
    }
  }
}

}  // namespace crest::autoscale
