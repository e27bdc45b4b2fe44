#pragma once
// Failed logins are throttled per account and per client address with token buckets, so that
// guessing passwords (and making the server run Argon2 for each guess) is slow. A bucket holds
// `burst` tokens and refills at `per_minute`; each failed login takes one; an attempt while the
// account's or the address's bucket is empty is refused before any hashing (429, Retry-After).
// Successful logins cost nothing, so a busy shop with honest users is never throttled.
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "crest/core/clock.hpp"

namespace crest::storefront {

struct ThrottleLimits {
  double burst = 10;
  double per_minute = 10;  // 0: no limit
};

class LoginThrottle {
 public:
  LoginThrottle(ThrottleLimits per_account, ThrottleLimits per_address, Clock& clock);

  // How long the caller must wait before trying; zero when an attempt is allowed now.
  std::chrono::seconds retry_after(std::string_view account, std::string_view address);
  void record_failure(std::string_view account, std::string_view address);

 private:
  struct Bucket {
    double tokens = 0;
    Clock::SteadyTime updated{};
  };
  using Buckets = std::unordered_map<std::string, Bucket>;

  // The bucket refilled up to now (a new one is full).
  Bucket& refilled(Buckets& buckets, const ThrottleLimits& limits, std::string_view key);
  std::chrono::seconds wait_for(const Bucket& bucket, const ThrottleLimits& limits) const;
  void forget_full(Buckets& buckets, const ThrottleLimits& limits);

  ThrottleLimits account_limits_;
  ThrottleLimits address_limits_;
  Clock& clock_;
  std::mutex mutex_;
  Buckets accounts_;
  Buckets addresses_;
};

}  // namespace crest::storefront
