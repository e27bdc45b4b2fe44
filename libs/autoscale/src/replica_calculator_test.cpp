// Cases from Kubernetes' pkg/controller/podautoscaler/replica_calculator_test.go (named after
// the Go test they come from, values in base units instead of milli-units) and the HPA
// documentation, plus a few of our own, each named after what it checks.
#include "crest/autoscale/replica_calculator.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace crest::autoscale {
namespace {

constexpr auto R = PodReadiness::ready;
constexpr auto S = PodReadiness::started;
constexpr auto P = PodReadiness::pending;

enum class Kind { utilization, average_value, external_value, external_average_value };

struct Case {
  std::string name;
  Kind kind;
  int current;
  std::vector<PodReadiness> readiness;  // one per pod
  std::vector<std::optional<double>> values;
  std::vector<double> requests;  // empty: 1.0 each
  double target;
  bool cpu = true;  // set aside started-but-unready pods
  // External metrics.
  int ready_pods = 0;
  double external = 0;
  // Expected.
  std::optional<int> replicas;  // empty: an error
  std::optional<double> usage = std::nullopt;
};

std::vector<PodSample> pods_of(const Case& c) {
  std::vector<PodSample> pods;
  for (std::size_t i = 0; i < c.readiness.size(); ++i) {
    PodSample pod;
    pod.name = "pod-" + std::to_string(i);
    pod.readiness = c.readiness[i];
    pod.value = i < c.values.size() ? c.values[i] : std::nullopt;
    pod.request = c.requests.empty() ? 1.0 : c.requests[i];
    pods.push_back(pod);
  }
  return pods;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> table = {
      // --- Resource utilisation (cpu) ---
      {"ScaleUp: ceil(3 pods x 50%/30%) = 5",
       Kind::utilization,
       3,
       {R, R, R},
       {0.3, 0.5, 0.7},
       {},
       30,
       true,
       0,
       0,
       5,
       50},
      {"ScaleUpUnreadyLessScale: an unready pod counts as 0 % on a scale-up",
       Kind::utilization,
       3,
       {S, R, R},
       {0.3, 0.5, 0.7},
       {},
       30,
       true,
       0,
       0,
       4,
       60},
      {"ScaleUpUnreadyNoScale: no scale-up if unready pods at 0 % would reverse it",
       Kind::utilization,
       3,
       {R, S, S},
       {0.4, 0.5, 0.7},
       {},
       30,
       true,
       0,
       0,
       3,
       40},
      {"ScaleDown: ceil(5 x 28%/50%) = 3, utilisation in whole percent",
       Kind::utilization,
       5,
       {R, R, R, R, R},
       {0.1, 0.3, 0.5, 0.25, 0.25},
       {},
       50,
       true,
       0,
       0,
       3,
       28},
      {"ScaleDownIncludeUnreadyPods: unready pods are left out on a scale-down",
       Kind::utilization,
       5,
       {R, R, R, S, S},
       {0.1, 0.3, 0.5, 0.25, 0.25},
       {},
       50,
       true,
       0,
       0,
       2,
       30},
      {"ScaleDownExcludeUnscheduledPods: pending pods are left out",
       Kind::utilization,
       5,
       {R, P, P, P, P},
       {0.1},
       {},
       50,
       true,
       0,
       0,
       1,
       10},
      {"Tolerance: 102 % of target is within 0.1",
       Kind::utilization,
       3,
       {R, R, R},
       {1.01, 1.03, 1.02},
       {0.9, 1.0, 1.1},
       100,
       true,
       0,
       0,
       3,
       102},
      {"MissingMetrics: missing pods count as 100 % on a scale-down",
       Kind::utilization,
       4,
       {R, R, R, R},
       {0.4, 0.095},
       {},
       100,
       true,
       0,
       0,
       3,
       24},
      {"MissingMetricsNoChangeEq: at target, missing pods change nothing",
       Kind::utilization,
       2,
       {R, R},
       {1.0},
       {},
       100,
       true,
       0,
       0,
       2,
       100},
      {"MissingMetricsNoChangeGt: missing pod at 0 % brings 190 % back within tolerance",
       Kind::utilization,
       2,
       {R, R},
       {1.9},
       {},
       100,
       true,
       0,
       0,
       2,
       190},
      {"MissingMetricsNoChangeLt: missing pod at 100 % keeps 2",
       Kind::utilization,
       2,
       {R, R},
       {0.6},
       {},
       100,
       true,
       0,
       0,
       2,
       60},
      {"MissingMetricsUnreadyChange: filling in would reverse a scale-down",
       Kind::utilization,
       3,
       {S, R, R},
       {0.1, 0.45},
       {},
       50,
       true,
       0,
       0,
       3,
       45},
      {"MissingMetricsUnreadyScaleUp: missing and unready both at 0 % on a scale-up",
       Kind::utilization,
       3,
       {S, R, R},
       {0.1, 2.0},
       {},
       50,
       true,
       0,
       0,
       4,
       200},
      {"MissingMetricsUnreadyScaleDown: unready left out, missing at 100 %",
       Kind::utilization,
       4,
       {S, R, R, R},
       {0.1, 0.1, 0.1},
       {},
       50,
       true,
       0,
       0,
       3,
       10},
      {"DuringRollingUpdateWithMaxSurge: more pods than replicas cannot scale up a scale-down",
       Kind::utilization,
       2,
       {R, R, R},
       {0.1, 0.1},
       {},
       50,
       true,
       0,
       0,
       2,
       10},
      {"target above 100 %: a missing pod counts at the target, not 100 %, on a scale-down",
       Kind::utilization,
       3,
       {R, R, R},
       {0.1, 0.1},
       {},
       200,
       true,
       0,
       0,
       2,
       10},
      {"memory: a started pod's value counts (only cpu sets unready pods aside)",
       Kind::utilization,
       3,
       {R, R, S},
       {1.6, 1.6, 1.6},
       {},
       80,
       false,
       0,
       0,
       6,
       160},
      {"EmptyMetrics: no values at all is an error",
       Kind::utilization,
       4,
       {R, R, R},
       {},
       {},
       100,
       true,
       0,
       0,
       std::nullopt},
      {"EmptyCPURequest: a pod without a request is an error",
       Kind::utilization,
       1,
       {R},
       {0.2},
       {0.0},
       100,
       true,
       0,
       0,
       std::nullopt},
      {"no pods is an error", Kind::utilization, 0, {}, {}, {}, 50, true, 0, 0, std::nullopt},
      // --- Pods metrics (average value) ---
      {"ScaleUpCM: ceil(3 x 20/15) = 4",
       Kind::average_value,
       3,
       {R, R, R},
       {20, 10, 30},
       {},
       15,
       false,
       0,
       0,
       4,
       20},
      {"ScaleUpCMUnreadyHotCpuNoLessScale: pods metrics count started pods",
       Kind::average_value,
       3,
       {R, R, S},
       {50, 10, 30},
       {},
       15,
       false,
       0,
       0,
       6,
       30},
      {"ScaleUpCMUnreadyHotCpuScaleWouldScaleDown: average in milli-units, ceil(6.33) = 7",
       Kind::average_value,
       3,
       {R, S, S},
       {50, 15, 30},
       {},
       15,
       false,
       0,
       0,
       7,
       31.666},
      {"ScaleDownCM: ceil(5 x 12/20) = 3",
       Kind::average_value,
       5,
       {R, R, R, R, R},
       {12, 12, 12, 12, 12},
       {},
       20,
       false,
       0,
       0,
       3,
       12},
      {"ToleranceCM: 20.666 against 20 is within 0.1",
       Kind::average_value,
       3,
       {R, R, R},
       {20, 21, 21},
       {},
       20,
       false,
       0,
       0,
       3,
       20.666},
      {"latency p95: a missing pod counts as the target on a scale-down",
       Kind::average_value,
       3,
       {R, R, R},
       {0.1, 0.1},
       {},
       0.25,
       false,
       0,
       0,
       2,
       0.1},
      {"latency p95: a missing pod counts as 0 on a scale-up",
       Kind::average_value,
       3,
       {R, R, R},
       {0.5, 0.5},
       {},
       0.25,
       false,
       0,
       0,
       4,
       0.5},
      {"latency p95: a pending pod counts as 0 on a scale-up",
       Kind::average_value,
       3,
       {R, R, P},
       {0.5, 0.5},
       {},
       0.25,
       false,
       0,
       0,
       4,
       0.5},
      // --- External metrics ---
      {"ScaleUpCMExternal: value 8.6 against 4.4 on 1 ready pod = 2",
       Kind::external_value,
       1,
       {},
       {},
       {},
       4.4,
       false,
       1,
       8.6,
       2,
       8.6},
      {"ScaleUpCMExternalIgnoresUnreadyPods: the ratio applies to ready pods only",
       Kind::external_value,
       3,
       {},
       {},
       {},
       4.4,
       false,
       1,
       8.6,
       2,
       8.6},
      {"ScaleDownCMExternal: ceil(5 x 8.6/14.334) = 3",
       Kind::external_value,
       5,
       {},
       {},
       {},
       14.334,
       false,
       5,
       8.6,
       3,
       8.6},
      {"ToleranceCMExternal: 8.6 against 8.888 is within 0.1",
       Kind::external_value,
       3,
       {},
       {},
       {},
       8.888,
       false,
       3,
       8.6,
       3,
       8.6},
      {"ScaleUpPerPodCMExternal: ceil(8.6 / 2.15 per pod) = 4",
       Kind::external_average_value,
       3,
       {},
       {},
       {},
       2.15,
       false,
       0,
       8.6,
       4,
       2.867},
      {"ScaleDownPerPodCMExternal: ceil(8.6 / 2.867 per pod) = 3",
       Kind::external_average_value,
       5,
       {},
       {},
       {},
       2.867,
       false,
       0,
       8.6,
       3,
       1.72},
      {"TolerancePerPodCMExternal: 2.867 per pod against 2.9 is within 0.1",
       Kind::external_average_value,
       3,
       {},
       {},
       {},
       2.9,
       false,
       0,
       8.6,
       3,
       2.867},
      {"order queue: 100 visible messages at 20 per worker = 5 workers",
       Kind::external_average_value,
       2,
       {},
       {},
       {},
       20,
       false,
       0,
       100,
       5,
       50},
  };
  return table;
}

class ReplicaCalculatorTable : public ::testing::TestWithParam<Case> {};

TEST_P(ReplicaCalculatorTable, ProposesTheExpectedReplicas) {
  const Case& c = GetParam();
  Result<ReplicaProposal> got = Error{};
  switch (c.kind) {
    case Kind::utilization:
      got = utilization_replicas(c.current, pods_of(c), c.target, c.cpu);
      break;
    case Kind::average_value:
      got = average_value_replicas(c.current, pods_of(c), c.target, c.cpu);
      break;
    case Kind::external_value:
      got = external_value_replicas(c.current, c.ready_pods, c.external, c.target);
      break;
    case Kind::external_average_value:
      got = external_average_value_replicas(c.current, c.external, c.target);
      break;
  }
  if (!c.replicas) {
    EXPECT_FALSE(got.ok()) << c.name << ": expected an error, got " << got->replicas;
    return;
  }
  ASSERT_TRUE(got.ok()) << c.name << ": " << got.error().message;
  EXPECT_EQ(got->replicas, *c.replicas) << c.name;
  if (c.usage) {
    EXPECT_NEAR(got->usage, *c.usage, 0.001) << c.name;
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string out = std::to_string(info.index) + "_";
  for (char ch : info.param.name.substr(0, info.param.name.find(':'))) {
    out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Kubernetes, ReplicaCalculatorTable, ::testing::ValuesIn(cases()),
                         case_name);

TEST(ReplicaCalculator, ToleranceIsAnOption) {
  const std::vector<PodSample> pods = {{"a", R, 0.54, 1.0}, {"b", R, 0.54, 1.0}};
  // 54 % against 50 % is within the default 0.1, not within 0.05.
  EXPECT_EQ(utilization_replicas(2, pods, 50, true)->replicas, 2);
  EXPECT_EQ(utilization_replicas(2, pods, 50, true, CalculatorOptions{0.05})->replicas, 3);
}

}  // namespace
}  // namespace crest::autoscale
