// The whole chain on a manual clock: a CPU step -> HPA decision -> instances Pending -> a node
// provisioned -> started -> ready -> serving, then the load drops and it scales back in; the
// response times are computed from the event log the run wrote.
#include "crest/autoscale/simulated_workload.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "crest/autoscale/response_time.hpp"

namespace crest::autoscale {
namespace {

using namespace std::chrono_literals;

HpaSpec catalog_hpa() {
  HpaSpec spec;
  spec.name = spec.target_name = "catalog";
  spec.min_replicas = 2;
  spec.max_replicas = 20;
  spec.metrics.push_back(
      {MetricSourceType::resource, "cpu", {}, MetricTargetType::utilization, 60});
  spec.scale_up = {0,
                   SelectPolicy::max,
                   {{ScalingPolicyType::percent, 100, 15}, {ScalingPolicyType::pods, 4, 15}}};
  spec.scale_down = {30, SelectPolicy::min, {{ScalingPolicyType::percent, 50, 15}}};
  return spec;
}

TEST(CapacitySimulator, StepLoadScalesOutThroughANewNodeAndBackIn) {
  ManualClock clock;
  std::ostringstream log_text;
  AutoscaleEventLog log(log_text, clock);
  NodePoolOptions pool_options = eks_general_node_pool();  // 0.49-CPU nodes, 1..3
  pool_options.provisioning_delay = 20s;
  pool_options.idle_removal_delay = 60s;
  NodePoolModel pool(pool_options, clock, &log);
  SimulatedWorkloadOptions workload_options;
  workload_options.service = "catalog";
  workload_options.cpu_request_cores = scale_request(0.5);  // 62.5m: 7 per node
  workload_options.cpu_limit_cores = scale_request(2.0);
  workload_options.start_delay = 2s;
  workload_options.serve_delay = 1s;
  SimulatedWorkload catalog(workload_options, pool, clock, &log, 2);
  SimulatedCpuLoad load;
  load.add(catalog);
  load.set_demand("catalog", 0.05);
  LocalAutoscaler autoscaler({catalog_hpa()}, load, {{"catalog", &catalog}}, clock, {}, &log);

  int max_replicas = 0;
  int max_nodes = 0;
  for (int second = 0; second < 400; ++second) {
    if (second == 30) {
      load.set_demand("catalog", 0.5);  // 0.5 cores at 60 % of 62.5m: ceil(13.3) = 14 replicas
    }
    if (second == 200) {
      load.set_demand("catalog", 0.05);
    }
    catalog.advance(pool.tick());
    if (second % 5 == 0) {
      autoscaler.sync_once();
    }
    max_replicas = std::max(max_replicas, catalog.replicas());
    max_nodes = std::max(max_nodes, pool.ready_nodes());
    clock.advance(1s);
  }
  EXPECT_EQ(max_replicas, 14);
  EXPECT_EQ(max_nodes, 2);
  EXPECT_EQ(catalog.replicas(), 2);  // back to min
  EXPECT_EQ(catalog.serving(), 2);
  EXPECT_EQ(pool.ready_nodes(), 1);  // the idle node removed

  std::istringstream events(log_text.str());
  auto responses = autoscaling_response_times(events, "simulation");
  ASSERT_TRUE(responses.ok()) << responses.error().message;
  ASSERT_FALSE(responses->empty());
  const auto& first = responses->front();
  EXPECT_EQ(first.service, "catalog");
  EXPECT_EQ(first.from_replicas, 2);
  EXPECT_LE(first.breach_to_decision(), 5s);  // within one sync period
  ASSERT_TRUE(first.decision_to_serving());
  EXPECT_GE(*first.decision_to_serving(), 3s);  // start + serve delay at least
  // The scale-up that outgrew the first node waited for one (20 s) before serving.
  bool saw_node = false;
  for (const auto& r : *responses) {
    if (r.node_provisioned) {
      saw_node = true;
      ASSERT_TRUE(r.decision_to_serving());
      EXPECT_GE(*r.decision_to_serving(), 20s);
    }
  }
  EXPECT_TRUE(saw_node);
}

}  // namespace
}  // namespace crest::autoscale
