#include "crest/demo/verdict.hpp"

#include <gtest/gtest.h>

namespace crest::demo {
namespace {

// A search that held at `held` rates and broke at `broken` ones.
BreakingPoint search(std::vector<double> held, std::vector<double> broken) {
  BreakingPoint bp;
  for (double r : held) {
    StepOutcome s;
    s.rate = r;
    s.held = true;
    bp.steps.push_back(s);
    bp.highest_held = std::max(bp.highest_held.value_or(0), r);
  }
  for (double r : broken) {
    StepOutcome s;
    s.rate = r;
    s.why = "p99 900 ms >= 500 ms";
    bp.steps.push_back(s);
    bp.lowest_broken = std::min(bp.lowest_broken.value_or(r), r);
  }
  return bp;
}

using Kind = CapacityComparison::Kind;

TEST(Capacity, TwoBreakingPointsGiveARatio) {
  const auto c = compare_capacity(search({20, 32}, {51}), search({80, 128}, {205}));
  EXPECT_EQ(c.kind, Kind::ratio);
  EXPECT_DOUBLE_EQ(c.value, 4);
  EXPECT_EQ(c.text.rfind("x4.00 the baseline's", 0), 0u) << c.text;
}

TEST(Capacity, AScaledLowerBoundIsAtLeastNeverARatio) {
  const auto c = compare_capacity(search({20}, {32}), search({80, 128, 205}, {}));
  EXPECT_EQ(c.kind, Kind::at_least);
  EXPECT_NEAR(c.value, 205.0 / 20, 1e-9);
  EXPECT_EQ(c.text.rfind(">= x10.25", 0), 0u) << c.text;
}

// What the last demo printed as "capacity x0.39": a baseline bound against a scaled point.
TEST(Capacity, ABaselineLowerBoundIsNotMeasured) {
  const auto c = compare_capacity(search({4, 6.4, 10.2, 16.4}, {}), search({4, 6.4}, {8.1, 10.2}));
  EXPECT_EQ(c.kind, Kind::not_measured);
  EXPECT_NE(c.text.find("baseline held up to the highest rate tried"), std::string::npos);
  Verdict v;
  v.profiles.push_back({"baseline", {}, search({4, 6.4, 10.2, 16.4}, {}), {}, ""});
  v.profiles.push_back({"scaled", {}, search({4, 6.4}, {8.1, 10.2}), {}, ""});
  EXPECT_FALSE(v.capacity_ratio().has_value());
  const auto j = v.to_json();
  EXPECT_TRUE(j["capacity_ratio"].is_null());
  EXPECT_EQ(j["capacity"]["kind"], "not_measured");
  EXPECT_NE(j["headline"].get<std::string>().find("capacity not measured"), std::string::npos);
  EXPECT_EQ(j["headline"].get<std::string>().find("x0."), std::string::npos);
}

TEST(Capacity, ABaselineThatNeverHeldBoundsTheRatioFromBelow) {
  const auto c = compare_capacity(search({}, {10}), search({40}, {60}));
  EXPECT_EQ(c.kind, Kind::at_least);
  EXPECT_DOUBLE_EQ(c.value, 4);
  EXPECT_EQ(compare_capacity(search({10}, {20}), search({}, {5})).kind, Kind::not_measured);
  EXPECT_EQ(compare_capacity(std::nullopt, search({10}, {20})).kind, Kind::not_measured);
}

TEST(Capacity, EfficiencyIsReadAtTheHighestRateThatHeld) {
  auto bp = search({20, 32}, {51});
  EXPECT_FALSE(efficiency_at_breaking_point(bp).has_value());  // CPU unknown
  bp.steps[1].measured.cpu_seconds = 8;
  bp.steps[1].measured.elapsed_s = 10;
  bp.steps[1].measured.iterations = 320;
  const auto e = efficiency_at_breaking_point(bp);
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->rate, 32);
  EXPECT_DOUBLE_EQ(e->cpu_cores, 0.8);
  EXPECT_DOUBLE_EQ(e->journeys_per_cpu_second, 40);
}

}  // namespace
}  // namespace crest::demo
