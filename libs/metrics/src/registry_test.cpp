#include "crest/metrics/registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

namespace crest::metrics {
namespace {

using ::testing::HasSubstr;

// Expects `statement` to throw std::invalid_argument whose message contains `text`.
#define EXPECT_INVALID(statement, text)                                 \
  try {                                                                 \
    statement;                                                          \
    ADD_FAILURE() << "expected std::invalid_argument from " #statement; \
  } catch (const std::invalid_argument& e) {                            \
    EXPECT_THAT(e.what(), HasSubstr(text));                             \
  }

TEST(RegistryRenderTest, CounterWithLabels) {
  Registry registry;
  auto& accepted = registry.counter_family("crest_orders_accepted_total", "Orders accepted.",
                                           {"service", "channel"});
  accepted.with({"orders", "web"}).inc();
  accepted.with({"orders", "web"}).inc(2.5);
  accepted.with({"orders", "app"}).inc(4);
  EXPECT_EQ(registry.render(),
            "# HELP crest_orders_accepted_total Orders accepted.\n"
            "# TYPE crest_orders_accepted_total counter\n"
            "crest_orders_accepted_total{service=\"orders\",channel=\"app\"} 4\n"
            "crest_orders_accepted_total{service=\"orders\",channel=\"web\"} 3.5\n");
}

TEST(RegistryRenderTest, GaugeSetIncDec) {
  Registry registry;
  auto& depth =
      registry.gauge_family("crest_queue_depth", "Messages in the queue.", {"queue", "state"});
  Gauge& visible = depth.with({"orders", "visible"});
  visible.set(3);
  visible.inc();
  visible.inc(0.5);
  visible.dec();
  depth.with({"orders", "in_flight"}).dec(2);
  EXPECT_EQ(registry.render(),
            "# HELP crest_queue_depth Messages in the queue.\n"
            "# TYPE crest_queue_depth gauge\n"
            "crest_queue_depth{queue=\"orders\",state=\"in_flight\"} -2\n"
            "crest_queue_depth{queue=\"orders\",state=\"visible\"} 3.5\n");
}

TEST(RegistryRenderTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  auto& duration = registry.histogram_family(
      "http_server_request_duration_seconds", "Duration of HTTP server requests.",
      {"http_route", "http_request_method", "http_response_status_code"},
      Buckets{0.005, 0.01, 0.1});
  Histogram& h = duration.with({"/api/products", "GET", "200"});
  h.observe(0.001);
  h.observe(0.005);  // on a bound: counted in that bucket (le is "less than or equal")
  h.observe(0.05);
  h.observe(0.25);  // above every bound: only +Inf
  EXPECT_EQ(registry.render(),
            "# HELP http_server_request_duration_seconds Duration of HTTP server requests.\n"
            "# TYPE http_server_request_duration_seconds histogram\n"
            "http_server_request_duration_seconds_bucket{http_route=\"/api/products\","
            "http_request_method=\"GET\",http_response_status_code=\"200\",le=\"0.005\"} 2\n"
            "http_server_request_duration_seconds_bucket{http_route=\"/api/products\","
            "http_request_method=\"GET\",http_response_status_code=\"200\",le=\"0.01\"} 2\n"
            "http_server_request_duration_seconds_bucket{http_route=\"/api/products\","
            "http_request_method=\"GET\",http_response_status_code=\"200\",le=\"0.1\"} 3\n"
            "http_server_request_duration_seconds_bucket{http_route=\"/api/products\","
            "http_request_method=\"GET\",http_response_status_code=\"200\",le=\"+Inf\"} 4\n"
            "http_server_request_duration_seconds_sum{http_route=\"/api/products\","
            "http_request_method=\"GET\",http_response_status_code=\"200\"} 0.306\n"
            "http_server_request_duration_seconds_count{http_route=\"/api/products\","
            "http_request_method=\"GET\",http_response_status_code=\"200\"} 4\n");
}

TEST(RegistryRenderTest, UnlabelledMetricsHaveNoBraces) {
  Registry registry;
  registry.counter("crest_relay_published_total", "Outbox rows published.").inc(7);
  registry.gauge("crest_pool_size", "Connections in the pool.").set(0.25);
  registry.histogram("crest_batch_seconds", "Batch time.", {1}).observe(0.5);
  EXPECT_EQ(registry.render(),
            "# HELP crest_batch_seconds Batch time.\n"
            "# TYPE crest_batch_seconds histogram\n"
            "crest_batch_seconds_bucket{le=\"1\"} 1\n"
            "crest_batch_seconds_bucket{le=\"+Inf\"} 1\n"
            "crest_batch_seconds_sum 0.5\n"
            "crest_batch_seconds_count 1\n"
            "# HELP crest_pool_size Connections in the pool.\n"
            "# TYPE crest_pool_size gauge\n"
            "crest_pool_size 0.25\n"
            "# HELP crest_relay_published_total Outbox rows published.\n"
            "# TYPE crest_relay_published_total counter\n"
            "crest_relay_published_total 7\n");
}

TEST(RegistryRenderTest, EscapesLabelValuesAndHelp) {
  Registry registry;
  registry.counter_family("crest_errors_total", "Errors by \"kind\",\nwith a \\ in help.", {"msg"})
      .with({"path \"C:\\tmp\"\nline 2"})
      .inc();
  EXPECT_EQ(registry.render(),
            "# HELP crest_errors_total Errors by \"kind\",\\nwith a \\\\ in help.\n"
            "# TYPE crest_errors_total counter\n"
            "crest_errors_total{msg=\"path \\\"C:\\\\tmp\\\"\\nline 2\"} 1\n");
}

TEST(RegistryRenderTest, LabelledFamilyWithoutChildrenIsOmitted) {
  Registry registry;
  registry.counter_family("crest_unused_total", "Never used.", {"a"});
  EXPECT_EQ(registry.render(), "");
}

TEST(RegistryRenderTest, CallbacksAreReadAtScrapeTime) {
  Registry registry;
  double value = 1;
  registry.callback_gauge("crest_cache_entries", "Entries.", [&value] { return value; });
  registry.callback_counter("crest_evictions_total", "Evictions.", [] { return 12.0; });
  registry.callback_gauge("crest_missing", "Absent.",
                          []() -> std::optional<double> { return std::nullopt; });
  registry.callback_gauge("crest_broken", "Throws.", []() -> std::optional<double> {
    throw std::runtime_error("probe failed");
  });
  value = 42;
  EXPECT_EQ(registry.render(),
            "# HELP crest_cache_entries Entries.\n"
            "# TYPE crest_cache_entries gauge\n"
            "crest_cache_entries 42\n"
            "# HELP crest_evictions_total Evictions.\n"
            "# TYPE crest_evictions_total counter\n"
            "crest_evictions_total 12\n");
}

TEST(RegistryRenderTest, RenderToAppends) {
  Registry registry;
  registry.gauge("crest_x", "X.").set(1);
  std::string out = "prefix\n";
  registry.render_to(out);
  EXPECT_EQ(out, "prefix\n# HELP crest_x X.\n# TYPE crest_x gauge\ncrest_x 1\n");
}

TEST(CounterTest, DropsNegativeAndNaNIncrements) {
  Counter c;
  c.inc(-1);
  c.inc(std::numeric_limits<double>::quiet_NaN());
  c.inc(0.25);
  c.inc();
  EXPECT_DOUBLE_EQ(c.value(), 1.25);
}

TEST(HistogramTest, NaNIsDroppedAndNegativeGoesToFirstBucket) {
  const Buckets bounds{1, 2};
  Histogram h(bounds);
  h.observe(std::numeric_limits<double>::quiet_NaN());
  h.observe(-5);
  h.observe(1.5);
  h.observe(std::numeric_limits<double>::infinity());
  const auto snap = h.snapshot();
  EXPECT_EQ(snap.cumulative_counts, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(snap.count, 3U);
}

TEST(BucketsTest, Helpers) {
  const Buckets defaults = default_latency_buckets();
  EXPECT_EQ(defaults.size(), 14U);
  EXPECT_DOUBLE_EQ(defaults.front(), 0.0005);
  EXPECT_DOUBLE_EQ(defaults.back(), 10);
  EXPECT_TRUE(std::is_sorted(defaults.begin(), defaults.end()));
  EXPECT_EQ(exponential_buckets(1, 2, 4), (Buckets{1, 2, 4, 8}));
  EXPECT_EQ(linear_buckets(0.5, 0.5, 3), (Buckets{0.5, 1, 1.5}));
  EXPECT_THROW(exponential_buckets(0, 2, 3), std::invalid_argument);
  EXPECT_THROW(linear_buckets(1, 0, 3), std::invalid_argument);
}

TEST(RegistryConcurrencyTest, FourThreadsIncrementExactly) {
  Registry registry;
  auto& family = registry.counter_family("crest_hits_total", "Hits.", {"worker"});
  Counter& shared = registry.counter("crest_shared_total", "Shared.");
  Gauge& gauge = registry.gauge("crest_level", "Level.");
  Histogram& hist = registry.histogram("crest_work_seconds", "Work.", {0.5});
  constexpr int kThreads = 4;
  constexpr int kIncrements = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kIncrements; ++i) {
        shared.inc();
        // Lookups race with creation here: every thread must get the same child.
        family.with({i % 2 == 0 ? "even" : "odd"}).inc();
        gauge.inc(0.5);
        hist.observe(t % 2 == 0 ? 0.25 : 1.0);
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(shared.value(), kThreads * kIncrements);
  EXPECT_EQ(family.size(), 2U);
  EXPECT_EQ(family.with({"even"}).value(), kThreads * kIncrements / 2);
  EXPECT_EQ(family.with({"odd"}).value(), kThreads * kIncrements / 2);
  EXPECT_EQ(gauge.value(), kThreads * kIncrements * 0.5);
  const auto snap = hist.snapshot();
  EXPECT_EQ(snap.count, static_cast<std::uint64_t>(kThreads * kIncrements));
  EXPECT_EQ(snap.cumulative_counts[0], static_cast<std::uint64_t>(kThreads * kIncrements / 2));
  EXPECT_DOUBLE_EQ(snap.sum, kIncrements * 2 * 0.25 + kIncrements * 2 * 1.0);
}

TEST(RegistryConcurrencyTest, RenderWhileUpdating) {
  Registry registry;
  auto& family = registry.histogram_family("crest_op_seconds", "Op.", {"op"}, {0.1, 1});
  std::atomic<bool> rendering{false};
  std::atomic<bool> done{false};
  std::thread writer([&] {
    while (!rendering) {  // start once the renderer runs, so the two overlap on any scheduler
      std::this_thread::yield();
    }
    for (int i = 0; i < 20000; ++i) {
      family.with({std::to_string(i % 50)}).observe(0.05);
    }
    done = true;
  });
  do {
    const std::string text = registry.render();
    rendering = true;
    EXPECT_EQ(text.find("NaN"), std::string::npos);
  } while (!done);
  writer.join();
  EXPECT_THAT(registry.render(), HasSubstr("crest_op_seconds_count{op=\"49\"} 400\n"));
}

TEST(RegistryValidationTest, RejectsInvalidMetricNames) {
  Registry registry;
  EXPECT_INVALID(registry.gauge("", "h"), "invalid metric name");
  EXPECT_INVALID(registry.gauge("1abc", "h"), "'1abc': invalid metric name");
  EXPECT_INVALID(registry.gauge("crest-queue", "h"), "'crest-queue': invalid metric name");
  EXPECT_INVALID(registry.gauge("crest queue", "h"), "invalid metric name");
  EXPECT_INVALID(registry.gauge("crest_é", "h"), "invalid metric name");
  EXPECT_NO_THROW(registry.gauge("crest:recorded_rate", "h"));
  EXPECT_NO_THROW(registry.gauge("_Crest9", "h"));
}

TEST(RegistryValidationTest, RejectsInvalidLabelNames) {
  Registry registry;
  EXPECT_INVALID(registry.gauge_family("crest_a", "h", {"9lives"}), "invalid label name '9lives'");
  EXPECT_INVALID(registry.gauge_family("crest_a", "h", {"a:b"}), "invalid label name 'a:b'");
  EXPECT_INVALID(registry.gauge_family("crest_a", "h", {"__name__"}), "invalid label name");
  EXPECT_INVALID(registry.gauge_family("crest_a", "h", {"a", "a"}), "duplicate label name 'a'");
  EXPECT_INVALID(registry.histogram_family("crest_b", "h", {"le"}), "'le' is reserved");
  EXPECT_NO_THROW(registry.gauge_family("crest_c", "h", {"le", "_x1"}));
}

TEST(RegistryValidationTest, EnforcesPromtoolNamingRules) {
  Registry registry;
  EXPECT_INVALID(registry.counter("crest_requests", "h"), "must end in \"_total\"");
  EXPECT_INVALID(registry.gauge("crest_requests_total", "h"), "only counter names");
  EXPECT_INVALID(registry.histogram("crest_latency_total", "h"), "only counter names");
  EXPECT_INVALID(registry.gauge("crest_items_count", "h"), "reserved for histograms");
  EXPECT_INVALID(registry.gauge("crest_items", ""), "help text is required");
  EXPECT_INVALID(registry.callback_counter("crest_cb", "h", [] { return 1.0; }), "_total");
  EXPECT_INVALID(registry.gauge("crest_depth_gauge", "h"), "must not include their type 'gauge'");
  EXPECT_INVALID(registry.counter("crest_counter_hits_total", "h"), "type 'counter'");
  EXPECT_INVALID(registry.gauge("crest_queueDepth", "h"), "snake_case");
  EXPECT_INVALID(registry.gauge_family("crest_q", "h", {"queueName"}), "'queueName' must be");
  EXPECT_NO_THROW(registry.gauge("crest_counter_value", "h"));  // another type's name is fine
}

TEST(RegistryValidationTest, RejectsBadBuckets) {
  Registry registry;
  EXPECT_INVALID(registry.histogram("crest_h1", "h", {}), "at least one");
  EXPECT_INVALID(registry.histogram("crest_h2", "h", {1, 1}), "strictly increasing");
  EXPECT_INVALID(registry.histogram("crest_h3", "h", {2, 1}), "strictly increasing");
  EXPECT_INVALID(registry.histogram("crest_h4", "h", {std::numeric_limits<double>::quiet_NaN()}),
                 "finite");
  // A spelled-out +Inf is the implicit one.
  auto& with_inf =
      registry.histogram_family("crest_h5", "h", {}, {1, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(with_inf.buckets(), (Buckets{1}));
}

TEST(RegistryValidationTest, WrongNumberOfLabelValuesThrows) {
  Registry registry;
  auto& family = registry.counter_family("crest_x_total", "h", {"a", "b"});
  EXPECT_INVALID(family.with({"1"}), "expected 2 label values {a,b}, got 1");
  EXPECT_INVALID(family.with({"1", "2", "3"}), "got 3");
}

TEST(RegistryReRegistrationTest, SameShapeReturnsSameFamily) {
  Registry registry;
  auto& first = registry.counter_family("crest_x_total", "h", {"a"});
  auto& second = registry.counter_family("crest_x_total", "other help is ignored", {"a"});
  EXPECT_EQ(&first, &second);
  EXPECT_EQ(&first.with({"1"}), &second.with({"1"}));
  EXPECT_EQ(&registry.counter("crest_y_total", "h"), &registry.counter("crest_y_total", "h"));
  auto& h1 = registry.histogram_family("crest_h", "h", {"a"}, {1, 2});
  auto& h2 = registry.histogram_family("crest_h", "h", {"a"}, {1, 2});
  EXPECT_EQ(&h1, &h2);
}

TEST(RegistryReRegistrationTest, DifferentShapeThrowsNamingTheMetric) {
  Registry registry;
  registry.counter_family("crest_x_total", "h", {"a"});
  registry.gauge_family("crest_g", "h", {"a"});
  registry.histogram_family("crest_h", "h", {}, {1, 2});
  registry.callback_gauge("crest_cb", "h", [] { return 1.0; });
  EXPECT_INVALID(registry.counter_family("crest_x_total", "h", {"b"}),
                 "'crest_x_total': already registered with labels {a}, not {b}");
  EXPECT_INVALID(registry.counter_family("crest_x_total", "h", {}), "crest_x_total");
  EXPECT_INVALID(registry.histogram_family("crest_g", "h", {"a"}),
                 "'crest_g': already registered as a gauge");
  EXPECT_INVALID(registry.gauge("crest_h", "h"), "'crest_h': already registered as a histogram");
  EXPECT_INVALID(registry.histogram("crest_h", "h", {1, 3}), "different buckets");
  EXPECT_INVALID(registry.gauge("crest_cb", "h"), "'crest_cb': already registered");
  EXPECT_INVALID(registry.callback_gauge("crest_cb", "h", [] { return 2.0; }),
                 "'crest_cb': already registered");
  EXPECT_INVALID(registry.callback_gauge("crest_g", "h", [] { return 2.0; }), "crest_g");
}

TEST(RegistryLookupTest, AllWithOverloadsFindTheSameChild) {
  Registry registry;
  auto& family = registry.gauge_family("crest_g", "h", {"a", "b"});
  Gauge& from_list = family.with({"x", "y"});
  const std::vector<std::string> strings{"x", "y"};
  const std::vector<std::string_view> views{"x", "y"};
  EXPECT_EQ(&from_list, &family.with(strings));
  EXPECT_EQ(&from_list, &family.with(std::span<const std::string_view>(views)));
  EXPECT_EQ(family.size(), 1U);
  // Prefixes and longer tuples are different keys, not matches.
  EXPECT_NE(&from_list, &family.with({"x", "yz"}));
  EXPECT_NE(&from_list, &family.with({"", "xy"}));
  EXPECT_EQ(family.size(), 3U);
}

}  // namespace
}  // namespace crest::metrics
