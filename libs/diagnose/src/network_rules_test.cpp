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

// What HAProxy exports for a backend taking `rate` requests a second, each lasting `before`
// seconds until `change_at` and `after` from then on: its sliding average over the last 512
// requests (haproxy_backend_response_time_average_seconds) and its response counter.
std::vector<Series> balancer(const std::string& backend, double before, double after,
                             double change_at, double rate = 10) {
  Series average{"haproxy_backend_response_time_average_seconds",
                 {{"job", "haproxy"}, {"proxy", backend}},
                 {},
                 {},
                 "synthetic"};
  Series responses{"haproxy_backend_http_responses_total",
                   {{"job", "haproxy"}, {"proxy", backend}, {"code", "2xx"}},
                   {},
                   {},
                   "synthetic"};
  double mean = before, count = 0;
  for (int i = 0; i < 300; ++i) {
    const double t = 1000 + i;
    for (int r = 0; r < rate; ++r) {
      // Each request a little off the typical time, as real ones are.
      const double x = (t >= change_at ? after : before) * (1 + 0.1 * ((r % 3) - 1));
      mean += (x - mean) / 512;
    }
    count += rate;
    average.t.push_back(t);
    average.v.push_back(mean);
    responses.t.push_back(t);
    responses.v.push_back(count);
  }
  return {average, responses};
}

// A quiet platform whose client-side latency rises at kOnset; each backend's requests take
// `catalog_at_lb` (catalog) or 4 ms at the balancer, and each service's own mean is flat unless a
// test says so.
Inputs platform(std::pair<double, double> catalog_at_lb, const Shape& catalog_own) {
  Inputs in;
  in.series.push_back(
      synthetic("load_p99_ms", {{"component", "load"}}, {25, 0.1, 70, kOnset}, 1000, 300, 1));
  unsigned seed = 10;
  for (const std::string service : {"users", "catalog", "cart", "orders"}) {
    const bool catalog = service == "catalog";
    in.series.push_back(synthetic_counter("container_cpu_usage_seconds_total",
                                          {{"container", service}, {"pod", service + "-1"}},
                                          {0.2, 0.1, 0.2, 1e18}, 1000, 300, ++seed));
    for (auto& s : catalog ? balancer(service, catalog_at_lb.first, catalog_at_lb.second, kOnset)
                           : balancer(service, 0.004, 0.004, 1e18)) {
      in.series.push_back(std::move(s));
    }
    in.series.push_back(synthetic(kOwnMeanSeries, {{"service", service}},
                                  catalog ? catalog_own : Shape{0.003, 0.1, 0.003, 1e18}, 1000, 300,
                                  ++seed));
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
  auto d = diagnose(platform({0.0025, 0.0325}, {0.002, 0.1, 0.002, 1e18}));
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

TEST(NetworkRule, TheServicesSlowStartLongBeforeDoesNotHideIt) {
  // catalog's first requests took 18 ms (a cold start, minutes before); +40 ms at the balancer
  // later is still all added (live, a 10-minute highest of the own mean hid three quarters of it).
  auto d = diagnose(platform({0.002, 0.042}, {0.018, 0, 0.0006, 1010}));
  const auto* c = cause_of(d, "network_latency");
  ASSERT_NE(c, nullptr) << format_text(d);
  EXPECT_EQ(c->component, "catalog");
  EXPECT_THAT(c->title, HasSubstr("+41 ms per request"));
}

TEST(NetworkRule, AServiceThatSlowsItselfIsNotTheNetwork) {
  // The balancer's average follows catalog's own slowdown: never above its highest recent mean.
  auto d = diagnose(platform({0.003, 0.034}, {0.002, 0.1, 0.033, kOnset}));
  EXPECT_EQ(cause_of(d, "network_latency"), nullptr) << format_text(d);
  for (const auto& s : d.series) {
    if (s.name == kLbAddedSeries) {
      EXPECT_LT(*std::max_element(s.v.begin(), s.v.end()), 0.002) << s.display_name();
    }
  }
}

TEST(NetworkRule, RecoversTheTimePerRequestFromTheBalancersSlidingAverage) {
  // 10 requests a second: 3 ms each, then 43 ms from t=1150 on.
  auto series = balancer("catalog", 0.003, 0.043, 1150);
  series.push_back(synthetic(kOwnMeanSeries, {{"service", "catalog"}}, {0.004, 0, 0.004, 1e18}));
  series.push_back(synthetic(kOwnMeanSeries, {{"service", "cart"}}, {0.004, 0, 0.004, 1e18}));
  add_derived_series(series);
  const auto named = [&](const char* name) {
    return std::find_if(series.begin(), series.end(),
                        [&](const Series& s) { return s.name == name; });
  };
  const auto per_request = named(kLbRequestSeries);
  const auto added = named(kLbAddedSeries);
  ASSERT_NE(per_request, series.end());
  ASSERT_NE(added, series.end());
  EXPECT_EQ(added->label("service"), "catalog");
  // The first value needs 100 requests behind it: 10 s at 10 a second.
  EXPECT_DOUBLE_EQ(per_request->t.front(), 1010);
  const auto at = [](const Series& s, double t) {
    return s.v[static_cast<std::size_t>(std::find(s.t.begin(), s.t.end(), t) - s.t.begin())];
  };
  EXPECT_NEAR(at(*per_request, 1100), 0.003, 0.0005);
  EXPECT_NEAR(at(*per_request, 1200), 0.043, 0.0005);
  EXPECT_DOUBLE_EQ(at(*added, 1100), 0);                 // 3 ms < 2 x 4 ms
  EXPECT_NEAR(at(*added, 1200), 0.043 - 0.008, 0.0005);  // beyond twice the own highest
  EXPECT_EQ(std::count_if(series.begin(), series.end(),
                          [](const Series& s) { return s.name == kLbAddedSeries; }),
            1);  // cart has no balancer series
  // The inputs alone are not scored: each moves with any slowdown of the service.
  for (const char* input :
       {"haproxy_backend_response_time_average_seconds", kOwnMeanSeries, kLbRequestSeries}) {
    EXPECT_TRUE(classify(*named(input)).skipped) << input;
  }
  EXPECT_EQ(classify(*added).signal, Signal::lb_added_latency);
  EXPECT_EQ(classify(*added).component, "catalog");
}

TEST(NetworkRule, TheServicesOwnRiseMayComeAFewSecondsAfterTheBalancers) {
  // The balancer sees 43 ms from t=1150; the service's own mean (a rate over 15 s) shows it at
  // t=1160 only.
  auto series = balancer("cart", 0.003, 0.043, 1150);
  series.push_back(synthetic(kOwnMeanSeries, {{"service", "cart"}}, {0.004, 0, 0.045, 1160}));
  add_derived_series(series);
  const auto added = std::find_if(series.begin(), series.end(),
                                  [](const Series& s) { return s.name == kLbAddedSeries; });
  ASSERT_NE(added, series.end());
  EXPECT_DOUBLE_EQ(*std::max_element(added->v.begin(), added->v.end()), 0);
}

}  // namespace
}  // namespace crest::diagnose
