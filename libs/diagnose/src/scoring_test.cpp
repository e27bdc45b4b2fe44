#include "crest/diagnose/scoring.hpp"

#include <algorithm>
#include <cmath>

#include <gtest/gtest.h>

#include "synthetic_series.hpp"

namespace crest::diagnose {
namespace {

using testing::Shape;
using testing::synthetic;
using testing::synthetic_counter;

TEST(Classify, NamesAndLabelsGiveSignalAndComponent) {
  auto k = classify(Series{"container_cpu_cfs_throttled_periods_total",
                           {{"container", "catalog"}, {"pod", "catalog-2"}},
                           {},
                           {},
                           ""});
  EXPECT_EQ(k.signal, Signal::cpu_throttling);
  EXPECT_EQ(k.component, "catalog");
  EXPECT_EQ(k.instance, "catalog-2");
  EXPECT_TRUE(k.counter);
  k = classify(Series{
      "crest_replica_lag_seconds", {{"replica", "replica2"}, {"job", "catalog"}}, {}, {}, ""});
  EXPECT_EQ(k.signal, Signal::replica_lag);
  EXPECT_EQ(k.component, "db:replica2");
  k = classify(
      Series{"crest_aws_throttled_total", {{"service", "dynamodb"}, {"job", "cart"}}, {}, {}, ""});
  EXPECT_EQ(k.signal, Signal::dynamodb_throttles);
  EXPECT_EQ(k.component, "dynamodb");
  EXPECT_EQ(k.instance, "cart");
  k = classify(Series{"crest_queue_oldest_message_age_seconds", {{"queue", "orders"}}, {}, {}, ""});
  EXPECT_EQ(k.signal, Signal::queue_oldest_age);
  EXPECT_EQ(k.component, "queue:orders");
  k = classify(Series{"load_p99_ms", {{"component", "load"}}, {}, {}, ""});
  EXPECT_EQ(k.signal, Signal::slo_latency);
  k = classify(Series{"something_new_total", {{"job", "search"}}, {}, {}, ""});
  EXPECT_EQ(k.signal, Signal::other);
  EXPECT_EQ(k.component, "search");
  EXPECT_TRUE(k.counter);
}

TEST(ToRate, HandlesResets) {
  Series c{"x_total", {}, {0, 1, 2, 3}, {10, 15, 3, 5}, ""};
  auto r = to_rate(c);
  EXPECT_EQ(r.v, (std::vector<double>{5, 3, 2}));
  EXPECT_EQ(r.t, (std::vector<double>{1, 2, 3}));
}

TEST(AnomalyWindow, OnsetFromTheSloSeries) {
  std::vector<Series> series{
      synthetic("load_p99_ms", {{"component", "load"}}, {20, 0.1, 200, 1200}),
      synthetic("load_error_ratio", {{"component", "load"}}, {0, 0.001, 0.0, 1e18}, 1000, 300, 2),
      synthetic("container_cpu_usage_seconds_total", {{"container", "catalog"}},
                {1, 0.05, 1, 1e18}),
  };
  auto w = find_anomaly_window(series);
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->detected);
  EXPECT_GE(w->onset, 1200);
  EXPECT_LE(w->onset, 1202);
  EXPECT_GE(w->end, 1290);
  EXPECT_EQ(w->trigger, "load_p99_ms{component=\"load\"}");
}

TEST(AnomalyWindow, NothingMovedMeansNoWindow) {
  std::vector<Series> series{
      synthetic("load_p99_ms", {{"component", "load"}}, {20, 0.1, 20, 1e18})};
  EXPECT_FALSE(find_anomaly_window(series));
  EXPECT_FALSE(find_anomaly_window({}));
}

TEST(AnomalyWindow, ChangePointWithoutSloSeries) {
  std::vector<Series> series;
  for (int i = 0; i < 5; ++i) {
    series.push_back(synthetic("gauge", {{"job", "s" + std::to_string(i)}}, {10, 0.05, 30, 1150},
                               1000, 300, i + 1));
  }
  auto w = change_point_window(series);
  ASSERT_TRUE(w);
  EXPECT_NEAR(w->onset, 1150, 2);
}

// An `up` series: answering (1) except for the scrapes at `down` (seconds after t0 = 1000).
Series target_up(const std::vector<int>& down, const std::string& pod = "catalog-1") {
  Series s{"up", {{"job", "storefront"}, {"pod", pod}}, {}, {}, "synthetic"};
  for (int i = 0; i < 120; ++i) {
    s.t.push_back(1000 + i);
    s.v.push_back(std::find(down.begin(), down.end(), i) == down.end() ? 1 : 0);
  }
  return s;
}

TEST(HealthWindow, ATargetDownForThreeScrapesOpensAWindow) {
  auto w = find_health_window({target_up({40, 41, 42, 43, 44}), target_up({}, "cart-1")});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->onset, 1040);
  EXPECT_EQ(w->end, 1054);  // ten seconds after the last failed scrape
  EXPECT_EQ(w->trigger, "up{job=\"storefront\",pod=\"catalog-1\"}");
  // Two failed scrapes are a slow scrape, not an outage; a target never up is not news.
  EXPECT_FALSE(find_health_window({target_up({40, 41})}));
  std::vector<int> always;
  for (int i = 0; i < 120; ++i) always.push_back(i);
  EXPECT_FALSE(find_health_window({target_up(always)}));
}

TEST(HealthWindow, ARestartOpensAWindowAtItsCount) {
  Series restarts{"kube_pod_container_status_restarts_total", {{"pod", "catalog-1"}}, {}, {}, ""};
  for (int i = 0; i < 60; ++i) {
    restarts.t.push_back(1000 + i);
    restarts.v.push_back(i < 30 ? 2 : 3);  // two restarts before the data, one at 1030
  }
  auto w = find_health_window({restarts});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->onset, 1030);
  EXPECT_EQ(w->end, 1040);
}

TEST(HealthWindow, OpensTheSymptomsWindowWhenItCameFirst) {
  const AnomalyWindow health{1040, 1054, true, "up{pod=\"catalog-1\"}"};
  const AnomalyWindow symptom{1072, 1082, true, "load_p99_ms"};
  auto w = merge_health_window(symptom, health);
  ASSERT_TRUE(w);
  EXPECT_EQ(w->onset, 1040);
  EXPECT_EQ(w->end, 1082);
  EXPECT_EQ(w->trigger, "up{pod=\"catalog-1\"}, 32 s before load_p99_ms");
  // Long before the symptom, or after its onset: the symptom's window stands.
  EXPECT_EQ(merge_health_window(symptom, AnomalyWindow{1000, 1010, true, "up"})->onset, 1072);
  EXPECT_EQ(merge_health_window(AnomalyWindow{1000, 1082, true, "p99"}, health)->onset, 1000);
  // Nothing users saw: the health event's own window.
  EXPECT_EQ(merge_health_window(std::nullopt, health)->trigger, health.trigger);
  EXPECT_FALSE(merge_health_window(std::nullopt, std::nullopt));
}

// The known answer: catalog's CPU is what moved; everything else is noise.
TEST(RobustScoring, RanksTheSeriesThatMovedFirst) {
  std::vector<Series> series;
  for (int i = 0; i < 30; ++i) {
    series.push_back(synthetic_counter("container_cpu_usage_seconds_total",
                                       {{"container", "svc" + std::to_string(i)}},
                                       {0.3, 0.1, 0.3, 1e18}, 1000, 300, 10 + i));
  }
  series.push_back(synthetic_counter("container_cpu_usage_seconds_total",
                                     {{"container", "catalog"}}, {0.3, 0.1, 0.95, 1200}, 1000, 300,
                                     99));
  AnomalyWindow w{1200, 1299, true, "test"};
  auto scored = score_series(series, w);
  ASSERT_EQ(scored.size(), series.size());
  EXPECT_EQ(scored[0].kind.component, "catalog");
  EXPECT_GT(scored[0].score, 10);
  EXPECT_LT(scored[1].score, 6);
  EXPECT_TRUE(scored[0].increased);
  EXPECT_NEAR(scored[0].window_median, 0.95, 0.05);
  auto components = rank_components(scored);
  EXPECT_EQ(components[0].component, "catalog");
}

// Among the certainly anomalous, a component's time is the first of its clearly anomalous
// series: a locked table's running sessions rise at once (score ~30), its callers' time spent
// only later, after the queue behind it has grown.
TEST(RobustScoring, AComponentLeavesItsNormalWithItsFirstClearlyAnomalousSeries) {
  const auto rank_with_sessions = [](double sessions_after) {
    std::vector<Series> series{
        synthetic("crest_queue_approximate_messages", {{"queue", "orders"}}, {5, 0.1, 500, 1205},
                  1000, 300, 1),
        synthetic("crest_db_query_duration_seconds_sum", {{"db_server", "primary"}},
                  {0.1, 0.1, 500, 1215}, 1000, 300, 2),
        synthetic("mysql_global_status_threads_running", {{"db_server", "primary"}},
                  {2, 0.1, sessions_after, 1203}, 1000, 300, 3)};
    for (auto& s : series) s.per_second = true;
    auto scored = score_series(series, AnomalyWindow{1200, 1299, true, "test"});
    return rank_components(scored);
  };
  EXPECT_EQ(rank_with_sessions(15)[0].component, "db:primary");  // (15 - 2) / 0.5: 26
  // Sessions that hardly moved date nothing: the queue moved first.
  EXPECT_EQ(rank_with_sessions(2.1)[0].component, "queue:orders");
}

// Why median/IQR: spikes inside the normal period inflate a standard deviation, so NSigma
// misses a real shift that the robust scorer sees.
TEST(RobustScoring, OutliersInTheNormalPeriodDoNotHideAShift) {
  auto spiky = synthetic("queue_like", {{"job", "spiky"}}, {10, 0.05, 30, 1200}, 1000, 300, 5);
  for (int i : {20, 60, 100, 140, 180}) {
    spiky.v[static_cast<std::size_t>(i)] = 2000;
  }
  auto clean = synthetic("other_gauge", {{"job", "clean"}}, {10, 0.05, 16, 1200}, 1000, 300, 6);
  std::vector<Series> series{spiky, clean};
  AnomalyWindow w{1200, 1299, true, "test"};
  auto robust = score_series(series, w, {Scorer::robust});
  auto nsigma = score_series(series, w, {Scorer::nsigma});
  EXPECT_EQ(robust[0].kind.component, "spiky");
  EXPECT_EQ(nsigma[0].kind.component, "clean");
}

TEST(RobustScoring, FlatNormalGivesALargeFiniteScore) {
  Series restarts{"container_oom_events_total", {{"container", "cart"}}, {}, {}, ""};
  for (int i = 0; i < 100; ++i) {
    restarts.t.push_back(1000 + i);
    restarts.v.push_back(i < 80 ? 0 : 1);
  }
  AnomalyWindow w{1070, 1099, true, "test"};
  auto scored = score_series({restarts}, w);
  ASSERT_EQ(scored.size(), 1u);
  EXPECT_TRUE(std::isfinite(scored[0].score));
  EXPECT_GT(scored[0].score, 100);
  EXPECT_EQ(scored[0].kind.signal, Signal::restarts);
}

TEST(RobustScoring, SkipsSeriesWithoutANormal) {
  Series late{"x", {}, {1250, 1251, 1252}, {1, 2, 3}, ""};
  AnomalyWindow w{1200, 1299, true, "test"};
  EXPECT_TRUE(score_series({late}, w).empty());
}

}  // namespace
}  // namespace crest::diagnose

namespace crest::diagnose {
namespace {

using testing::Shape;
using testing::synthetic_counter;

// A cache that fails sends its misses to the database: the time spent there rises with the
// calls, each no slower. The cache's errors must rank above the database, and a database whose
// every call got slower must still rank first.
std::vector<ScoredSeries> score_calls_case(double per_call_after, std::vector<Series>& keep) {
  const Labels db{{"db_server", "replica1"}, {"operation", "read"}, {"service", "catalog"}};
  const double calls = 20, calls_after = 60, per_call = 0.02;
  keep = {
      synthetic_counter("crest_db_queries_total", db, {calls, 0.1, calls_after, 1200}),
      synthetic_counter("crest_db_query_duration_seconds_sum", db,
                        {calls * per_call, 0.02, calls_after * per_call_after, 1200}, 1000, 300, 2),
      synthetic_counter("crest_cache_requests_total",
                        {{"cache", "redis"}, {"result", "error"}, {"service", "catalog"}},
                        {0, 0.01, 20, 1200}, 1000, 300, 3),
  };
  add_derived_series(keep);
  return score_series(keep, AnomalyWindow{1200, 1299, true, "test"}, {});
}

TEST(TimePerCall, MoreCallsToAHealthyDependencyDoNotOutrankTheFailingOne) {
  std::vector<Series> series;
  auto ranked = score_calls_case(0.02, series);
  auto components = rank_components(ranked);
  ASSERT_GE(components.size(), 2u);
  EXPECT_EQ(components[0].component, "cache");
  for (const auto& s : ranked) EXPECT_FALSE(s.kind.per_call);  // companions only
}

// A cache whose round trips got slower beside a replica serving catalog's reads: the callers'
// timing of each (crest_cache_request_duration_seconds, crest_db_query_duration_seconds), calls
// per second and seconds per call before and from t = 1200.
struct CacheAndReplica {
  double cache_calls_after, cache_per_call, cache_per_call_after;
  double db_calls_after, db_per_call, db_per_call_after;
};
std::vector<ScoredSeries> score_cache_and_replica(const CacheAndReplica& c,
                                                  std::vector<Series>& series) {
  const Labels cache{{"cache", "redis"}, {"service", "catalog"}};
  const Labels db{{"db_server", "replica1"}, {"operation", "read"}, {"service", "catalog"}};
  series = {
      synthetic_counter("crest_cache_request_duration_seconds_count", cache,
                        {200, 0.02, c.cache_calls_after, 1200}),
      synthetic_counter(
          "crest_cache_request_duration_seconds_sum", cache,
          {200 * c.cache_per_call, 0.02, c.cache_calls_after * c.cache_per_call_after, 1200}, 1000,
          300, 2),
      synthetic_counter("crest_db_queries_total", db, {20, 0.02, c.db_calls_after, 1200}, 1000, 300,
                        3),
      synthetic_counter("crest_db_query_duration_seconds_sum", db,
                        {20 * c.db_per_call, 0.02, c.db_calls_after * c.db_per_call_after, 1200},
                        1000, 300, 4),
  };
  add_derived_series(series);
  return score_series(series, AnomalyWindow{1200, 1299, true, "test"}, {});
}

// A Redis that pauses answers every call, none failing: its callers' timing of the cache's
// round trips names the cache, not the database that serves the same calls as before; the
// cache's best series is that timing.
TEST(TimePerCall, ASlowCacheIsNamedByItsCallersRoundTrips) {
  std::vector<Series> series;
  const auto ranked = score_cache_and_replica({190, 0.0003, 0.02, 21, 0.02, 0.021}, series);
  const auto components = rank_components(ranked);
  ASSERT_GE(components.size(), 1u);
  EXPECT_EQ(components[0].component, "cache");
  const auto top = std::find_if(ranked.begin(), ranked.end(),
                                [](const ScoredSeries& s) { return s.kind.component == "cache"; });
  ASSERT_NE(top, ranked.end());
  EXPECT_EQ(top->kind.signal, Signal::downstream_latency);
}

// The saved redis-slow cases: a cache pausing 40 ms in every 100 ms answered in about 8 ms
// instead of 0.2 (a 7.8 ms rise: 26 floors of 0.3 ms, but under 8 of the 1 ms floor this had
// before); a saturated replica's statements took 20 ms instead of 2, its time spent rising 15
// floors. The cache moved further from its own normal and must rank first.
TEST(TimePerCall, ASubMillisecondDependencyThatGotSlowerOutranksTheLoadItShifted) {
  std::vector<Series> series;
  const auto ranked = score_cache_and_replica({190, 0.0002, 0.008, 9.5, 0.002, 0.02}, series);
  const auto components = rank_components(ranked);
  ASSERT_GE(components.size(), 2u);
  EXPECT_EQ(components[0].component, "cache");
}

// A catalog instance starved of CPU times its queries slow (it waits for its own CPU before
// reading each answer) while the replica's digests show every statement served as fast as
// ever: the caller's time is the caller's evidence. If the server's own time per statement
// moved too, the database keeps it.
TEST(TimePerCall, SlowCallsTheServerServedAsFastAsEverAreTheCallers) {
  const auto component_of_client_time = [](double server_per_call_after) {
    const Labels db{{"db_server", "replica1"}, {"operation", "read"}, {"service", "catalog"}};
    std::vector<Series> series = {
        synthetic_counter("crest_db_queries_total", db, {20, 0.02, 20, 1200}),
        synthetic_counter("crest_db_query_duration_seconds_sum", db,
                          {20 * 0.002, 0.02, 20 * 0.05, 1200}, 1000, 300, 2),
        testing::synthetic("crest_db_seconds_per_call", {{"db_server", "replica1"}},
                           {0.0015, 0.02, server_per_call_after, 1200}, 1000, 300, 3),
    };
    add_derived_series(series);
    const auto ranked = score_series(series, AnomalyWindow{1200, 1299, true, "test"}, {});
    for (const auto& s : ranked) {
      if (s.series->name == "crest_db_query_duration_seconds_sum") return s.kind.component;
    }
    return std::string("missing");
  };
  EXPECT_EQ(component_of_client_time(0.0015), "catalog");
  EXPECT_EQ(component_of_client_time(0.04), "db:replica1");
}

TEST(TimePerCall, SlowerCallsStillRankTheDependency) {
  std::vector<Series> series;
  auto ranked = score_calls_case(2.0, series);  // every call 100 times slower
  auto components = rank_components(ranked);
  ASSERT_GE(components.size(), 1u);
  EXPECT_EQ(components[0].component, "db:replica1");
}

}  // namespace
}  // namespace crest::diagnose
