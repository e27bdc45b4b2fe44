// Behaviour cases from the HPA documentation ("Configurable scaling behavior") and Kubernetes'
// horizontal.go semantics, each named after what it checks.
#include "crest/autoscale/scaling_behavior.hpp"

#include <gtest/gtest.h>

namespace crest::autoscale {
namespace {

using Time = ScalingHistory::Time;
using std::chrono::seconds;

const Time t0{std::chrono::hours(100)};

ScalingRules rules(int window, SelectPolicy select, std::vector<ScalingPolicy> policies) {
  return ScalingRules{window, select, std::move(policies)};
}
ScalingPolicy pods(int n, int period) {
  return {ScalingPolicyType::pods, n, period};
}
ScalingPolicy percent(int p, int period) {
  return {ScalingPolicyType::percent, p, period};
}

struct Step {
  int at_seconds;
  int current;
  int proposal;
  int expected;
  std::string reason;
};

struct Case {
  std::string name;
  ScalingRules up;
  ScalingRules down;
  int min_replicas;
  int max_replicas;
  std::vector<Step> steps;  // applied in order; a change is recorded as a scale event
};

const ScalingRules no_window_down =
    rules(0, SelectPolicy::max, {percent(100, 15)});  // default scale-down without the window

const std::vector<Case>& cases() {
  static const std::vector<Case> table = {
      {"default scale-up adds 4 pods when that beats doubling",
       default_scale_up_rules(),
       default_scale_down_rules(),
       1,
       100,
       {{0, 1, 20, 5, "ScaleUpLimit"}}},
      {"default scale-up doubles when that beats 4 pods",
       default_scale_up_rules(),
       default_scale_down_rules(),
       1,
       100,
       {{0, 10, 50, 20, "ScaleUpLimit"}}},
      {"selectPolicy Min takes the policy allowing the smaller change",
       rules(0, SelectPolicy::min, {pods(4, 15), percent(100, 15)}),
       default_scale_down_rules(),
       1,
       100,
       {{0, 10, 50, 14, "ScaleUpLimit"}}},
      {"selectPolicy Disabled never scales up",
       rules(0, SelectPolicy::disabled, {pods(4, 15)}),
       default_scale_down_rules(),
       1,
       100,
       {{0, 10, 50, 10, "ScaleUpLimit"}}},
      {"docs: Percent 900 grows 1 -> 10 -> 100, once per period",
       rules(0, SelectPolicy::max, {percent(900, 60)}),
       default_scale_down_rules(),
       1,
       1000,
       {{0, 1, 1000, 10, "ScaleUpLimit"},
        {30, 10, 1000, 10, "ScaleUpLimit"},  // the period's growth is spent
        {61, 10, 1000, 100, "ScaleUpLimit"}}},
      {"maxReplicas caps a scale-up the policies allow",
       default_scale_up_rules(),
       default_scale_down_rules(),
       1,
       8,
       {{0, 5, 100, 8, "TooManyReplicas"}}},
      {"docs: scale-down Pods 4 / Percent 10 per 60 s with Max removes 8 of 80",
       default_scale_up_rules(),
       rules(0, SelectPolicy::max, {pods(4, 60), percent(10, 60)}),
       1,
       100,
       {{0, 80, 10, 72, "ScaleDownLimit"}}},
      {"docs: the same with selectPolicy Min removes 4 of 80",
       default_scale_up_rules(),
       rules(0, SelectPolicy::min, {pods(4, 60), percent(10, 60)}),
       1,
       100,
       {{0, 80, 10, 76, "ScaleDownLimit"}}},
      {"docs: 10 % a minute from 10 rounds the count down to 9, then waits a period",
       default_scale_up_rules(),
       rules(0, SelectPolicy::max, {percent(10, 60)}),
       1,
       100,
       {{0, 10, 1, 9, "ScaleDownLimit"},
        {30, 9, 1, 9, "ScaleDownLimit"},
        {61, 9, 1, 8, "ScaleDownLimit"}}},
      {"selectPolicy Disabled never scales down",
       default_scale_up_rules(),
       rules(0, SelectPolicy::disabled, {percent(100, 15)}),
       1,
       100,
       {{0, 10, 1, 10, "ScaleDownLimit"}}},
      {"minReplicas floors a scale-down",
       default_scale_up_rules(),
       no_window_down,
       3,
       100,
       {{0, 5, 1, 3, "TooFewReplicas"}}},
      {"scale-down stabilisation holds the highest proposal of the last 300 s",
       default_scale_up_rules(),
       default_scale_down_rules(),
       1,
       100,
       {{0, 10, 10, 10, "DesiredWithinRange"},
        {60, 10, 5, 10, "ScaleDownStabilized"},
        {120, 10, 7, 10, "ScaleDownStabilized"},
        {301, 10, 5, 7, "ScaleDownStabilized"},  // 0 s has left the window, 120 s has not
        {421, 7, 5, 5, "DesiredWithinRange"}}},
      {"a freshly started controller does not scale down before one window",
       default_scale_up_rules(),
       default_scale_down_rules(),
       1,
       100,
       {{0, 6, 2, 6, "ScaleDownStabilized"}, {301, 6, 2, 2, "DesiredWithinRange"}}},
      {"scale-up stabilisation takes the lowest proposal of its window",
       rules(60, SelectPolicy::max, {pods(100, 15)}),
       no_window_down,
       1,
       100,
       {{0, 5, 5, 5, "DesiredWithinRange"},
        {30, 5, 12, 5, "ScaleUpStabilized"},
        {61, 5, 12, 12, "DesiredWithinRange"}}},
      {"scale-down with no window follows the proposal at once",
       default_scale_up_rules(),
       no_window_down,
       1,
       100,
       {{0, 10, 4, 4, "DesiredWithinRange"}}},
  };
  return table;
}

class ScalingBehaviorTable : public ::testing::TestWithParam<Case> {};

TEST_P(ScalingBehaviorTable, NormalizesEachStep) {
  const Case& c = GetParam();
  ScalingHistory history;
  for (const auto& step : c.steps) {
    const Time now = t0 + seconds(step.at_seconds);
    const auto got = history.normalize(now, step.current, step.proposal, c.min_replicas,
                                       c.max_replicas, c.up, c.down);
    EXPECT_EQ(got.replicas, step.expected) << c.name << " at " << step.at_seconds << " s";
    EXPECT_EQ(got.reason, step.reason) << c.name << " at " << step.at_seconds << " s";
    history.record_scale(now, step.current, got.replicas);
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string out = std::to_string(info.index);
  for (char ch : info.param.name.substr(0, 40)) {
    out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Documentation, ScalingBehaviorTable, ::testing::ValuesIn(cases()),
                         case_name);

TEST(ScalingBehavior, ScaleEventsOutsideThePeriodNoLongerCount) {
  ScalingHistory history;
  const auto up = rules(0, SelectPolicy::max, {pods(2, 15)});
  history.record_scale(t0, 4, 6);
  EXPECT_EQ(history.scale_up_limit(t0 + seconds(10), 6, up), 6);  // 4 at the period's start
  EXPECT_EQ(history.scale_up_limit(t0 + seconds(16), 6, up), 8);
}

}  // namespace
}  // namespace crest::autoscale
