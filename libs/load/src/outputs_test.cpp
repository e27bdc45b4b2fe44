#include "crest/load/outputs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace crest::load {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Outputs, ACheckWithoutSamplesSaysSo) {
  auto plan = parse_plan(R"(target: http://127.0.0.1:1
journeys:
  - steps:
      - {name: a, request: {path: /a}, check: {status: 200}}
      - {name: b, request: {path: /b}, check: {body_contains: never}}
load: {executor: constant-vus, vus: 1, duration: 1s}
)",
                         "plan.yaml");
  ASSERT_TRUE(plan.ok());
  RunResult run;
  run.totals = MetricSet(plan->step_names.size(), plan->journeys.size(), plan->groups.size(),
                         plan->check_names.size());
  run.totals.checks[0] = {3, 0};  // step a's check ran; step b's never did
  run.elapsed_s = 1;
  run.seed = 77;
  const auto summary = format_summary(*plan, run, {});
  EXPECT_THAT(summary, HasSubstr("no samples"));
  EXPECT_THAT(summary, Not(HasSubstr("✓ b: body contains")));
  EXPECT_THAT(summary, HasSubstr("seed........: 77"));
  EXPECT_THAT(format_json(*plan, run, {}), HasSubstr("\"stop_reason\": \"completed\""));
}

}  // namespace
}  // namespace crest::load
