#include "crest/aws/retry.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace crest::aws {

const char* to_string(RetryClass c) noexcept {
  switch (c) {
    case RetryClass::none:
      return "none";
    case RetryClass::throttling:
      return "throttling";
    case RetryClass::transient:
      return "transient";
    case RetryClass::timeout:
      return "timeout";
  }
  return "none";
}

bool is_throttling_code(std::string_view code) noexcept {
  // The standard mode's list (AWS SDKs, botocore "standard" retry handler).
  static constexpr std::array<std::string_view, 14> codes = {
      "Throttling",
      "ThrottlingException",
      "ThrottledException",
      "RequestThrottledException",
      "TooManyRequestsException",
      "ProvisionedThroughputExceededException",
      "TransactionInProgressException",
      "RequestLimitExceeded",
      "BandwidthLimitExceeded",
      "LimitExceededException",
      "RequestThrottled",
      "SlowDown",
      "PriorRequestNotComplete",
      "EC2ThrottledException",
  };
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

RetryClass classify(int http_status, std::string_view error_code, bool timed_out) {
  if (timed_out) return RetryClass::timeout;
  if (http_status == 0) return RetryClass::transient;  // connection refused, reset, closed
  if (is_throttling_code(error_code) || http_status == 429) return RetryClass::throttling;
  if (error_code == "RequestTimeout" || error_code == "RequestTimeoutException" ||
      error_code == "InternalServerError" || error_code == "InternalFailure" ||
      error_code == "ServiceUnavailable") {
    return RetryClass::transient;
  }
  if (http_status == 500 || http_status == 502 || http_status == 503 || http_status == 504) {
    return RetryClass::transient;
  }
  return RetryClass::none;
}

std::chrono::nanoseconds backoff_delay(const RetryPolicy& policy, int retry, double random01) {
  using std::chrono::nanoseconds;
  random01 = std::clamp(random01, 0.0, 1.0);
  const double base = static_cast<double>(nanoseconds(policy.base).count());
  const double cap = static_cast<double>(nanoseconds(policy.max_backoff).count());
  const double ceiling = std::min(cap, base * std::ldexp(1.0, std::max(0, retry - 1)));
  return nanoseconds(static_cast<nanoseconds::rep>(random01 * ceiling));
}

RetryQuota::RetryQuota(const RetryPolicy& policy)
    : policy_(policy), available_(policy.quota_capacity) {}

std::optional<int> RetryQuota::acquire(RetryClass failure) {
  const int cost = failure == RetryClass::timeout ? policy_.timeout_retry_cost : policy_.retry_cost;
  std::lock_guard lock(mutex_);
  if (cost > available_) return std::nullopt;
  available_ -= cost;
  return cost;
}

void RetryQuota::release(int last_retry_cost) {
  std::lock_guard lock(mutex_);
  const int refund = last_retry_cost > 0 ? last_retry_cost : policy_.no_retry_increment;
  available_ = std::min(policy_.quota_capacity, available_ + refund);
}

int RetryQuota::available() const {
  std::lock_guard lock(mutex_);
  return available_;
}

}  // namespace crest::aws
