#include "crest/load/threshold.hpp"

#include <gtest/gtest.h>

namespace crest::load {
namespace {

TEST(Thresholds, ParseConditions) {
  auto c = parse_threshold_condition("p(99.9) <= 1.5s");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->aggregate, "p");
  EXPECT_DOUBLE_EQ(c->percentile, 99.9);
  EXPECT_EQ(c->op, "<=");
  EXPECT_DOUBLE_EQ(c->value, 1500);
  EXPECT_FALSE(parse_threshold_condition("p(101) < 1s").ok());
  EXPECT_FALSE(parse_threshold_condition("avg = 3").ok());
  EXPECT_FALSE(parse_threshold_condition("rate < x").ok());
  auto k = parse_threshold_key("http_req_duration{journey:shop}");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->tag_key, "journey");
  EXPECT_TRUE(parse_threshold_key("http_req_duration{kind:api}").ok());  // a step's own tag
  EXPECT_FALSE(parse_threshold_key("http_req_duration{colour}").ok());
  EXPECT_FALSE(parse_threshold_key("group_duration").ok());
}

TEST(Thresholds, MetricNamesRoundTrip) {
  for (auto metric : {ThresholdMetric::http_req_duration, ThresholdMetric::checks,
                      ThresholdMetric::dropped_iterations, ThresholdMetric::group_duration}) {
    EXPECT_EQ(threshold_metric_from(to_string(metric)), metric);
  }
  EXPECT_FALSE(threshold_metric_from("latency").has_value());
  auto key = parse_threshold_key("http_reqs{step:login}");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->metric, ThresholdMetric::http_reqs);
}

TEST(Thresholds, ConditionMustSuitTheMetric) {
  Threshold duration;
  duration.metric = ThresholdMetric::http_req_duration;
  Threshold failed;
  failed.metric = ThresholdMetric::http_req_failed;
  Threshold count;
  count.metric = ThresholdMetric::iterations;
  const auto rate = parse_threshold_condition("rate < 0.01");
  const auto p99 = parse_threshold_condition("p(99) < 1s");
  ASSERT_TRUE(rate.ok() && p99.ok());
  EXPECT_NE(condition_mismatch(duration, *rate), "");
  EXPECT_EQ(condition_mismatch(duration, *p99), "");
  EXPECT_EQ(condition_mismatch(failed, *rate), "");
  EXPECT_NE(condition_mismatch(failed, *p99), "");
  EXPECT_EQ(condition_mismatch(count, *rate), "");
  EXPECT_NE(condition_mismatch(count, *p99), "");
}

}  // namespace
}  // namespace crest::load
