#pragma once
// The AWS SDKs' "standard" retry mode, as pure, table-tested pieces:
//  - at most 3 attempts;
//  - before retry i (1-based) sleep random[0,1) * min(max_backoff, base * 2^(i-1)) (full jitter,
//    base 1 s and cap 20 s as in the SDK reference; both configurable);
//  - a retry quota shared by all calls of one client: 500 tokens, a retry costs 5 (10 after a
//    timeout); a request that succeeds gives back what its last retry cost, or 1 if it needed no
//    retry (never above the capacity). When a retry cannot be paid for, the error goes up at once.
// Which errors are retried: throttling codes, 5xx, connection failures and timeouts.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>

namespace crest::aws {

enum class RetryClass : std::uint8_t {
  none,        // not retryable (validation, conditional check failed, not found, ...)
  throttling,  // the service asked us to slow down
  transient,   // 5xx, connection refused/reset
  timeout,     // no response in time
};
const char* to_string(RetryClass c) noexcept;

// The classification of a response or a transport failure. status 0 = no response.
RetryClass classify(int http_status, std::string_view error_code, bool timed_out);
bool is_throttling_code(std::string_view error_code) noexcept;

struct RetryPolicy {
  int max_attempts = 3;
  std::chrono::milliseconds base{1'000};
  std::chrono::milliseconds max_backoff{20'000};
  int quota_capacity = 500;
  int retry_cost = 5;
  int timeout_retry_cost = 10;
  int no_retry_increment = 1;
};

// Full-jitter backoff before retry number `retry` (1 for the first retry); random01 in [0, 1).
std::chrono::nanoseconds backoff_delay(const RetryPolicy& policy, int retry, double random01);

// The retry quota (a token bucket without refill over time). Thread-safe.
class RetryQuota {
 public:
  explicit RetryQuota(const RetryPolicy& policy = {});

  // Takes the cost of one retry after a failure of this class; nullopt (nothing taken) when the
  // bucket cannot pay, meaning: do not retry.
  std::optional<int> acquire(RetryClass failure);
  // After a successful response: `last_retry_cost` is what the request's last retry took (0 if
  // it needed none, which refunds no_retry_increment instead).
  void release(int last_retry_cost);
  int available() const;

 private:
  RetryPolicy policy_;
  mutable std::mutex mutex_;
  int available_;
};

}  // namespace crest::aws
