// The load model's parsing (plan_load.cpp): `scenarios:` and `load:` as its one-scenario
// shorthand, errors that name the scenario and the field, and tag thresholds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crest/load/plan.hpp"

namespace crest::load {
namespace {

using ::testing::HasSubstr;

constexpr const char* kHead = R"(target: http://127.0.0.1:9
journeys:
  - name: browse
    weight: 2
    steps: [{name: list, request: {path: "/p/{{ env.CLIENT }}"}, tags: {kind: web}}]
  - name: buy
    steps: [{name: pay, request: {method: POST, path: /pay}}]
)";

Result<Plan> parse(const std::string& rest, const PlanOverrides& o = {}) {
  return parse_plan(std::string(kHead) + rest, "plan.yaml", o);
}

std::string error_of(const std::string& rest, const PlanOverrides& o = {}) {
  auto p = parse(rest, o);
  return p.ok() ? "(parsed)" : p.error().message;
}

TEST(PlanScenarios, LoadIsTheOneDefaultScenarioOverEveryJourney) {
  auto p = parse("load: {executor: constant-vus, vus: 3, duration: 2s}\n");
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->scenarios.size(), 1u);
  EXPECT_EQ(p->scenarios[0].name, "default");
  EXPECT_EQ(p->scenarios[0].load.vus, 3);
  EXPECT_THAT(p->scenarios[0].journeys,
              ::testing::ElementsAre(std::pair<std::size_t, double>{0, 2},
                                     std::pair<std::size_t, double>{1, 1}));
  EXPECT_EQ(p->peak_vus(), 3);
}

TEST(PlanScenarios, EachScenarioHasItsExecutorJourneysStartTagsAndEnv) {
  auto p = parse(R"(scenarios:
  shoppers:
    executor: ramping-vus
    stages: [{duration: 2s, target: 4}]
    journeys: {buy: 3, browse: 1}
  api:
    executor: constant-arrival-rate
    rate: 5
    duration: 3s
    max_vus: 6
    start_time: 1s
    graceful_stop: 2s
    journeys: [browse]
    tags: {kind: api}
    env: {CLIENT: partner, UNUSED: x}
)");
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->scenarios.size(), 2u);
  const auto& shoppers = p->scenarios[0];
  const auto& api = p->scenarios[1];
  EXPECT_EQ(shoppers.load.executor, Executor::ramping_vus);
  EXPECT_THAT(shoppers.journeys, ::testing::ElementsAre(std::pair<std::size_t, double>{1, 3},
                                                        std::pair<std::size_t, double>{0, 1}));
  EXPECT_EQ(api.start_time, std::chrono::seconds(1));
  EXPECT_EQ(api.load.graceful_stop, std::chrono::seconds(2));
  EXPECT_THAT(api.tags, ::testing::ElementsAre(std::pair<std::string, std::string>{"kind", "api"}));
  ASSERT_EQ(api.env.size(), 1u);  // UNUSED: no template reads it
  EXPECT_EQ(api.env[0].second, "partner");
  EXPECT_EQ(api.first_vu, 4u);  // after shoppers' 4 VUs
  EXPECT_EQ(p->peak_vus(), 10);
  EXPECT_EQ(p->total_duration(), std::chrono::seconds(4));  // api ends at 1s + 3s
}

TEST(PlanScenarios, ErrorsNameTheScenarioAndTheField) {
  EXPECT_THAT(error_of("scenarios:\n  api: {executor: constant-vus, vus: 1, duration: 1s, rate: "
                       "3}\n"),
              HasSubstr("plan.yaml:9:"));
  EXPECT_THAT(error_of("scenarios:\n  api: {executor: constant-vus, vus: 1, duration: 1s, rate: "
                       "3}\n"),
              HasSubstr("scenarios.api: key 'rate' does not apply to executor constant-vus"));
  EXPECT_THAT(error_of("scenarios:\n  api: {executor: constant-vus, vus: 0, duration: 1s}\n"),
              HasSubstr("expected scenarios.api.vus to be an integer >= 1"));
  EXPECT_THAT(error_of("scenarios:\n  api: {executor: constant-vus, duration: 1s}\n"),
              HasSubstr("scenarios.api: missing 'vus' for executor constant-vus"));
  EXPECT_THAT(error_of("scenarios:\n  api: {vus: 1, duration: 1s, journeys: [nope]}\n"),
              HasSubstr("scenarios.api.journeys: no journey is named 'nope'"));
  EXPECT_THAT(error_of("scenarios:\n  api: {vus: 1, duration: 1s, start_time: soon}\n"),
              HasSubstr("scenarios.api.start_time"));
  EXPECT_THAT(error_of("scenarios:\n  api: {vus: 1, duration: 1s, threads: 2}\n"),
              HasSubstr("'threads' in scenarios.api is run-wide"));
  EXPECT_THAT(error_of("scenarios:\n  api: {vus: 1, duration: 1s, journeys: {buy: 0}}\n"),
              HasSubstr("scenarios.api.journeys: the weights add up to 0"));
  EXPECT_THAT(error_of("scenarios:\n  api: {vus: 1, duration: 1s, tags: {scenario: x}}\n"),
              HasSubstr("scenarios.api.tags: 'scenario' is a built-in tag"));
  EXPECT_THAT(error_of("load: {vus: 1, duration: 1s}\nscenarios:\n  a: {vus: 1, duration: 1s}\n"),
              HasSubstr("either load: (one scenario) or scenarios:"));
  EXPECT_THAT(error_of("scenarios: {}\n"), HasSubstr("non-empty mapping"));
  EXPECT_THAT(error_of("journey: x\n"), HasSubstr("unknown key 'journey'"));
}

TEST(PlanScenarios, ThresholdTagsMustExistAndNotBeAmbiguous) {
  const std::string scenarios =
      "scenarios:\n  api: {vus: 1, duration: 1s, tags: {kind: api, tier: gold}}\n"
      "  web: {vus: 1, duration: 1s, tags: {kind: web}}\n";
  EXPECT_TRUE(
      parse(scenarios + "thresholds:\n  \"http_reqs{scenario:api}\": [\"count > 1\"]\n").ok());
  EXPECT_TRUE(
      parse(scenarios + "thresholds:\n  \"iterations{tier:gold}\": [\"count > 1\"]\n").ok());
  EXPECT_THAT(
      error_of(scenarios + "thresholds:\n  \"http_reqs{scenario:nope}\": [\"count > 1\"]\n"),
      HasSubstr("threshold names scenario 'nope'"));
  // kind:web is set by a step and by a scenario: which samples it means would be a guess.
  EXPECT_THAT(error_of(scenarios + "thresholds:\n  \"http_reqs{kind:web}\": [\"count > 1\"]\n"),
              HasSubstr("set both by steps and by scenarios"));
  EXPECT_THAT(error_of(scenarios + "thresholds:\n  \"http_reqs{kind:zzz}\": [\"count > 1\"]\n"),
              HasSubstr("which no step or scenario sets"));
}

TEST(PlanScenarios, OverridesApplyToEachScenarioOrAreRefused) {
  const std::string scenarios =
      "scenarios:\n  a: {vus: 1, duration: 9s}\n"
      "  b: {executor: ramping-vus, stages: [{duration: 4s, target: 2}]}\n";
  PlanOverrides shorter;
  shorter.duration = std::chrono::seconds(1);
  auto p = parse(scenarios, shorter);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->scenarios[0].load.duration, std::chrono::seconds(1));
  EXPECT_EQ(p->scenarios[1].load.total_duration(), std::chrono::seconds(4));  // stages keep theirs
  PlanOverrides vus;
  vus.vus = 3;
  EXPECT_THAT(error_of(scenarios, vus), HasSubstr("--vus does not apply to a plan with scenarios"));
  PlanOverrides iterations;
  iterations.iterations = 3;
  EXPECT_THAT(error_of(scenarios, iterations), HasSubstr("--iterations does not apply"));
}

}  // namespace
}  // namespace crest::load
