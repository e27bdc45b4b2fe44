#include "crest/chaos/scenario.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace crest::chaos {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

TEST(Scenario, ParsesAPlanWithTimedFaultsInTimeOrder) {
  auto s = parse_scenario(R"(
plan: ../plans/storefront.yaml
duration: 2m
faults:
  - at: 60s
    fault: redis-stop
    for: 10s
  - at: 30s
    fault: cpu-hog
    target: catalog
    for: 20s
    parameters: {workers: 2}
  - at: 45s
    fault: replica-lag
)",
                          "examples/chaos/s.yaml");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->plan->string(), "examples/chaos/../plans/storefront.yaml");
  EXPECT_EQ(s->duration, "2m");
  ASSERT_EQ(s->faults.size(), 3u);
  EXPECT_EQ(s->faults[0].spec.fault, "cpu-hog");
  EXPECT_EQ(s->faults[0].at, milliseconds(30'000));
  EXPECT_EQ(s->faults[0].spec.duration, std::chrono::seconds(20));
  EXPECT_EQ(s->faults[0].spec.target, "catalog");
  EXPECT_EQ(s->faults[0].spec.parameters.at("workers"), "2");
  EXPECT_EQ(s->faults[0].line, 8);
  const auto steps = scenario_timeline(*s);
  // cpu-hog 30 s, replica-lag 45 s, cpu-hog ends 50 s, redis-stop 60 s and ends 70 s; the
  // replica lag lasts until the load ends.
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_EQ(steps[2].at, milliseconds(50'000));
  EXPECT_FALSE(steps[2].start);
  EXPECT_EQ(steps[4].at, milliseconds(70'000));
}

TEST(Scenario, EndsComeBeforeStartsAtTheSameInstant) {
  auto s = parse_scenario(R"(
faults:
  - {at: 0s, fault: redis-stop, for: 10s}
  - {at: 10s, fault: redis-slow, for: 10s}
)",
                          "s.yaml");
  ASSERT_TRUE(s.ok()) << s.error().message;
  const auto steps = scenario_timeline(*s);
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_FALSE(steps[1].start);
  EXPECT_EQ(steps[1].fault_index, 0u);
  EXPECT_TRUE(steps[2].start);
}

TEST(Scenario, BadInputNamesTheFileLineAndKey) {
  auto unknown = parse_scenario(
      "plan: p.yaml\nfaults:\n  - at: 1s\n    fault: cpu-hog\n    "
      "duration: 5s\n",
      "s.yaml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("s.yaml:5: duration: unknown key"));
  auto fault = parse_scenario("plan: p.yaml\nfaults:\n  - {at: 1s, fault: meltdown}\n", "s.yaml");
  ASSERT_FALSE(fault.ok());
  EXPECT_THAT(fault.error().message, HasSubstr("s.yaml:3: unknown fault 'meltdown'"));
  auto time = parse_scenario("plan: p.yaml\nfaults:\n  - {at: soon, fault: cpu-hog}\n", "s.yaml");
  ASSERT_FALSE(time.ok());
  EXPECT_THAT(time.error().message, HasSubstr("s.yaml:3: at"));
  auto endless = parse_scenario("faults:\n  - {at: 1s, fault: cpu-hog}\n", "s.yaml");
  ASSERT_FALSE(endless.ok());
  EXPECT_THAT(endless.error().message, HasSubstr("needs `for`"));
  auto top = parse_scenario("plan: p.yaml\nfault: x\n", "s.yaml");
  ASSERT_FALSE(top.ok());
  EXPECT_THAT(top.error().message, HasSubstr("s.yaml:2: fault: unknown key"));
  auto broken = parse_scenario("faults: [\n", "s.yaml");
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.error().message, HasSubstr("s.yaml:"));
}

TEST(Scenario, TheExampleParses) {
  auto s = load_scenario(std::filesystem::path(CREST_REPO_ROOT) / "examples" / "chaos" /
                         "cpu-hog-during-steady-load.yaml");
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_TRUE(s->plan.has_value());
  EXPECT_TRUE(std::filesystem::exists(*s->plan)) << s->plan->string();
  EXPECT_FALSE(s->faults.empty());
}

}  // namespace
}  // namespace crest::chaos
