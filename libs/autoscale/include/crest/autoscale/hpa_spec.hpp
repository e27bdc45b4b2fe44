#pragma once
// An autoscaling/v2 HorizontalPodAutoscaler spec as plain values: what the manifest reader
// produces and what the HPA algorithm and the LocalAutoscaler consume. Defaults are Kubernetes'.
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace crest::autoscale {

enum class MetricSourceType { resource, pods, external };
enum class MetricTargetType { utilization, average_value, value };

struct MetricSpec {
  MetricSourceType type = MetricSourceType::resource;
  // Resource: "cpu" or "memory". Pods/External: the metric's name as the adapter serves it.
  std::string name;
  std::map<std::string, std::string> selector;  // External: metric.selector.matchLabels
  MetricTargetType target_type = MetricTargetType::utilization;
  // utilization: percent of the request; average_value/value: in the metric's base unit
  // (cores, bytes, seconds, messages), so "250m" is 0.25.
  double target = 0;
};

enum class ScalingPolicyType { pods, percent };
enum class SelectPolicy { max, min, disabled };

struct ScalingPolicy {
  ScalingPolicyType type = ScalingPolicyType::pods;
  int value = 0;
  int period_seconds = 15;
};

struct ScalingRules {
  int stabilization_window_seconds = 0;
  SelectPolicy select_policy = SelectPolicy::max;
  std::vector<ScalingPolicy> policies;
};

// Kubernetes' defaults when spec.behavior leaves a direction out.
ScalingRules default_scale_up_rules();    // 0 s window; max of 4 pods and 100 % per 15 s
ScalingRules default_scale_down_rules();  // 300 s window; 100 % per 15 s

struct HpaSpec {
  std::string name;         // metadata.name
  std::string target_name;  // spec.scaleTargetRef.name: the workload (service) it scales
  int min_replicas = 1;
  int max_replicas = 1;
  std::vector<MetricSpec> metrics;  // empty in a manifest means cpu at 80 % (the default)
  ScalingRules scale_up = default_scale_up_rules();
  ScalingRules scale_down = default_scale_down_rules();
};

const char* to_string(MetricSourceType type) noexcept;
const char* to_string(MetricTargetType type) noexcept;
const char* to_string(SelectPolicy policy) noexcept;

}  // namespace crest::autoscale
