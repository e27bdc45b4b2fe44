#include "crest/store/lru_cache.hpp"

#include <algorithm>

#include "crest/metrics/registry.hpp"

namespace crest::store {

LruCache::LruCache(LruCacheOptions options, Clock& clock)
    : capacity_(std::max<std::size_t>(options.capacity, 1)), clock_(clock) {
  if (options.metrics != nullptr) {
    auto& family = options.metrics->counter_family(
        "crest_cache_requests_total", "Cache lookups by outcome.", {"cache", "result"});
    hits_ = &family.with({options.name, "hit"});
    misses_ = &family.with({options.name, "miss"});
    family.with({options.name, "error"});  // present at zero, so rate() has a series
  }
  index_.reserve(capacity_);
}

Result<std::optional<std::string>> LruCache::get(std::string_view key) {
  std::optional<std::string> value;
  {
    const std::lock_guard lock(mutex_);
    const auto it = index_.find(key);
    if (it != index_.end()) {
      const auto node = it->second;
      if (node->expires_at && clock_.now() >= *node->expires_at) {
        index_.erase(it);
        entries_.erase(node);
      } else {
        entries_.splice(entries_.begin(), entries_, node);  // now most recently used
        value = node->value;
      }
    }
  }
  if (hits_ != nullptr) {
    (value ? hits_ : misses_)->inc();
  }
  return value;
}

Result<void> LruCache::set(std::string_view key, std::string_view value,
                           std::chrono::milliseconds ttl) {
  std::optional<Clock::SteadyTime> expires_at;
  if (ttl.count() > 0) {
    expires_at = clock_.now() + ttl;
  }
  const std::lock_guard lock(mutex_);
  if (const auto it = index_.find(key); it != index_.end()) {
    const auto node = it->second;
    node->value.assign(value);
    node->expires_at = expires_at;
    entries_.splice(entries_.begin(), entries_, node);
    return {};
  }
  if (entries_.size() >= capacity_) {
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
  entries_.push_front(Entry{std::string(key), std::string(value), expires_at});
  index_.emplace(entries_.front().key, entries_.begin());
  return {};
}

Result<void> LruCache::erase(std::string_view key) {
  const std::lock_guard lock(mutex_);
  if (const auto it = index_.find(key); it != index_.end()) {
    const auto node = it->second;
    index_.erase(it);
    entries_.erase(node);
  }
  return {};
}

std::size_t LruCache::size() const {
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace crest::store
