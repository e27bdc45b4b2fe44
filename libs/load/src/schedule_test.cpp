#include "crest/load/schedule.hpp"

#include <gtest/gtest.h>

namespace crest::load {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

double s(Duration d) {
  return static_cast<double>(d.count()) / 1e9;
}

TEST(ArrivalSchedule, ConstantRateIsEvenlySpaced) {
  const auto a = ArrivalSchedule::constant(10, seconds(2));
  ASSERT_TRUE(a.time_of(0).has_value());
  EXPECT_NEAR(s(*a.time_of(0)), 0.0, 1e-9);
  EXPECT_NEAR(s(*a.time_of(1)), 0.1, 1e-9);
  EXPECT_NEAR(s(*a.time_of(19)), 1.9, 1e-9);
  EXPECT_FALSE(a.time_of(20).has_value());  // exactly 20 arrivals in 2 s
  EXPECT_EQ(a.count_until(seconds(2)), 20u);
  EXPECT_EQ(a.count_until(milliseconds(950)), 10u);
}

TEST(ArrivalSchedule, TimeUnitAndSpecs) {
  LoadSpec spec;
  spec.executor = Executor::constant_arrival_rate;
  spec.rate = 30;
  spec.time_unit = std::chrono::minutes(1);
  spec.duration = seconds(10);
  const auto a = ArrivalSchedule::from(spec);
  EXPECT_EQ(a.count_until(seconds(10)), 5u);  // 0.5/s for 10 s
  EXPECT_NEAR(s(*a.time_of(1)), 2.0, 1e-9);
}

TEST(ArrivalSchedule, LinearRampMatchesTheIntegral) {
  // 0 -> 100/s over 10 s: A(t) = 5 t^2, 500 arrivals in all.
  const auto a = ArrivalSchedule::ramping(0, {Stage{seconds(10), 100}});
  EXPECT_EQ(a.count_until(seconds(10)), 500u);
  for (std::uint64_t i : {1u, 20u, 125u, 320u, 499u}) {
    const double expected = std::sqrt(static_cast<double>(i) / 5);
    EXPECT_NEAR(s(*a.time_of(i)), expected, 1e-6) << i;
  }
  EXPECT_FALSE(a.time_of(500).has_value());
  // Monotonic.
  double last = -1;
  for (std::uint64_t i = 0; i < 500; ++i) {
    const double t = s(*a.time_of(i));
    EXPECT_GE(t, last);
    last = t;
  }
}

TEST(ArrivalSchedule, StagesWithSpikeAndHold) {
  // 10/s held 2 s, spike to 100/s over 1 s, hold 100/s 1 s, back to 0 over 2 s.
  const auto a = ArrivalSchedule::ramping(10, {Stage{seconds(2), 10}, Stage{seconds(1), 100},
                                               Stage{seconds(1), 100}, Stage{seconds(2), 0}});
  EXPECT_EQ(a.count_until(seconds(2)), 21u);  // 20 by t=2 plus the one due exactly at 2 s
  const double total = 20 + 55 + 100 + 100;
  EXPECT_EQ(a.count_until(seconds(6)), static_cast<std::uint64_t>(total));
  EXPECT_NEAR(s(*a.time_of(20)), 2.0, 1e-6);
  EXPECT_NEAR(s(*a.time_of(75)), 3.0, 1e-6);
  EXPECT_NEAR(s(*a.time_of(125)), 3.5, 1e-6);
  EXPECT_DOUBLE_EQ(a.rate_at(milliseconds(2500)), 55);
  EXPECT_EQ(a.total(), seconds(6));
}

TEST(ArrivalSchedule, ZeroRateStageHasNoArrivals) {
  const auto a = ArrivalSchedule::ramping(0, {Stage{seconds(1), 0}, Stage{seconds(1), 10}});
  ASSERT_TRUE(a.time_of(0).has_value());
  EXPECT_GE(s(*a.time_of(0)), 1.0);
  EXPECT_EQ(a.count_until(milliseconds(999)), 0u);
}

TEST(VuSchedule, ConstantAndRamping) {
  LoadSpec c;
  c.executor = Executor::constant_vus;
  c.vus = 7;
  c.duration = seconds(5);
  const auto cv = VuSchedule::from(c);
  EXPECT_EQ(cv.target_at(seconds(0)), 7);
  EXPECT_EQ(cv.target_at(milliseconds(4999)), 7);
  EXPECT_EQ(cv.target_at(seconds(5)), 0);

  LoadSpec r;
  r.executor = Executor::ramping_vus;
  r.start_vus = 0;
  r.stages = {Stage{seconds(10), 100}, Stage{seconds(5), 100}, Stage{seconds(5), 0}};
  const auto rv = VuSchedule::from(r);
  EXPECT_EQ(rv.target_at(seconds(0)), 0);
  EXPECT_EQ(rv.target_at(seconds(5)), 50);
  EXPECT_EQ(rv.target_at(seconds(12)), 100);
  EXPECT_EQ(rv.target_at(seconds(16)), 80);
  EXPECT_EQ(rv.target_at(seconds(20)), 0);
  EXPECT_EQ(r.peak_vus(), 100);
  EXPECT_EQ(rv.total(), seconds(20));
}

}  // namespace
}  // namespace crest::load
