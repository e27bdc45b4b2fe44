#include "crest/diagnose/diagnosis.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crest/diagnose/parsers.hpp"
#include "synthetic_series.hpp"

namespace crest::diagnose {
namespace {

using ::testing::HasSubstr;
using testing::Shape;
using testing::synthetic;
using testing::synthetic_counter;

constexpr double kOnset = 1200;

// A healthy platform (five services' CPU and memory, the load run's SLO series) whose latency
// rises at kOnset. Each test adds the symptoms of one cause.
Inputs platform() {
  Inputs in;
  in.series.push_back(
      synthetic("load_p99_ms", {{"component", "load"}}, {25, 0.1, 400, kOnset}, 1000, 300, 1));
  in.series.push_back(
      synthetic("load_error_ratio", {{"component", "load"}}, {0, 0.0005, 0.0, 1e18}, 1000, 300, 2));
  unsigned seed = 10;
  for (const char* service : {"users", "catalog", "cart", "orders", "worker"}) {
    in.series.push_back(
        synthetic_counter("container_cpu_usage_seconds_total",
                          {{"container", service}, {"pod", std::string(service) + "-1"}},
                          {0.2, 0.1, 0.2, 1e18}, 1000, 300, ++seed));
    in.series.push_back(synthetic("container_memory_working_set_bytes", {{"container", service}},
                                  {200e6, 0.01, 200e6, 1e18}, 1000, 300, ++seed));
  }
  return in;
}

const Cause& top_cause(const Diagnosis& d) {
  EXPECT_FALSE(d.causes.empty()) << format_text(d);
  static const Cause none;
  return d.causes.empty() ? none : d.causes.front();
}

TEST(Diagnose, CpuSaturatedAtMaxReplicas) {
  auto in = platform();
  in.series.push_back(synthetic_counter("container_cpu_usage_seconds_total",
                                        {{"container", "catalog"}, {"pod", "catalog-2"}},
                                        {0.2, 0.1, 0.98, kOnset}, 1000, 300, 77));
  in.series.push_back(synthetic_counter("container_cpu_cfs_throttled_periods_total",
                                        {{"container", "catalog"}, {"pod", "catalog-2"}},
                                        {0, 0.01, 8, kOnset + 2}, 1000, 300, 78));
  for (double t : {1100.0, kOnset + 5, kOnset + 20}) {
    in.scaling_events.push_back(
        {t, "decision", "catalog", 4, t > kOnset ? 6 : 4, 4, "cpu", 1, "as.jsonl", {}, {}, {}});
  }
  const auto d = diagnose(std::move(in));
  ASSERT_TRUE(d.has_window);
  EXPECT_NEAR(d.window.onset, kOnset, 2);
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "catalog");
  EXPECT_EQ(c.mechanism, "cpu_saturation");
  EXPECT_EQ(c.title, "catalog instance catalog-2 CPU saturated and at max replicas (4)");
  EXPECT_GT(c.confidence, 0.7);
  EXPECT_EQ(d.components.front().component, "catalog");
}

// A database server's container burning CPU is that database's load, not a service to scale out.
TEST(Diagnose, DatabaseServerCpuIsDatabaseSaturation) {
  auto in = platform();
  in.series.push_back(synthetic_counter("container_cpu_usage_seconds_total",
                                        {{"container", "mariadb"}, {"pod", "mariadb-primary"}},
                                        {0.1, 0.1, 0.95, kOnset}, 1000, 300, 79));
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "db:primary");
  EXPECT_EQ(c.mechanism, "db_saturation");
  EXPECT_EQ(c.title, "primary DB CPU saturated");
}

DigestSnapshot snapshot(double t, double like_calls, double like_ps, double pk_calls,
                        double pk_ps) {
  DigestSnapshot s;
  s.t = t;
  s.server = "primary";
  s.uptime_s = t - 900;
  DigestRow like;
  like.schema = "crest";
  like.digest = "d1";
  like.digest_text = "SELECT * FROM `products` WHERE `name` LIKE ?";
  like.count_star = like_calls;
  like.sum_timer_wait_ps = like_ps;
  like.sum_rows_examined = like_calls * 20000;
  like.sum_rows_sent = like_calls * 3;
  like.sum_no_index_used = like_calls;
  DigestRow pk;
  pk.schema = "crest";
  pk.digest = "d2";
  pk.digest_text = "SELECT * FROM `products` WHERE `id` = ?";
  pk.count_star = pk_calls;
  pk.sum_timer_wait_ps = pk_ps;
  pk.sum_rows_examined = pk_calls;
  pk.sum_rows_sent = pk_calls;
  s.digests = {like, pk};
  return s;
}

TEST(Diagnose, PrimaryLoadFromAnUnindexedQuery) {
  auto in = platform();
  double like_calls = 0, like_ps = 0, pk_calls = 0, pk_ps = 0;
  for (int i = 0; i < 300; i += 5) {
    const double t = 1000 + i;
    in.digest_snapshots.push_back(snapshot(t, like_calls, like_ps, pk_calls, pk_ps));
    const bool storm = t >= kOnset;
    like_calls += storm ? 200 : 2;
    like_ps += (storm ? 200 : 2) * 0.2e12;  // 200 ms each
    pk_calls += 500;
    pk_ps += 500 * 0.001e12 * (1 + 0.1 * (i % 3));
  }
  in.logs.push_back({kOnset + 9, "warn", "catalog", "request slow", "", "catalog.log", 12});
  in.logs.push_back({kOnset + 4, "error", "catalog", "query timed out", "", "catalog.log", 9});
  in.logs.push_back(
      {kOnset - 50, "error", "catalog", "unrelated, before the onset", "", "catalog.log", 3});
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "db:primary");
  EXPECT_EQ(c.mechanism, "missing_index");
  ASSERT_FALSE(c.evidence.empty());
  EXPECT_EQ(c.evidence.back().kind, "log");
  EXPECT_THAT(c.evidence.back().text, HasSubstr("catalog.log:9"));
  EXPECT_THAT(c.evidence.back().text, HasSubstr("query timed out"));
  // catalog's error rate moved a second earlier, but logs rank after measured series.
  ASSERT_FALSE(d.components.empty());
  EXPECT_EQ(d.components.front().component, "db:primary");
  EXPECT_THAT(c.title, HasSubstr("primary DB load 8.1"));
  EXPECT_THAT(c.title,
              HasSubstr("top SQL `SELECT * FROM `products` WHERE `name` LIKE ?` (no index)"));
  ASSERT_FALSE(d.db_tops.empty());
  EXPECT_EQ(d.db_tops[0].digests[0].digest, "d1");
}

TEST(Diagnose, StatementsWaitingOnATableLockFromTheSlowLog) {
  auto in = platform();
  for (int i = 0; i < 300; ++i) {
    const double t = 1000 + i;
    if (t < kOnset && i % 10 == 0) {
      in.slow_queries.push_back({t, "primary", 0.06, 0.0, 1, 1, "SELECT * FROM orders WHERE id = 5",
                                 "SELECT * FROM orders WHERE id = ?", "slow.log", i + 1});
    } else if (t >= kOnset) {
      for (int k = 0; k < 8; ++k) {
        in.slow_queries.push_back(
            {t, "primary", 2.0, 1.9, 0, 1, "UPDATE products SET stock = stock - 1 WHERE id = 9",
             "UPDATE products SET stock = stock - ? WHERE id = ?", "slow.log", 1000 + i});
      }
    }
  }
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "db:primary");
  EXPECT_EQ(c.mechanism, "lock_contention");
  EXPECT_EQ(c.title,
            "primary DB overloaded, top SQL `UPDATE products SET stock = stock - ? WHERE id = ?` "
            "(waiting on locks)");
  ASSERT_FALSE(c.evidence.empty());
  EXPECT_EQ(c.evidence.back().kind, "slow_query");
}

TEST(Diagnose, CacheUnavailableAndPrimaryReadsUp) {
  auto in = platform();
  in.series.push_back(synthetic_counter(
      "crest_cache_requests_total", {{"cache", "catalog"}, {"result", "error"}, {"job", "catalog"}},
      {0, 0.01, 120, kOnset}, 1000, 300, 31));
  in.series.push_back(synthetic_counter(
      "crest_cache_requests_total", {{"cache", "catalog"}, {"result", "hit"}, {"job", "catalog"}},
      {100, 0.05, 0, kOnset}, 1000, 300, 32));
  in.series.push_back(
      synthetic_counter("crest_db_queries_total",
                        {{"db_server", "primary"}, {"operation", "read"}, {"job", "catalog"}},
                        {20, 0.05, 120, kOnset}, 1000, 300, 33));
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "cache");
  EXPECT_EQ(c.mechanism, "cache_unavailable");
  EXPECT_THAT(c.title, HasSubstr("cache unavailable; primary read QPS x6"));
}

// A cache that answers every call, slowly: its callers' timing of the round trips names it.
TEST(Diagnose, CacheSlowFromItsCallersRoundTrips) {
  auto in = platform();
  const Labels cache{{"cache", "redis"}, {"job", "catalog"}};
  in.series.push_back(synthetic_counter("crest_cache_request_duration_seconds_count", cache,
                                        {200, 0.05, 190, kOnset}, 1000, 300, 34));
  in.series.push_back(synthetic_counter("crest_cache_request_duration_seconds_sum", cache,
                                        {200 * 0.0003, 0.05, 190 * 0.02, kOnset}, 1000, 300, 35));
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "cache");
  EXPECT_EQ(c.mechanism, "cache_degraded");
  EXPECT_THAT(c.title, HasSubstr("cache slow"));
}

// Misses rose with the lookups while the hit ratio went up (0.9 to 0.91): a cache cause must
// not read "hit ratio fell", and reads that dropped are no "read QPS x0.5".
TEST(Diagnose, CacheFiguresAgreeWithTheTitle) {
  auto in = platform();
  const Labels hit{{"cache", "redis"}, {"result", "hit"}, {"job", "catalog"}};
  const Labels miss{{"cache", "redis"}, {"result", "miss"}, {"job", "catalog"}};
  in.series.push_back(
      synthetic_counter("crest_cache_requests_total", hit, {90, 0.02, 400, kOnset}, 1000, 300, 36));
  in.series.push_back(
      synthetic_counter("crest_cache_requests_total", miss, {10, 0.02, 40, kOnset}, 1000, 300, 37));
  in.series.push_back(
      synthetic_counter("crest_db_queries_total",
                        {{"db_server", "replica2"}, {"operation", "read"}, {"job", "catalog"}},
                        {20, 0.05, 10, kOnset}, 1000, 300, 38));
  const auto d = diagnose(std::move(in));
  const auto cache = std::find_if(d.causes.begin(), d.causes.end(),
                                  [](const Cause& c) { return c.component == "cache"; });
  ASSERT_NE(cache, d.causes.end()) << format_text(d);
  EXPECT_EQ(cache->title, "cache misses rose");
}

TEST(Diagnose, ReplicaLagging) {
  auto in = platform();
  Series lag{"crest_replica_lag_seconds", {{"replica", "replica2"}}, {}, {}, "r"};
  for (int i = 0; i < 300; ++i) {
    lag.t.push_back(1000 + i);
    lag.v.push_back(1000 + i < kOnset ? 0 : std::min(12.0, (1000.0 + i - kOnset) / 2));
  }
  in.series.push_back(lag);
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "db:replica2");
  EXPECT_EQ(c.mechanism, "replica_lag");
  EXPECT_EQ(c.title, "replica2 lagging 12 s");
}

TEST(Diagnose, LaggingReplicaRemovedFromReads) {
  auto in = platform();
  Series lag{
      "crest_replica_lag_seconds", {{"replica", "replica2"}, {"job", "catalog"}}, {}, {}, "r"};
  Series usable{"crest_replica_usable", {{"replica", "replica2"}, {"job", "catalog"}}, {}, {}, "r"};
  for (int i = 0; i < 300; ++i) {
    const double t = 1000 + i;
    lag.t.push_back(t);
    lag.v.push_back(t < kOnset ? 0 : 12);
    usable.t.push_back(t);
    usable.v.push_back(t < kOnset + 3 ? 1 : 0);
  }
  in.series.push_back(usable);
  in.series.push_back(lag);
  const auto d = diagnose(std::move(in));
  ASSERT_EQ(d.causes.size(), 1u) << format_text(d);
  EXPECT_EQ(d.causes[0].mechanism, "replica_lag");
  EXPECT_EQ(d.causes[0].title, "replica2 lagging 12 s, removed from reads");
  EXPECT_EQ(d.causes[0].evidence.size(), 2u);
}

TEST(Diagnose, QueueBacklogWorkerDown) {
  auto in = platform();
  in.series.push_back(synthetic("crest_queue_approximate_messages", {{"queue", "orders"}},
                                {2, 0.3, 400, kOnset}, 1000, 300, 41));
  in.series.push_back(synthetic_counter("crest_queue_messages_deleted_total", {{"queue", "orders"}},
                                        {10, 0.1, 0, kOnset}, 1000, 300, 42));
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "queue:orders");
  EXPECT_EQ(c.mechanism, "worker_down");
  EXPECT_EQ(c.title, "orders backlog growing, worker down");
}

// The consumer is up and receives more than ever, but deletes no more than before: the same
// messages come back after each visibility timeout.
TEST(Diagnose, MessagesReceivedAgainAndNotDeletedArePoison) {
  auto in = platform();
  in.series.push_back(synthetic("crest_queue_approximate_messages", {{"queue", "orders"}},
                                {2, 0.3, 20, kOnset}, 1000, 300, 43));
  in.series.push_back(synthetic_counter("crest_queue_messages_received_total",
                                        {{"queue", "orders"}}, {10, 0.1, 30, kOnset}, 1000, 300,
                                        44));
  in.series.push_back(synthetic_counter("crest_queue_messages_deleted_total", {{"queue", "orders"}},
                                        {10, 0.1, 10, kOnset}, 1000, 300, 45));
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "queue:orders");
  EXPECT_EQ(c.mechanism, "poison_messages");
  EXPECT_THAT(c.title, HasSubstr("received again and again, not deleted"));
  EXPECT_EQ(c.evidence.size(), 3u);
}

// Same queue, a consumer that deletes all it receives, only slower than messages arrive: a backlog,
// not poison.
TEST(Diagnose, SlowConsumerIsABacklogNotPoison) {
  auto in = platform();
  in.series.push_back(synthetic("crest_queue_approximate_messages", {{"queue", "orders"}},
                                {2, 0.3, 200, kOnset}, 1000, 300, 46));
  in.series.push_back(synthetic_counter("crest_queue_messages_received_total",
                                        {{"queue", "orders"}}, {10, 0.1, 10, kOnset}, 1000, 300,
                                        47));
  in.series.push_back(synthetic_counter("crest_queue_messages_deleted_total", {{"queue", "orders"}},
                                        {10, 0.1, 10, kOnset}, 1000, 300, 48));
  const auto d = diagnose(std::move(in));
  EXPECT_EQ(top_cause(d).mechanism, "queue_backlog");
}

TEST(Diagnose, DynamoDbThrottling) {
  auto in = platform();
  in.series.push_back(synthetic_counter("crest_aws_throttled_total",
                                        {{"service", "dynamodb"}, {"job", "cart"}},
                                        {0, 0.01, 30, kOnset}, 1000, 300, 51));
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "dynamodb");
  EXPECT_EQ(c.mechanism, "dynamodb_throttling");
  EXPECT_EQ(c.title, "DynamoDB throttling on cart");
}

TEST(Diagnose, ScaleUpLaggedTheSpike) {
  auto in = platform();
  in.series.push_back(synthetic_counter("container_cpu_usage_seconds_total",
                                        {{"container", "orders"}}, {0.2, 0.1, 0.9, kOnset}, 1000,
                                        300, 61));
  in.scaling_events.push_back(
      {1100, "decision", "orders", 2, 2, 10, "cpu 40%", 1, "as.jsonl", {}, {}, {}});
  in.scaling_events.push_back({kOnset + 15,
                               "decision",
                               "orders",
                               2,
                               5,
                               std::nullopt,
                               "cpu 95%",
                               2,
                               "as.jsonl",
                               {},
                               {},
                               {}});
  in.scaling_events.push_back({kOnset + 40,
                               "pod",
                               "orders",
                               5,
                               std::nullopt,
                               std::nullopt,
                               "ready",
                               3,
                               "as.jsonl",
                               {},
                               {},
                               {}});
  const auto d = diagnose(std::move(in));
  ASSERT_GE(d.causes.size(), 2u) << format_text(d);
  bool lag = false;
  for (const auto& c : d.causes) {
    if (c.mechanism == "scale_lag") {
      lag = true;
      EXPECT_EQ(c.title, "orders scale-up lagged the spike by 40 s (decided after 15 s)");
    }
  }
  EXPECT_TRUE(lag) << format_text(d);
  EXPECT_EQ(top_cause(d).component, "orders");
}

TEST(Diagnose, OomKilledInstance) {
  auto in = platform();
  in.series.push_back(synthetic("container_memory_working_set_bytes",
                                {{"container", "cart"}, {"pod", "cart-2"}},
                                {200e6, 0.01, 500e6, kOnset - 1}, 1000, 300, 71));
  Series oom{"container_oom_events_total", {{"container", "cart"}}, {}, {}, "x"};
  for (int i = 0; i < 300; ++i) {
    oom.t.push_back(1000 + i);
    oom.v.push_back(1000 + i < kOnset + 10 ? 0 : 1);
  }
  in.series.push_back(oom);
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "cart");
  EXPECT_EQ(c.mechanism, "memory_pressure");
  EXPECT_EQ(c.title, "cart memory pressure: OOM-killed and restarted");
}

TEST(Diagnose, InstanceMarkedDownAtTheLoadBalancer) {
  auto in = platform();
  Series up{"haproxy_server_status", {{"proxy", "users"}, {"server", "srv2"}}, {}, {}, "ha"};
  for (int i = 0; i < 300; ++i) {
    up.t.push_back(1000 + i);
    up.v.push_back(1000 + i < kOnset ? 1 : 0);
  }
  in.series.push_back(up);
  in.logs.push_back({kOnset + 1, "error", "users", "upstream connect error", "", "users.log", 7});
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "users");
  EXPECT_EQ(c.mechanism, "instance_down");
  EXPECT_EQ(c.title, "users instance down: marked DOWN by the load balancer (srv2)");
}

// A pod scaled in stops answering its scrape; that is no outage. The same pod failing its scrape
// without having been taken out is one.
TEST(Diagnose, AScaledInPodIsNotATargetDown) {
  for (const bool retired : {true, false}) {
    auto in = platform();
    Series up{
        "up", {{"job", "storefront"}, {"pod", "orders-3"}, {"service", "orders"}}, {}, {}, ""};
    for (int i = 0; i < 300; ++i) {
      up.t.push_back(1000 + i);
      up.v.push_back(1000 + i < kOnset + 10 ? 1 : 0);
    }
    in.series.push_back(up);
    if (retired) {
      in.scaling_events.push_back(
          {kOnset + 9, "pod", "orders", {}, {}, {}, "", 1, "ev.jsonl", {}, "draining", "orders-3"});
    }
    const auto d = diagnose(std::move(in));
    const bool orders_down = std::any_of(d.ranking.begin(), d.ranking.end(), [](const auto& s) {
      return s.kind.signal == Signal::target_up && s.score >= 3;
    });
    EXPECT_EQ(orders_down, !retired);
  }
}

// A frozen worker stops answering its scrape: named as down, not by the CPU it burns after.
TEST(Diagnose, AnInstanceNotAnsweringItsScrapeIsDown) {
  auto in = platform();
  Series up{"up", {{"job", "storefront"}, {"pod", "worker-1"}, {"service", "worker"}}, {}, {}, ""};
  for (int i = 0; i < 300; ++i) {
    up.t.push_back(1000 + i);
    up.v.push_back(1000 + i >= kOnset && 1000 + i < kOnset + 40 ? 0 : 1);
  }
  in.series.push_back(up);
  const auto d = diagnose(std::move(in));
  const auto& c = top_cause(d);
  EXPECT_EQ(c.component, "worker");
  EXPECT_EQ(c.mechanism, "instance_down");
  EXPECT_THAT(c.title, HasSubstr("worker-1 not answering"));
}

// The metrics ask for more replicas than the service may have: capped, or autoscaling off.
TEST(Diagnose, ReplicasAskedForAndRefused) {
  for (const char* reason : {"TooManyReplicas", "ScalingDisabled"}) {
    auto in = platform();
    for (double t = 1000; t < 1300; t += 5) {
      ScalingEvent e{t, "decision", "users", 2, 2, {}, reason, 1, "ev.jsonl", {}, {}, {}};
      e.wanted = t >= kOnset ? 9 : 2;
      in.scaling_events.push_back(e);
    }
    const auto d = diagnose(std::move(in));
    const auto& c = top_cause(d);
    EXPECT_EQ(c.component, "users");
    EXPECT_EQ(c.mechanism,
              std::string(reason) == "TooManyReplicas" ? "at_max_replicas" : "autoscaling_off");
    EXPECT_THAT(c.title, HasSubstr("held at 2 replicas while its metrics asked for 9"));
  }
}

// Autoscaling switched off reads no metrics, so no proposal says what the service wanted: its
// CPU saturation names it, with the decisions that show scaling off.
TEST(Diagnose, CpuSaturatedWithItsAutoscalingOff) {
  for (const char* reason : {"ScalingDisabled", "DesiredWithinRange"}) {
    auto in = platform();
    in.series.push_back(synthetic_counter("container_cpu_usage_seconds_total",
                                          {{"container", "users"}, {"pod", "users-2"}},
                                          {0.1, 0.1, 0.49, kOnset}, 1000, 300, 83));
    for (double t = 1000; t < 1300; t += 5) {
      in.scaling_events.push_back({t,
                                   "decision",
                                   "users",
                                   2,
                                   2,
                                   {},
                                   t >= kOnset - 10 ? reason : "DesiredWithinRange",
                                   1,
                                   "ev.jsonl",
                                   {},
                                   {},
                                   {}});
    }
    const auto d = diagnose(std::move(in));
    const auto& c = top_cause(d);
    EXPECT_EQ(c.component, "users");
    EXPECT_EQ(c.mechanism, "cpu_saturation");
    if (std::string(reason) == "ScalingDisabled") {
      EXPECT_THAT(c.title, HasSubstr("CPU saturated and its autoscaling off"));
      EXPECT_THAT(c.remedy, HasSubstr("autoscaling back on"));
      EXPECT_TRUE(std::any_of(c.evidence.begin(), c.evidence.end(), [](const Evidence& e) {
        return e.text.find("autoscaling off (ScalingDisabled), 2 replicas") != std::string::npos;
      })) << format_text(d);
    } else {
      EXPECT_THAT(c.title, ::testing::Not(HasSubstr("autoscaling off")));
    }
  }
}

// A scale-up waiting a long time for a node: named from the node pool's provisioning age.
TEST(Diagnose, ScaleUpWaitingForANode) {
  auto in = platform();
  in.scaling_events.push_back(
      {1000, "node", "node-pool", {}, {}, {}, "", 1, "ev.jsonl", {}, "ready", "node-2"});
  in.scaling_events.push_back(
      {kOnset + 5, "pod", "users", {}, {}, {}, "", 2, "ev.jsonl", {}, "pending", "users-3"});
  in.scaling_events.push_back(
      {kOnset + 6, "node", "node-pool", {}, {}, {}, "", 3, "ev.jsonl", {}, "requested", "node-3"});
  in.scaling_events.push_back(
      {kOnset + 66, "node", "node-pool", {}, {}, {}, "", 4, "ev.jsonl", {}, "ready", "node-3"});
  in.scaling_events.push_back(
      {1299, "pod", "users", {}, {}, {}, "", 5, "ev.jsonl", {}, "started", "users-3"});
  const auto d = diagnose(std::move(in));
  ASSERT_FALSE(d.causes.empty()) << format_text(d);
  const auto it = std::find_if(d.causes.begin(), d.causes.end(), [](const Cause& c) {
    return c.mechanism == "node_provisioning_slow";
  });
  ASSERT_NE(it, d.causes.end()) << format_text(d);
  EXPECT_EQ(it->component, "node-pool");
  EXPECT_THAT(it->title, ::testing::ContainsRegex("waited (59|60|61) s"));  // the node took 60 s
}

// A spike saturates users at once; its scale-up then waits for a node. The node pool ranks first
// only when the node took abnormally long: users' saturation is what the missing pod would have
// relieved. A node provisioned in the usual 10 s is no cause, and users stays first.
TEST(Diagnose, CapacityThatDidNotArriveRanksBeforeTheServiceThatWaited) {
  for (const double node_seconds : {25.0, 10.0}) {
    auto in = platform();
    in.series.push_back(synthetic_counter("container_cpu_usage_seconds_total",
                                          {{"container", "users"}, {"pod", "users-2"}},
                                          {0.1, 0.1, 0.49, kOnset}, 1000, 300, 84));
    in.scaling_events.push_back(
        {1000, "node", "node-pool", {}, {}, {}, "", 1, "ev.jsonl", {}, "ready", "node-2"});
    in.scaling_events.push_back(
        {kOnset + 5, "pod", "users", {}, {}, {}, "", 2, "ev.jsonl", {}, "pending", "users-4"});
    in.scaling_events.push_back({kOnset + 6,
                                 "node",
                                 "node-pool",
                                 {},
                                 {},
                                 {},
                                 "",
                                 3,
                                 "ev.jsonl",
                                 {},
                                 "requested",
                                 "node-3"});
    in.scaling_events.push_back({kOnset + 6 + node_seconds,
                                 "node",
                                 "node-pool",
                                 {},
                                 {},
                                 {},
                                 "",
                                 4,
                                 "ev.jsonl",
                                 {},
                                 "ready",
                                 "node-3"});
    in.scaling_events.push_back({kOnset + 7 + node_seconds,
                                 "pod",
                                 "users",
                                 {},
                                 {},
                                 {},
                                 "",
                                 5,
                                 "ev.jsonl",
                                 {},
                                 "started",
                                 "users-4"});
    in.scaling_events.push_back(
        {1299, "node", "node-pool", {}, {}, {}, "", 6, "ev.jsonl", {}, "ready", "node-2"});
    const auto d = diagnose(std::move(in));
    ASSERT_FALSE(d.components.empty()) << format_text(d);
    if (node_seconds > 15) {
      EXPECT_EQ(d.components.front().component, "node-pool") << format_text(d);
      EXPECT_EQ(top_cause(d).mechanism, "node_provisioning_slow");
      EXPECT_EQ(d.components[1].component, "users");
    } else {
      EXPECT_EQ(d.components.front().component, "users") << format_text(d);
      EXPECT_EQ(top_cause(d).mechanism, "cpu_saturation");
    }
  }
}

// A spike saturates users: its threads wait for the CPU to read their answers, so the primary's
// reads look slow from users, and the calls to DynamoDB rise with the logins. Neither is the
// dependency's anomaly while users itself is throttled from the start; a primary slow for
// everyone (no caller throttled) still is.
TEST(Diagnose, AThrottledCallerMeasuresItsOwnStarvation) {
  for (const bool throttled : {true, false}) {
    auto in = platform();
    const Labels db{{"db_server", "primary"}, {"operation", "read"}, {"service", "users"}};
    in.series.push_back(synthetic_counter("crest_db_query_duration_seconds_sum", db,
                                          {0.004, 0.05, 0.6, kOnset}, 1000, 300, 85));
    in.series.push_back(
        synthetic_counter("crest_db_queries_total", db, {2, 0.05, 6, kOnset}, 1000, 300, 86));
    in.series.push_back(synthetic_counter(
        "crest_aws_requests_total",
        {{"exported_service", "DynamoDB"}, {"outcome", "success"}, {"service", "users"}},
        {2, 0.05, 30, kOnset}, 1000, 300, 87));
    if (throttled) {
      in.series.push_back(synthetic_counter("container_cpu_cfs_throttled_periods_total",
                                            {{"container", "users"}, {"pod", "users-1"}},
                                            {0, 0.2, 6, kOnset}, 1000, 300, 88));
    }
    const auto d = diagnose(std::move(in));
    ASSERT_FALSE(d.components.empty()) << format_text(d);
    EXPECT_EQ(d.components.front().component, throttled ? "users" : "db:primary") << format_text(d);
    for (const auto& s : d.ranking) {
      if (s.kind.component == "dynamodb") {
        EXPECT_EQ(s.score, 0) << s.series->display_name();  // more calls: the callers' demand
      }
    }
  }
}

TEST(Diagnose, NoRuleFitsShowsTheTopEvidence) {
  auto in = platform();
  in.series.push_back(synthetic("search_index_segments", {{"job", "search"}},
                                {10, 0.02, 90, kOnset}, 1000, 300, 81));
  const auto d = diagnose(std::move(in));
  EXPECT_TRUE(d.causes.empty());
  EXPECT_TRUE(d.no_rule_fits);
  ASSERT_FALSE(d.top_evidence.empty());
  EXPECT_THAT(d.top_evidence.front().text, HasSubstr("search_index_segments{job=\"search\"}"));
  EXPECT_THAT(format_text(d), HasSubstr("no rule fits"));
  EXPECT_THAT(format_markdown(d), HasSubstr("**No rule fits**"));
}

TEST(Diagnose, NoAnomalyNoWindow) {
  Inputs in;
  in.series.push_back(synthetic("load_p99_ms", {{"component", "load"}}, {25, 0.1, 25, 1e18}));
  const auto d = diagnose(std::move(in));
  EXPECT_FALSE(d.has_window);
  EXPECT_THAT(format_text(d), HasSubstr("no anomaly found"));
}

TEST(Diagnose, JsonOutputCarriesCausesAndRanking) {
  auto in = platform();
  in.series.push_back(synthetic_counter("crest_aws_throttled_total",
                                        {{"service", "dynamodb"}, {"job", "cart"}},
                                        {0, 0.01, 30, kOnset}, 1000, 300, 51));
  const auto j = nlohmann::json::parse(format_json(diagnose(std::move(in))));
  EXPECT_EQ(j["causes"][0]["mechanism"], "dynamodb_throttling");
  EXPECT_EQ(j["components"][0]["component"], "dynamodb");
  EXPECT_FALSE(j["ranking"].empty());
  EXPECT_EQ(j["window"]["detected"], true);
}

}  // namespace
}  // namespace crest::diagnose
