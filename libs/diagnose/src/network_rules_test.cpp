// The balancer's time beyond the service's own (lb_added_response_seconds) and the rule that names
// the network between the load balancer and a service.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

#include "crest/diagnose/diagnosis.hpp"
#include "synthetic_series.hpp"

namespace crest::diagnose {
namespace {

using ::testing::HasSubstr;
using testing::Shape;
using testing::synthetic;
using testing::synthetic_counter;

constexpr double kOnset = 1200;

// A quiet platform whose client-side latency rises at kOnset, with the balancer's average per
// backend and each service's own mean (and its 10-minute highest) flat unless a test says so.
Inputs platform(const Shape& catalog_lb, const Shape& catalog_own, const Shape& catalog_own_max) {
  Inputs in;
  in.series.push_back(
      synthetic("load_p99_ms", {{"component", "load"}}, {25, 0.1, 70, kOnset}, 1000, 300, 1));
  unsigned seed = 10;
  for (const std::string service : {"users", "catalog", "cart", "orders"}) {
    const bool catalog = service == "catalog";
    in.series.push_back(synthetic_counter("container_cpu_usage_seconds_total",
                                          {{"container", service}, {"pod", service + "-1"}},
                                          {0.2, 0.1, 0.2, 1e18}, 1000, 300, ++seed));
    in.series.push_back(synthetic(
        "haproxy_backend_response_time_average_seconds", {{"job", "haproxy"}, {"proxy", service}},
        catalog ? catalog_lb : Shape{0.004, 0.05, 0.004, 1e18}, 1000, 300, ++seed));
    in.series.push_back(synthetic(kOwnMeanSeries, {{"service", service}},
                                  catalog ? catalog_own : Shape{0.003, 0.1, 0.003, 1e18}, 1000, 300,
                                  ++seed));
    in.series.push_back(synthetic(kOwnMeanMaxSeries, {{"service", service}},
                                  catalog ? catalog_own_max : Shape{0.005, 0.01, 0.005, 1e18}, 1000,
                                  300, ++seed));
  }
  return in;
}

const Cause* cause_of(const Diagnosis& d, const std::string& mechanism) {
  const auto it = std::find_if(d.causes.begin(), d.causes.end(),
                               [&](const Cause& c) { return c.mechanism == mechanism; });
  return it == d.causes.end() ? nullptr : &*it;
}

TEST(NetworkRule, TheBalancersTimeRisingAloneIsTheNetworkToThatService) {
  // +30 ms at the balancer for catalog; catalog's own time stays at 2 ms.
  auto d = diagnose(platform({0.0025, 0.05, 0.0325, kOnset}, {0.002, 0.1, 0.002, 1e18},
                             {0.003, 0.01, 0.003, 1e18}));
  ASSERT_TRUE(d.has_window);
  ASSERT_FALSE(d.causes.empty()) << format_text(d);
  const auto& c = d.causes.front();
  EXPECT_EQ(c.component, "catalog");
  EXPECT_EQ(c.mechanism, "network_latency");
  EXPECT_THAT(c.title, HasSubstr("network between the load balancer and catalog: +30 ms per "
                                 "request seen at the balancer"));
  EXPECT_THAT(c.title, HasSubstr("catalog's own handling unchanged (2.0 ms -> 2.0 ms)"));
  EXPECT_GT(c.confidence, 0.6);
  EXPECT_EQ(d.components.front().component, "catalog");
  EXPECT_THAT(d.components.front().top_series, HasSubstr("lb_added_response_seconds"));
}

TEST(NetworkRule, AServiceThatSlowsItselfIsNotTheNetwork) {
  // The balancer's average follows catalog's own slowdown: never above its highest recent mean.
  auto d = diagnose(platform({0.0025, 0.05, 0.0325, kOnset}, {0.002, 0.1, 0.033, kOnset},
                             {0.003, 0.01, 0.034, kOnset}));
  EXPECT_EQ(cause_of(d, "network_latency"), nullptr) << format_text(d);
  for (const auto& s : d.series) {
    if (s.name == kLbAddedSeries) {
      EXPECT_LT(*std::max_element(s.v.begin(), s.v.end()), 0.002) << s.display_name();
    }
  }
}

TEST(NetworkRule, TheAddedTimeIsTheBalancersAverageAboveTheOwnHighest) {
  std::vector<Series> series = {
      {"haproxy_backend_response_time_average_seconds",
       {{"proxy", "catalog"}},
       {1, 2, 3},
       {0.002, 0.030, 0.050},
       "p"},
      {kOwnMeanMaxSeries, {{"service", "catalog"}}, {1, 2, 3}, {0.003, 0.004, 0.060}, "p"},
      {kOwnMeanMaxSeries, {{"service", "cart"}}, {1, 2, 3}, {0.003, 0.004, 0.005}, "p"},
  };
  add_derived_series(series);
  const auto added = std::find_if(series.begin(), series.end(),
                                  [](const Series& s) { return s.name == kLbAddedSeries; });
  ASSERT_NE(added, series.end());
  EXPECT_EQ(added->label("service"), "catalog");
  ASSERT_EQ(added->v.size(), 3u);
  EXPECT_DOUBLE_EQ(added->v[0], 0);
  EXPECT_NEAR(added->v[1], 0.026, 1e-9);
  EXPECT_DOUBLE_EQ(added->v[2], 0);  // the service's own time explains it
  EXPECT_EQ(std::count_if(series.begin(), series.end(),
                          [](const Series& s) { return s.name == kLbAddedSeries; }),
            1);  // cart has no balancer series
  // The inputs alone are not scored: each moves with any slowdown of the service.
  EXPECT_TRUE(classify(series[0]).skipped);
  EXPECT_TRUE(classify(series[1]).skipped);
  EXPECT_EQ(classify(*added).signal, Signal::lb_added_latency);
  EXPECT_EQ(classify(*added).component, "catalog");
}

}  // namespace
}  // namespace crest::diagnose
