#pragma once
// Cache adapter for Redis (hiredis, blocking, a small pool of connections). Redis down means
// slower, not broken: connect and command timeouts are short, and after a failure every call
// fails fast with `unavailable` for a cool-down instead of paying the timeout again; the first
// call after the cool-down reconnects.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/clock.hpp"
#include "crest/store/cache.hpp"

namespace crest::metrics {
class Counter;
class Registry;
}  // namespace crest::metrics

namespace crest::store {

struct RedisCacheOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::size_t pool_size = 4;  // connections; callers beyond that wait up to command_timeout
  std::chrono::milliseconds connect_timeout{50};
  std::chrono::milliseconds command_timeout{50};
  std::chrono::milliseconds cooldown{1000};  // fail fast for this long after a failure
  std::string key_prefix;                    // prepended to every key, e.g. "crest:"
  std::string name = "redis";                // the `cache` label
  // crest_cache_requests_total{cache,result=hit|miss|error}, counted on get() as LruCache does.
  metrics::Registry* metrics = nullptr;
};

class RedisCache final : public Cache {
 public:
  explicit RedisCache(RedisCacheOptions options, Clock& clock = Clock::system());
  ~RedisCache() override;
  RedisCache(const RedisCache&) = delete;
  RedisCache& operator=(const RedisCache&) = delete;

  Result<std::optional<std::string>> get(std::string_view key) override;
  Result<void> set(std::string_view key, std::string_view value,
                   std::chrono::milliseconds ttl) override;
  Result<void> erase(std::string_view key) override;

  // True while calls fail fast after a failure.
  bool cooling_down() const;

  class Connection;  // hiredis stays out of this header

 private:
  struct Reply;
  // Runs one command (argv form, binary-safe) on a pooled connection.
  Result<Reply> command(const std::vector<std::string_view>& argv);
  void fail(const std::string& why);

  RedisCacheOptions options_;
  Clock& clock_;
  metrics::Counter* hits_ = nullptr;
  metrics::Counter* misses_ = nullptr;
  metrics::Counter* errors_ = nullptr;

  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;  // connected or not
  // Bumped on every failure: connections opened before it reconnect instead of each failing
  // once (and restarting the cool-down) after Redis comes back.
  std::uint64_t generation_ = 1;
  std::optional<Clock::SteadyTime> down_until_;
  std::string last_failure_;
};

}  // namespace crest::store
