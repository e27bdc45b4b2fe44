#include "crest/load/outputs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

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

// A recorded value is whatever the response held: bytes that are not UTF-8 are written as U+FFFD,
// never an exception at the end of the run.
TEST(Outputs, RecordedValuesThatAreNotUtf8AreReplaced) {
  auto plan = parse_plan(R"(target: http://127.0.0.1:1
journeys:
  - steps: [{name: a, request: {path: /a}, capture: [{name: v, regex: '(.*)', record: true}]}]
load: {executor: constant-vus, vus: 1, duration: 1s}
)",
                         "plan.yaml");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  RunResult run;
  run.totals = MetricSet(plan->step_names.size(), plan->journeys.size(), plan->groups.size(),
                         plan->check_names.size());
  run.elapsed_s = 1;
  run.recorded = {{"a", "v", {"ok", "bad\xff\xfe"}, 0}};
  std::string json;
  ASSERT_NO_THROW(json = format_json(*plan, run, {}));
  EXPECT_THAT(json, HasSubstr("\"bad\xef\xbf\xbd"));
  EXPECT_THAT(json, HasSubstr("\"ok\""));
}

TEST(Outputs, CsvHasWholeSecondsAndBusyAndAllocatedVus) {
  auto plan = parse_plan(R"(target: http://127.0.0.1:1
journeys: [{steps: [{name: a, request: {path: /a}}]}]
load: {executor: constant-arrival-rate, rate: 5, duration: 2s, pre_allocated_vus: 10, max_vus: 20}
)",
                         "plan.yaml");
  ASSERT_TRUE(plan.ok());
  RunResult run;
  run.totals = MetricSet(1, 1, 0, 0);
  for (const double t : {1.0213, 2.0402, 2.2}) {  // the aggregator's ticks: late by a few ms
    TimelinePoint p;
    p.t = t;
    p.active_vus = 2;
    p.allocated_vus = 10;
    p.requests = 5;
    p.step_requests = {5};
    p.step_failures = {0};
    p.step_histograms = {LatencyHistogram().serialise()};
    run.timeline.push_back(p);
  }
  const auto csv = format_csv(*plan, run);
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line.rfind("t_s,vus_busy,vus_allocated,requests,failures,dropped,", 0), 0u) << line;
  for (const char* second : {"1", "2", "3"}) {
    ASSERT_TRUE(std::getline(lines, line));
    EXPECT_EQ(line.rfind(std::string(second) + ",2,10,5,0,", 0), 0u) << line;
  }
}

}  // namespace
}  // namespace crest::load
