#include "crest/demo/demo_plan.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include <yaml-cpp/yaml.h>

#include "crest/load/plan.hpp"

namespace crest::demo {
namespace {

#ifndef CREST_SOURCE_DIR
#define CREST_SOURCE_DIR "."
#endif
const std::string kPeakPlan = std::string(CREST_SOURCE_DIR) + "/examples/demo/peak.yaml";

TEST(DemoPlan, ScalesRatesAndDurationsAndNamesThePhases) {
  auto scaled = scale_peak_plan(kPeakPlan, 2, 0.5);
  ASSERT_TRUE(scaled.ok()) << scaled.error().message;
  // peak.yaml: 10 s warm-up to 20/s, 30 s at 20/s, 5+20 s spike at 80/s, 5+20 s recovery at 20/s.
  EXPECT_DOUBLE_EQ(scaled->duration_s, 45);
  EXPECT_DOUBLE_EQ(scaled->sustained_rate, 40);
  EXPECT_DOUBLE_EQ(scaled->spike_rate, 160);
  ASSERT_EQ(scaled->phases.size(), 4u);
  EXPECT_EQ(scaled->phases[1].name, "sustained");
  EXPECT_DOUBLE_EQ(scaled->phases[1].from_s, 5);
  EXPECT_DOUBLE_EQ(scaled->phases[1].to_s, 20);
  EXPECT_EQ(scaled->phases[2].name, "spike");
  EXPECT_DOUBLE_EQ(scaled->phases[2].to_s, 32.5);
  EXPECT_EQ(scaled->phases[3].name, "recovery");
  // The written plan is one the engine accepts, with the users file made absolute.
  auto plan = load::parse_plan(scaled->yaml, "scaled.yaml");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_NE(scaled->yaml.find(std::string(CREST_SOURCE_DIR)), std::string::npos);
}

TEST(DemoPlan, TheConstantRatePlanKeepsTheJourneys) {
  auto text = constant_rate_plan(kPeakPlan, 300);
  ASSERT_TRUE(text.ok()) << text.error().message;
  auto plan = load::parse_plan(*text, "step.yaml");
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->journeys.size(), 4u);
  EXPECT_EQ(text->find("thresholds"), std::string::npos);
}

// The buyer buys what the last product_id capture before "add to cart" picked. Always the first
// result of six price-sorted searches meant six products: the cheapest tent (seeded stock 54) sold
// out within one quick demo and every later checkout of it answered 409, read as an SLO breach.
TEST(DemoPlan, BuyersSpreadTheirPurchasesOverTheSearchResults) {
  const YAML::Node plan = YAML::LoadFile(kPeakPlan);
  std::string path, match;
  std::function<bool(const YAML::Node&)> walk = [&](const YAML::Node& steps) {
    for (const auto& step : steps) {
      if (step["steps"] && walk(step["steps"])) return true;
      if (step["name"] && step["name"].as<std::string>() == "add to cart") return true;
      for (const auto& capture : step["capture"]) {
        if (capture["name"].as<std::string>() != "product_id") continue;
        path = capture["json"].as<std::string>();
        match = capture["match"] ? capture["match"].as<std::string>() : "first";
      }
    }
    return false;
  };
  bool found_buyer = false;
  for (const auto& journey : plan["journeys"]) {
    if (journey["name"].as<std::string>() != "buyer") continue;
    found_buyer = true;
    ASSERT_TRUE(walk(journey["steps"]));
  }
  ASSERT_TRUE(found_buyer);
  EXPECT_EQ(path, "$.items[*].id");
  EXPECT_EQ(match, "random");
}

TEST(DemoPlan, APlanWithoutASpikeIsRefused) {
  const auto path = std::filesystem::temp_directory_path() / "crest-demo-flat.yaml";
  std::ofstream(path) << "load:\n  executor: ramping-arrival-rate\n  stages:\n"
                         "    - {duration: 5s, target: 5}\n    - {duration: 5s, target: 5}\n"
                         "    - {duration: 5s, target: 5}\n";
  auto scaled = scale_peak_plan(path.string(), 1, 1);
  ASSERT_FALSE(scaled.ok());
  EXPECT_NE(scaled.error().message.find(path.string()), std::string::npos);
  EXPECT_FALSE(scale_peak_plan("/nonexistent/peak.yaml", 1, 1).ok());
}

TEST(DemoPlan, TheSearchStartsWhereThePeakLastHeld) {
  BreakingPointSearch search;
  search.start_rate = 4;
  search.growth = 1.6;
  search.max_rate = 300;
  // Sustained 20/s held, the 80/s spike broke: start at 20, not at 4.
  EXPECT_DOUBLE_EQ(calibrated_start_rate(search, {{20, true}, {80, false}, {20, true}}), 20);
  EXPECT_DOUBLE_EQ(calibrated_start_rate(search, {{20, true}, {80, true}, {20, true}}), 80);
  EXPECT_DOUBLE_EQ(calibrated_start_rate(search, {{20, false}, {80, false}}), 12.5);
  EXPECT_DOUBLE_EQ(calibrated_start_rate(search, {}), 4);
  EXPECT_DOUBLE_EQ(calibrated_start_rate(search, {{500, true}}), 300);
}

TEST(DemoPlan, VariantsGetShorterTowardsTheTest) {
  const auto test = settings_for(DemoMode::test, 2);
  const auto quick = settings_for(DemoMode::quick, 2);
  const auto full = settings_for(DemoMode::full, 2);
  EXPECT_LT(test.time_factor, quick.time_factor);
  EXPECT_LT(quick.time_factor, full.time_factor);
  EXPECT_EQ(test.faults.size(), 6u);
  EXPECT_DOUBLE_EQ(settings_for(DemoMode::quick, 8).rate_factor, 4);
}

// Each fault's diagnosis window holds a normal before its onset that no other fault touches, long
// enough to be what `crest diagnose` takes as the normal (the first quarter, at least ten
// samples), and the steady load outlasts the last recovery.
TEST(DemoPlan, EachFaultsDiagnosisWindowHoldsOnlyItsOwnFaultAfterAQuietSpell) {
  for (const auto mode : {DemoMode::test, DemoMode::quick, DemoMode::full}) {
    SCOPED_TRACE(to_string(mode));
    const auto settings = settings_for(mode, 2);
    const auto timeline = fault_timeline(settings, settings.faults.size(), 3);
    ASSERT_EQ(timeline.slots.size(), settings.faults.size());
    for (std::size_t i = 0; i < timeline.slots.size(); ++i) {
      const auto& slot = timeline.slots[i];
      EXPECT_DOUBLE_EQ(slot.to_s - slot.from_s, settings.fault_seconds);
      EXPECT_DOUBLE_EQ(slot.recovered_s - slot.to_s, settings.recovery_seconds);
      const double normal = slot.from_s - slot.quiet_from_s;
      const double window = slot.recovered_s - slot.quiet_from_s;
      EXPECT_GE(normal, kDiagnosisNormalSamples);
      EXPECT_GE(normal, window / 4);
      for (std::size_t j = 0; j < timeline.slots.size(); ++j) {
        if (j == i) continue;
        const auto& other = timeline.slots[j];
        // No part of another fault or its recovery falls inside this window.
        EXPECT_TRUE(other.recovered_s <= slot.quiet_from_s || other.from_s >= slot.recovered_s)
            << "fault " << j << " overlaps the window of fault " << i;
      }
    }
    EXPECT_GT(timeline.duration_s, timeline.slots.back().recovered_s);
    EXPECT_DOUBLE_EQ(timeline.slots.front().quiet_from_s, 3);
  }
}

}  // namespace
}  // namespace crest::demo
