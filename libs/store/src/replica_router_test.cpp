#include "crest/store/replica_router.hpp"

#include <map>

#include <gtest/gtest.h>

#include "crest/metrics/registry.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;

ReplicaRouterOptions two_replicas(metrics::Registry* registry = nullptr) {
  ReplicaRouterOptions o;
  o.replica_names = {"replica1", "replica2"};
  o.reads.max_replica_lag = 2s;
  o.reads.read_your_writes_window = 5s;
  o.reads.recent_writes_capacity = 3;
  o.metrics = registry;
  return o;
}

TEST(ReplicaRouter, RoundRobinsOverUsableReplicasOnly) {
  ManualClock clock;
  ReplicaRouter router(two_replicas(), clock);
  EXPECT_EQ(router.route_read(Consistency::eventual), ReplicaRouter::primary);  // none probed
  router.report_probe(1, 0ms);
  router.report_probe(2, 1500ms);
  std::map<int, int> served;
  for (int i = 0; i < 10; ++i) {
    ++served[router.route_read(Consistency::eventual)];
  }
  EXPECT_EQ(served[1], 5);
  EXPECT_EQ(served[2], 5);
  EXPECT_EQ(router.route_read(Consistency::strong), ReplicaRouter::primary);

  router.report_probe(2, 3s);  // lagging beyond the bound
  router.mark_unusable(1);     // a connection error on a read
  EXPECT_EQ(router.route_read(Consistency::eventual), ReplicaRouter::primary);
  router.report_probe(1, std::nullopt);  // replication stopped: still out
  EXPECT_FALSE(router.usable(1));
  router.report_probe(1, 0ms);  // healthy again
  EXPECT_EQ(router.route_read(Consistency::eventual), 1);
  EXPECT_EQ(router.route_read(Consistency::eventual), 1);
}

TEST(ReplicaRouter, ReadYourWritesWindowUsesTheInjectedClock) {
  ManualClock clock;
  ReplicaRouter router(two_replicas(), clock);
  router.report_probe(1, 0ms);
  router.report_probe(2, 0ms);
  router.record_write("user:7");
  EXPECT_EQ(router.route_read(Consistency::eventual, {"user:7"}), ReplicaRouter::primary);
  EXPECT_NE(router.route_read(Consistency::eventual, {"user:8"}), ReplicaRouter::primary);
  clock.advance(4999ms);
  EXPECT_EQ(router.route_read(Consistency::eventual, {"order:1", "user:7"}),
            ReplicaRouter::primary);
  clock.advance(1ms);
  EXPECT_NE(router.route_read(Consistency::eventual, {"user:7"}), ReplicaRouter::primary);

  // Bounded: the least recently written keys are forgotten first.
  for (const char* key : {"a", "b", "c", "d"}) {
    router.record_write(key);
  }
  EXPECT_FALSE(router.written_recently("a"));
  EXPECT_TRUE(router.written_recently("d"));
}

TEST(ReplicaRouter, PrimarySwitchAndGauges) {
  metrics::Registry registry;
  ManualClock clock;
  auto options = two_replicas(&registry);
  ReplicaRouter router(options, clock);
  router.report_probe(1, 1500ms);
  router.report_probe(2, 2500ms);
  const std::string text = registry.render();
  EXPECT_NE(text.find("crest_replica_lag_seconds{replica=\"replica1\"} 1.5"), std::string::npos)
      << text;
  EXPECT_NE(text.find("crest_replica_usable{replica=\"replica1\"} 1"), std::string::npos);
  EXPECT_NE(text.find("crest_replica_usable{replica=\"replica2\"} 0"), std::string::npos);

  EXPECT_TRUE(router.routes_to_replicas());
  options.reads.use_replicas = false;  // `reads: primary`
  ReplicaRouter baseline(options, clock);
  baseline.report_probe(1, 0ms);
  EXPECT_FALSE(baseline.routes_to_replicas());
  EXPECT_EQ(baseline.route_read(Consistency::eventual), ReplicaRouter::primary);
  EXPECT_FALSE(ReplicaRouter(ReplicaRouterOptions{}, clock).routes_to_replicas());  // none
}

}  // namespace
}  // namespace crest::store
