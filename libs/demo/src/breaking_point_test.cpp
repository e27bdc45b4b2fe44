#include "crest/demo/breaking_point.hpp"

#include <gtest/gtest.h>

namespace crest::demo {
namespace {

// A system that holds up to `capacity` iterations/s and degrades past it.
StepRunner system_with_capacity(double capacity, std::vector<double>* asked) {
  return [capacity, asked](double rate) -> Result<StepMeasurement> {
    asked->push_back(rate);
    StepMeasurement m;
    m.iterations = static_cast<std::uint64_t>(rate * 10);
    m.requests = m.iterations * 5;
    m.p99_ms = rate <= capacity ? 120 : 900;
    return m;
  };
}

TEST(BreakingPoint, StepsUpUntilTheSloBreaksThenBisects) {
  std::vector<double> asked;
  BreakingPointSearch search;
  search.start_rate = 4;
  search.growth = 2;
  search.refine_steps = 1;
  auto found = find_breaking_point(search, system_with_capacity(20, &asked));
  ASSERT_TRUE(found.ok());
  // 4, 8, 16 hold; 32 breaks; then sqrt(16*32) ~ 22.6 breaks.
  ASSERT_EQ(asked.size(), 5u);
  EXPECT_DOUBLE_EQ(asked[3], 32);
  EXPECT_NEAR(asked[4], 22.63, 0.01);
  EXPECT_DOUBLE_EQ(*found->highest_held, 16);
  EXPECT_NEAR(*found->lowest_broken, 22.63, 0.01);
  EXPECT_FALSE(found->is_lower_bound());
  EXPECT_EQ(found->steps[3].why, "p99 900 ms >= 500 ms");
}

TEST(BreakingPoint, StepsDownWhenTheFirstRateAlreadyBreaks) {
  std::vector<double> asked;
  BreakingPointSearch search;
  search.start_rate = 40;
  search.growth = 2;
  search.refine_steps = 0;
  auto found = find_breaking_point(search, system_with_capacity(12, &asked));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(asked, (std::vector<double>{40, 20, 10}));
  EXPECT_DOUBLE_EQ(*found->highest_held, 10);
  EXPECT_DOUBLE_EQ(*found->lowest_broken, 20);
}

TEST(BreakingPoint, ACeilingThatNeverBreaksIsALowerBound) {
  std::vector<double> asked;
  BreakingPointSearch search;
  search.start_rate = 5;
  search.growth = 2;
  search.max_rate = 30;
  auto found = find_breaking_point(search, system_with_capacity(1000, &asked));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(asked, (std::vector<double>{5, 10, 20, 30}));
  EXPECT_TRUE(found->is_lower_bound());
  EXPECT_DOUBLE_EQ(*found->highest_held, 30);
}

TEST(BreakingPoint, ErrorsAndDroppedArrivalsBreakTheSloToo) {
  BreakingPointSearch search;
  std::string why;
  StepMeasurement m;
  m.requests = 1000;
  m.iterations = 200;
  m.p99_ms = 100;
  EXPECT_TRUE(step_held(search, m, why));
  m.failures = 10;  // exactly 1 %: not below the SLO
  EXPECT_FALSE(step_held(search, m, why));
  EXPECT_EQ(why, "errors 1.00 % >= 1 %");
  m.failures = 0;
  m.dropped = 20;
  EXPECT_FALSE(step_held(search, m, why));
  EXPECT_NE(why.find("dropped"), std::string::npos);
  m = {};
  EXPECT_FALSE(step_held(search, m, why));
  EXPECT_EQ(why, "no request completed");
}

TEST(BreakingPoint, AStepErrorStopsTheSearch) {
  int calls = 0;
  auto found = find_breaking_point({}, [&](double) -> Result<StepMeasurement> {
    ++calls;
    return Error{ErrorKind::unavailable, "interrupted"};
  });
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().message, "interrupted");
  EXPECT_EQ(calls, 1);
}

TEST(BreakingPoint, NonsenseSettingsAreRefused) {
  BreakingPointSearch search;
  search.growth = 1;
  auto found = find_breaking_point(
      search, [](double) -> Result<StepMeasurement> { return StepMeasurement{}; });
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().kind, ErrorKind::invalid_argument);
}

}  // namespace
}  // namespace crest::demo
