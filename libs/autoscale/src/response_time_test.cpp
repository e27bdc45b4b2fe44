#include "crest/autoscale/response_time.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

namespace crest::autoscale {
namespace {

using std::chrono::milliseconds;

TEST(ResponseTime, BreachDecisionServingFromTheLog) {
  std::istringstream log(
      R"({"ts":"2026-11-30T09:00:00.000Z","kind":"decision","service":"catalog","current":2,"desired":2,"reason":"DesiredWithinRange","metrics":[{"metric":"cpu","value":50,"target":60}]}
{"ts":"2026-11-30T09:00:05.000Z","kind":"decision","service":"catalog","current":2,"desired":2,"reason":"ScaleUpStabilized","metrics":[{"metric":"cpu","value":95,"target":60}]}
{"ts":"2026-11-30T09:00:10.250Z","kind":"decision","service":"catalog","current":2,"desired":4,"reason":"ScaleUpLimit","metrics":[{"metric":"cpu","value":120,"target":60}]}
{"ts":"2026-11-30T09:00:10.300Z","kind":"pod","service":"catalog","instance":"catalog-3","transition":"pending"}
{"ts":"2026-11-30T09:00:10.400Z","kind":"node","node":"node-3","transition":"requested"}
{"ts":"2026-11-30T09:00:10.500Z","kind":"stack","state":"ready","startup_seconds":12.5}
{"ts":"2026-11-30T09:00:12.000Z","kind":"pod","service":"catalog","instance":"catalog-4","transition":"serving"}
{"ts":"2026-11-30T09:00:15.000Z","kind":"decision","service":"catalog","current":4,"desired":4,"reason":"DesiredWithinRange","metrics":[{"metric":"cpu","value":58,"target":60}]}
{"ts":"2026-11-30T09:00:40.750Z","kind":"pod","service":"catalog","instance":"catalog-3","transition":"serving"}
{"ts":"2026-11-30T09:01:00.000Z","kind":"decision","service":"worker","current":1,"desired":3,"reason":"ScaleUpLimit","metrics":[{"metric":"external/q","value":60,"target":20}]}
)");
  auto got = autoscaling_response_times(log, "events.jsonl");
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), 2U);
  const auto& catalog = (*got)[0];
  EXPECT_EQ(catalog.service, "catalog");
  EXPECT_EQ(catalog.from_replicas, 2);
  EXPECT_EQ(catalog.to_replicas, 4);
  EXPECT_EQ(catalog.breach_to_decision(), milliseconds(5250));
  ASSERT_TRUE(catalog.decision_to_serving());
  EXPECT_EQ(*catalog.decision_to_serving(), milliseconds(30500));  // the last of the two
  EXPECT_EQ(*catalog.breach_to_serving(), milliseconds(35750));
  EXPECT_TRUE(catalog.node_provisioned);
  const auto& worker = (*got)[1];
  EXPECT_EQ(worker.service, "worker");
  EXPECT_EQ(worker.breach_to_decision(), milliseconds(0));
  EXPECT_FALSE(worker.serving);  // never served: reported as incomplete
  EXPECT_FALSE(worker.node_provisioned);
}

TEST(ResponseTime, NamesTheBadLine) {
  std::istringstream log(
      "{\"ts\":\"2026-11-30T09:00:00Z\",\"kind\":\"pod\",\"service\":\"a\"}\n"
      "{\"ts\":\"yesterday\",\"kind\":\"pod\",\"service\":\"a\"}\n");
  auto got = autoscaling_response_times(log, "events.jsonl");
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.error().message, ::testing::HasSubstr("events.jsonl:2: ts 'yesterday'"));
  std::istringstream truncated("{\"ts\":\"2026-11-30T09:00:00Z\",\"kind\":\"po");
  auto bad = autoscaling_response_times(truncated, "t.jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, ::testing::HasSubstr("t.jsonl:1: not a JSON object"));
}

TEST(ResponseTime, ParsesRfc3339) {
  const auto t = parse_rfc3339("2026-11-30T09:00:00.042Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::duration_cast<milliseconds>(t->time_since_epoch()).count(),
            1'796'029'200'042LL);
  EXPECT_FALSE(parse_rfc3339("2026-11-30T09:00:00+01:00"));
  EXPECT_FALSE(parse_rfc3339("2026-11-30"));
}

}  // namespace
}  // namespace crest::autoscale
