#pragma once
// In-process Cache adapter: least-recently-used eviction by entry count, TTL by an injected
// Clock, O(1) operations under one mutex.
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "crest/core/clock.hpp"
#include "crest/store/cache.hpp"

namespace crest::metrics {
class Registry;
class Counter;
}  // namespace crest::metrics

namespace crest::store {

struct LruCacheOptions {
  std::size_t capacity = 10000;          // entries; at least 1
  std::string name = "local";            // the `cache` label
  metrics::Registry* metrics = nullptr;  // crest_cache_requests_total{cache,result}
};

class LruCache final : public Cache {
 public:
  explicit LruCache(LruCacheOptions options, Clock& clock = Clock::system());

  Result<std::optional<std::string>> get(std::string_view key) override;
  Result<void> set(std::string_view key, std::string_view value,
                   std::chrono::milliseconds ttl) override;
  Result<void> erase(std::string_view key) override;

  std::size_t size() const;

 private:
  struct Entry {
    std::string key;
    std::string value;
    std::optional<Clock::SteadyTime> expires_at;
  };
  using List = std::list<Entry>;  // front = most recently used

  std::size_t capacity_;
  Clock& clock_;
  metrics::Counter* hits_ = nullptr;
  metrics::Counter* misses_ = nullptr;

  mutable std::mutex mutex_;
  List entries_;
  // Keys view the strings owned by the list nodes, which never move.
  std::unordered_map<std::string_view, List::iterator> index_;
};

}  // namespace crest::store
