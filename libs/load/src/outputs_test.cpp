#include "crest/load/outputs.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

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

// The recorded values are written by hand: any byte a response held comes back from a JSON
// parser as it was (bytes that are not UTF-8 as U+FFFD), never an exception at the end of the
// run; a recorded capture that took no value has an empty list.
TEST(Outputs, RecordedValuesAreValidJsonWhateverTheyHold) {
  auto plan = parse_plan(R"(target: http://127.0.0.1:1
journeys:
  - steps:
      - name: a "quoted" step
        request: {path: /a}
        capture: [{name: v, regex: '(.*)', record: true}, {name: w, json: $.w, record: true}]
      - {name: b, request: {path: /b}, capture: [{name: x, json: $.x, record: true}]}
load: {executor: constant-vus, vus: 1, duration: 1s}
)",
                         "plan.yaml");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  RunResult run;
  run.totals = MetricSet(plan->step_names.size(), plan->journeys.size(), plan->groups.size(),
                         plan->check_names.size());
  run.elapsed_s = 1;
  const std::vector<std::string> odd = {"ok",          "",        "q\"uote",    "back\\slash",
                                        "new\nline\t", "ctl\x01", "caf\xc3\xa9"};
  run.recorded = {{"a \"quoted\" step", "v", odd, 3}, {"b", "x", {"1", "2"}, 0}};
  std::string text;
  ASSERT_NO_THROW(text = format_json(*plan, run, {}));
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << text;
  const auto& v = doc["recorded"]["a \"quoted\" step"]["v"];
  EXPECT_EQ(v["values"].get<std::vector<std::string>>(), odd);
  EXPECT_EQ(v["count"], odd.size());
  EXPECT_EQ(v["not_kept"], 3);
  const auto& w = doc["recorded"]["a \"quoted\" step"]["w"];
  EXPECT_TRUE(w["values"].empty());
  EXPECT_EQ(w["count"], 0);
  EXPECT_EQ(doc["recorded"]["b"]["x"]["values"], nlohmann::json({"1", "2"}));
  EXPECT_EQ(doc["recorded_limit"], kDefaultRecordLimit);
  EXPECT_EQ(doc["elapsed_s"], 1);  // the rest of the document is intact

  run.recorded = {{"b", "x", {"ok", "bad\xff\xfe"}, 0}};
  ASSERT_NO_THROW(text = format_json(*plan, run, {}));
  const auto replaced = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(replaced.is_discarded()) << text;
  EXPECT_EQ(replaced["recorded"]["b"]["x"]["values"][1], "bad\xef\xbf\xbd\xef\xbf\xbd");
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
