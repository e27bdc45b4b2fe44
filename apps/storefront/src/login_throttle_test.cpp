#include "login_throttle.hpp"

#include <gtest/gtest.h>

namespace crest::storefront {
namespace {

using namespace std::chrono_literals;

TEST(LoginThrottle, RefusesAnAccountAfterItsBurstOfFailuresThenRefills) {
  ManualClock clock;
  LoginThrottle throttle({3, 6}, {100, 100}, clock);  // 3 failures, then one every 10 s
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(throttle.retry_after("a@x", "10.0.0.1"), 0s);
    throttle.record_failure("a@x", "10.0.0.1");
  }
  EXPECT_EQ(throttle.retry_after("a@x", "10.0.0.1"), 10s);
  EXPECT_EQ(throttle.retry_after("a@x", "10.0.0.2"), 10s);  // the account, from anywhere
  EXPECT_EQ(throttle.retry_after("b@x", "10.0.0.1"), 0s);   // another account is fine
  clock.advance(4s);
  EXPECT_EQ(throttle.retry_after("a@x", "10.0.0.1"), 6s);
  clock.advance(6s);
  EXPECT_EQ(throttle.retry_after("a@x", "10.0.0.1"), 0s);
}

TEST(LoginThrottle, RefusesAnAddressThatFailsAcrossManyAccounts) {
  ManualClock clock;
  LoginThrottle throttle({10, 10}, {5, 60}, clock);
  for (int i = 0; i < 5; ++i) throttle.record_failure("user" + std::to_string(i), "10.0.0.9");
  EXPECT_EQ(throttle.retry_after("fresh@x", "10.0.0.9"), 1s);
  EXPECT_EQ(throttle.retry_after("fresh@x", "10.0.0.8"), 0s);
}

TEST(LoginThrottle, ZeroPerMinuteTurnsALimitOff) {
  ManualClock clock;
  LoginThrottle throttle({1, 0}, {1, 0}, clock);
  for (int i = 0; i < 10; ++i) throttle.record_failure("a", "b");
  EXPECT_EQ(throttle.retry_after("a", "b"), 0s);
}

}  // namespace
}  // namespace crest::storefront
