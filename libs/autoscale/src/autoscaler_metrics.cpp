#include "crest/autoscale/autoscaler_metrics.hpp"

namespace crest::autoscale {

namespace {
const std::vector<std::string> kHpaLabels = {"namespace", "horizontalpodautoscaler"};

bool scaling_limited(const std::optional<Decision>& decision) {
  if (!decision) {
    return false;
  }
  const std::string& r = decision->reason;
  return r == "TooManyReplicas" || r == "TooFewReplicas" || r == "ScaleUpLimit" ||
         r == "ScaleDownLimit";
}
}  // namespace

AutoscalerMetrics::AutoscalerMetrics(metrics::Registry& registry, std::string kube_namespace)
    : namespace_(std::move(kube_namespace)),
      desired_(registry.gauge_family("kube_horizontalpodautoscaler_status_desired_replicas",
                                     "Replicas the autoscaler asked for.", kHpaLabels)),
      current_(registry.gauge_family("kube_horizontalpodautoscaler_status_current_replicas",
                                     "Instances of the workload, ready or not.", kHpaLabels)),
      min_(registry.gauge_family("kube_horizontalpodautoscaler_spec_min_replicas",
                                 "minReplicas, with run-time overrides.", kHpaLabels)),
      max_(registry.gauge_family("kube_horizontalpodautoscaler_spec_max_replicas",
                                 "maxReplicas, with run-time overrides.", kHpaLabels)),
      condition_(registry.gauge_family(
          "kube_horizontalpodautoscaler_status_condition",
          "1 for the condition's current status (ScalingLimited, ScalingActive).",
          {"namespace", "horizontalpodautoscaler", "condition", "status"})),
      ready_(registry.gauge_family("crest_autoscaler_replicas_ready",
                                   "Instances answering /readyz.", kHpaLabels)),
      pending_(registry.gauge_family("crest_autoscaler_replicas_pending",
                                     "Instances asked for and not ready yet.", kHpaLabels)),
      nodes_(registry.gauge_family("crest_node_pool_nodes",
                                   "Nodes of the modelled node pool by state.", {"pool", "state"})),
      pool_pending_(registry.gauge_family("crest_node_pool_pending_instances",
                                          "Instances waiting for room on a node.", {"pool"})) {}

void AutoscalerMetrics::update(const std::vector<WorkloadStatus>& workloads) {
  for (const auto& w : workloads) {
    const std::vector<std::string> labels = {namespace_, w.service};
    desired_.with(labels).set(w.desired);
    current_.with(labels).set(w.current + w.pending);
    min_.with(labels).set(w.min_replicas);
    max_.with(labels).set(w.max_replicas);
    ready_.with(labels).set(w.current);
    pending_.with(labels).set(w.pending);
    const bool limited = scaling_limited(w.last_decision);
    condition_.with({namespace_, w.service, "ScalingLimited", "true"}).set(limited ? 1 : 0);
    condition_.with({namespace_, w.service, "ScalingLimited", "false"}).set(limited ? 0 : 1);
    condition_.with({namespace_, w.service, "ScalingActive", "true"}).set(w.enabled ? 1 : 0);
    condition_.with({namespace_, w.service, "ScalingActive", "false"}).set(w.enabled ? 0 : 1);
  }
}

void AutoscalerMetrics::update(const NodePoolModel& pool) {
  const std::string& name = pool.options().name;
  nodes_.with({name, "ready"}).set(pool.ready_nodes());
  nodes_.with({name, "provisioning"}).set(pool.provisioning_nodes());
  pool_pending_.with({name}).set(static_cast<double>(pool.pending_instances().size()));
}

}  // namespace crest::autoscale
