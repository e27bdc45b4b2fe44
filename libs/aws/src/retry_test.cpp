#include "crest/aws/retry.hpp"

#include <gtest/gtest.h>

namespace crest::aws {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

TEST(Backoff, FullJitterExponentialCappedAt20Seconds) {
  const RetryPolicy policy;  // base 1 s, cap 20 s
  struct Row {
    int retry;
    double random;
    milliseconds expected;
  };
  const Row rows[] = {
      {1, 0.0, milliseconds(0)},      {1, 0.5, milliseconds(500)},
      {1, 0.999, milliseconds(999)},  {2, 0.5, milliseconds(1'000)},
      {3, 0.5, milliseconds(2'000)},  {5, 1.0, milliseconds(16'000)},
      {6, 1.0, milliseconds(20'000)}, {30, 0.5, milliseconds(10'000)},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(testing::Message() << "retry " << row.retry << " random " << row.random);
    EXPECT_EQ(
        std::chrono::duration_cast<milliseconds>(backoff_delay(policy, row.retry, row.random)),
        row.expected);
  }
}

TEST(Backoff, BaseIsConfigurable) {
  RetryPolicy policy;
  policy.base = milliseconds(100);
  EXPECT_EQ(backoff_delay(policy, 3, 0.5), nanoseconds(milliseconds(200)));
}

TEST(RetryQuota, CostsAndRefundsFollowTheStandardMode) {
  RetryQuota quota;
  EXPECT_EQ(quota.available(), 500);
  EXPECT_EQ(quota.acquire(RetryClass::throttling), 5);
  EXPECT_EQ(quota.available(), 495);
  EXPECT_EQ(quota.acquire(RetryClass::timeout), 10);
  EXPECT_EQ(quota.available(), 485);
  quota.release(10);  // success after a timeout retry: its cost comes back
  EXPECT_EQ(quota.available(), 495);
  quota.release(0);  // success without retry: +1
  EXPECT_EQ(quota.available(), 496);
  for (int i = 0; i < 10; ++i) quota.release(0);
  EXPECT_EQ(quota.available(), 500);  // never above capacity
}

TEST(RetryQuota, EmptyBucketRefusesRetries) {
  RetryQuota quota;
  int granted = 0;
  while (quota.acquire(RetryClass::transient)) ++granted;
  EXPECT_EQ(granted, 100);  // 500 / 5
  EXPECT_EQ(quota.available(), 0);
  EXPECT_FALSE(quota.acquire(RetryClass::transient));
  quota.release(0);
  EXPECT_FALSE(quota.acquire(RetryClass::transient));  // 1 token cannot pay 5
  for (int i = 0; i < 4; ++i) quota.release(0);
  EXPECT_EQ(quota.acquire(RetryClass::transient), 5);
}

TEST(Classify, ThrottlingTransientTimeoutAndFinal) {
  struct Row {
    int status;
    const char* code;
    bool timed_out;
    RetryClass expected;
  };
  const Row rows[] = {
      {400, "ProvisionedThroughputExceededException", false, RetryClass::throttling},
      {400, "ThrottlingException", false, RetryClass::throttling},
      {400, "RequestLimitExceeded", false, RetryClass::throttling},
      {400, "TooManyRequestsException", false, RetryClass::throttling},
      {429, "", false, RetryClass::throttling},
      {500, "InternalServerError", false, RetryClass::transient},
      {503, "", false, RetryClass::transient},
      {502, "", false, RetryClass::transient},
      {0, "", false, RetryClass::transient},
      {0, "", true, RetryClass::timeout},
      {400, "ConditionalCheckFailedException", false, RetryClass::none},
      {400, "ValidationException", false, RetryClass::none},
      {400, "ResourceNotFoundException", false, RetryClass::none},
      {501, "", false, RetryClass::none},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(testing::Message() << row.status << " " << row.code);
    EXPECT_EQ(classify(row.status, row.code, row.timed_out), row.expected);
  }
}

}  // namespace
}  // namespace crest::aws
