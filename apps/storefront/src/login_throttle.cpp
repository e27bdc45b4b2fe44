#include "login_throttle.hpp"

#include <algorithm>
#include <cmath>

namespace crest::storefront {
namespace {

constexpr std::size_t kMaxTrackedKeys = 100'000;  // beyond it, full buckets are forgotten

}  // namespace

LoginThrottle::LoginThrottle(ThrottleLimits per_account, ThrottleLimits per_address, Clock& clock)
    : account_limits_(per_account), address_limits_(per_address), clock_(clock) {}

LoginThrottle::Bucket& LoginThrottle::refilled(Buckets& buckets, const ThrottleLimits& limits,
                                               std::string_view key) {
  const auto now = clock_.now();
  auto [it, inserted] = buckets.try_emplace(std::string(key), Bucket{limits.burst, now});
  Bucket& bucket = it->second;
  if (!inserted) {
    const double seconds = std::chrono::duration<double>(now - bucket.updated).count();
    bucket.tokens = std::min(limits.burst, bucket.tokens + seconds * limits.per_minute / 60.0);
    bucket.updated = now;
  }
  return bucket;
}

std::chrono::seconds LoginThrottle::wait_for(const Bucket& bucket,
                                             const ThrottleLimits& limits) const {
  if (bucket.tokens >= 1) return std::chrono::seconds(0);
  const double seconds = (1 - bucket.tokens) * 60.0 / limits.per_minute;
  return std::chrono::seconds(std::max<long>(1, static_cast<long>(std::ceil(seconds))));
}

void LoginThrottle::forget_full(Buckets& buckets, const ThrottleLimits& limits) {
  if (buckets.size() < kMaxTrackedKeys) return;
  const auto now = clock_.now();
  std::erase_if(buckets, [&](const auto& entry) {
    const double seconds = std::chrono::duration<double>(now - entry.second.updated).count();
    return entry.second.tokens + seconds * limits.per_minute / 60.0 >= limits.burst;
  });
}

std::chrono::seconds LoginThrottle::retry_after(std::string_view account,
                                                std::string_view address) {
  const std::lock_guard lock(mutex_);
  auto wait = std::chrono::seconds(0);
  if (account_limits_.per_minute > 0) {
    wait = std::max(wait, wait_for(refilled(accounts_, account_limits_, account), account_limits_));
  }
  if (address_limits_.per_minute > 0) {
    wait =
        std::max(wait, wait_for(refilled(addresses_, address_limits_, address), address_limits_));
  }
  return wait;
}

void LoginThrottle::record_failure(std::string_view account, std::string_view address) {
  const std::lock_guard lock(mutex_);
  if (account_limits_.per_minute > 0) {
    forget_full(accounts_, account_limits_);
    Bucket& bucket = refilled(accounts_, account_limits_, account);
    bucket.tokens = std::max(0.0, bucket.tokens - 1);
  }
  if (address_limits_.per_minute > 0) {
    forget_full(addresses_, address_limits_);
    Bucket& bucket = refilled(addresses_, address_limits_, address);
    bucket.tokens = std::max(0.0, bucket.tokens - 1);
  }
}

}  // namespace crest::storefront
