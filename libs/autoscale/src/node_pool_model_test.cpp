#include "crest/autoscale/node_pool_model.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "crest/autoscale/autoscaler_metrics.hpp"
#include "crest/autoscale/event_log.hpp"

namespace crest::autoscale {
namespace {

using namespace std::chrono_literals;

NodePoolOptions small_pool() {
  NodePoolOptions o;
  o.name = "pool";
  o.min_nodes = 1;
  o.max_nodes = 2;
  o.shape.allocatable_cpu_cores = 0.5;
  o.provisioning_delay = 20s;
  o.idle_removal_delay = 60s;
  return o;
}

TEST(NodePoolModel, EksNodeGroupScaledDownByAnEighth) {
  const auto pool = eks_general_node_pool();
  EXPECT_DOUBLE_EQ(pool.shape.allocatable_cpu_cores, 0.49);  // m6i.xlarge 3.92 / 8
  EXPECT_DOUBLE_EQ(scale_request(0.5), 0.0625);              // catalog's 500m request
}

TEST(NodePoolModel, PlacesWhatFitsAndKeepsTheRestPendingUntilANodeIsReady) {
  ManualClock clock;
  std::ostringstream log_text;
  AutoscaleEventLog log(log_text, clock);
  NodePoolModel pool(small_pool(), clock, &log);
  EXPECT_EQ(pool.ready_nodes(), 1);
  EXPECT_EQ(pool.place("a", 0.2), "pool-1");
  EXPECT_EQ(pool.place("b", 0.2), "pool-1");
  EXPECT_EQ(pool.place("c", 0.2), std::nullopt);  // 0.6 > 0.5: Pending, a node requested
  EXPECT_EQ(pool.pending_instances(), std::vector<std::string>{"c"});
  EXPECT_EQ(pool.provisioning_nodes(), 1);
  EXPECT_EQ(pool.place("d", 0.2), std::nullopt);  // fits on the node on its way: no third node
  EXPECT_EQ(pool.provisioning_nodes(), 1);

  clock.advance(19s);
  EXPECT_TRUE(pool.tick().empty());
  clock.advance(1s);
  const auto placed = pool.tick();
  ASSERT_EQ(placed.size(), 2U);
  EXPECT_EQ(placed[0].instance, "c");
  EXPECT_EQ(placed[0].node, "pool-2");
  EXPECT_EQ(placed[1].instance, "d");
  EXPECT_EQ(pool.ready_nodes(), 2);

  // At max nodes, what does not fit stays Pending.
  EXPECT_EQ(pool.place("e", 0.2), std::nullopt);
  EXPECT_EQ(pool.provisioning_nodes(), 0);
  pool.release("e");
  EXPECT_TRUE(pool.pending_instances().empty());

  std::istringstream lines(log_text.str());
  std::vector<std::string> transitions;
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["kind"], "node");
    transitions.push_back(j["node"].get<std::string>() + " " + j["transition"].get<std::string>());
  }
  EXPECT_EQ(transitions,
            (std::vector<std::string>{"pool-1 ready", "pool-2 requested", "pool-2 ready"}));
}

TEST(NodePoolModel, RemovesAnIdleNodeAfterTheDelayButNotBelowMin) {
  ManualClock clock;
  NodePoolModel pool(small_pool(), clock);
  pool.place("a", 0.4);
  pool.place("b", 0.4);  // second node
  clock.advance(20s);
  pool.tick();
  ASSERT_EQ(pool.ready_nodes(), 2);
  pool.release("b");
  clock.advance(59s);
  pool.tick();
  EXPECT_EQ(pool.ready_nodes(), 2);
  clock.advance(1s);
  pool.tick();
  EXPECT_EQ(pool.ready_nodes(), 1);
  pool.release("a");
  clock.advance(600s);
  pool.tick();
  EXPECT_EQ(pool.ready_nodes(), 1);  // min_nodes
}

TEST(NodePoolModel, AnInstanceLargerThanANodeNeverRequestsNodes) {
  ManualClock clock;
  NodePoolModel pool(small_pool(), clock);
  EXPECT_EQ(pool.place("huge", 0.8), std::nullopt);
  EXPECT_EQ(pool.provisioning_nodes(), 0);
}

TEST(NodePoolModel, SlowerProvisioningDelaysTheNode) {
  ManualClock clock;
  NodePoolModel pool(small_pool(), clock);
  pool.set_provisioning_delay(90s);
  pool.place("a", 0.4);
  pool.place("b", 0.4);
  clock.advance(60s);
  EXPECT_TRUE(pool.tick().empty());
  clock.advance(30s);
  EXPECT_EQ(pool.tick().size(), 1U);
}

TEST(AutoscalerMetrics, PublishesKubeStateMetricsNames) {
  metrics::Registry registry;
  AutoscalerMetrics gauges(registry);
  WorkloadStatus s;
  s.service = "catalog";
  s.min_replicas = 2;
  s.max_replicas = 6;
  s.desired = 6;
  s.current = 4;
  s.pending = 2;
  Decision d;
  d.reason = "TooManyReplicas";
  s.last_decision = d;
  gauges.update({s});
  ManualClock clock;
  NodePoolModel pool(small_pool(), clock);
  pool.place("a", 0.4);
  pool.place("b", 0.4);
  gauges.update(pool);
  const std::string text = registry.render();
  const auto has = [&](const std::string& line) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  };
  has("kube_horizontalpodautoscaler_status_desired_replicas{namespace=\"crest\","
      "horizontalpodautoscaler=\"catalog\"} 6");
  has("kube_horizontalpodautoscaler_status_current_replicas{namespace=\"crest\","
      "horizontalpodautoscaler=\"catalog\"} 6");
  has("kube_horizontalpodautoscaler_spec_max_replicas{namespace=\"crest\","
      "horizontalpodautoscaler=\"catalog\"} 6");
  has("crest_autoscaler_replicas_pending{namespace=\"crest\",horizontalpodautoscaler=\"catalog\"} "
      "2");
  has("kube_horizontalpodautoscaler_status_condition{namespace=\"crest\","
      "horizontalpodautoscaler=\"catalog\",condition=\"ScalingLimited\",status=\"true\"} 1");
  has("crest_node_pool_nodes{pool=\"pool\",state=\"provisioning\"} 1");
  has("crest_node_pool_pending_instances{pool=\"pool\"} 1");

  // The exposition is valid for Prometheus's own checker, when it is installed.
  if (std::system("command -v promtool >/dev/null 2>&1") == 0) {
    const std::string path = ::testing::TempDir() + "autoscaler_metrics.prom";
    {
      std::ofstream out(path);
      out << text;
    }
    EXPECT_EQ(std::system(("promtool check metrics < " + path + " >/dev/null 2>&1").c_str()), 0);
    std::remove(path.c_str());
  }
}

}  // namespace
}  // namespace crest::autoscale
