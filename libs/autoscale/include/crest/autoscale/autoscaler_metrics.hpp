#pragma once
// The autoscaler's state as Prometheus gauges, under the names kube-state-metrics gives them on
// a cluster (so the Grafana dashboards read the same series locally), plus what only the local
// model has: instances pending and the node pool.
//   kube_horizontalpodautoscaler_status_desired_replicas{namespace,horizontalpodautoscaler}
//   kube_horizontalpodautoscaler_status_current_replicas{...}   (instances, ready or not)
//   kube_horizontalpodautoscaler_spec_min_replicas / _spec_max_replicas{...}
//   kube_horizontalpodautoscaler_status_condition{...,condition="ScalingLimited",status}
//   crest_autoscaler_replicas_ready /
//   crest_autoscaler_replicas_pending{namespace,horizontalpodautoscaler}
//   crest_node_pool_nodes{pool,state="ready"|"provisioning"},
//   crest_node_pool_pending_instances{pool}
#include <string>
#include <vector>

#include "crest/autoscale/controller.hpp"
#include "crest/autoscale/node_pool_model.hpp"
#include "crest/metrics/registry.hpp"

namespace crest::autoscale {

class AutoscalerMetrics {
 public:
  explicit AutoscalerMetrics(metrics::Registry& registry, std::string kube_namespace = "crest");
  void update(const std::vector<WorkloadStatus>& workloads);
  void update(const NodePoolModel& pool);

 private:
  std::string namespace_;
  metrics::GaugeFamily& desired_;
  metrics::GaugeFamily& current_;
  metrics::GaugeFamily& min_;
  metrics::GaugeFamily& max_;
  metrics::GaugeFamily& condition_;
  metrics::GaugeFamily& ready_;
  metrics::GaugeFamily& pending_;
  metrics::GaugeFamily& nodes_;
  metrics::GaugeFamily& pool_pending_;
};

}  // namespace crest::autoscale
