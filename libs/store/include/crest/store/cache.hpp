#pragma once
// Port: a key-value cache (Redis in production, LruCache in process). An optimisation, never a
// dependency: callers treat any error like a miss and go to the source of truth.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "crest/core/error.hpp"

namespace crest::store {

class Cache {
 public:
  virtual ~Cache() = default;

  // A miss is an empty optional; an error means the cache itself failed (e.g. unavailable).
  virtual Result<std::optional<std::string>> get(std::string_view key) = 0;
  // ttl > 0: the entry expires after ttl. ttl == 0: no expiry (eviction only).
  virtual Result<void> set(std::string_view key, std::string_view value,
                           std::chrono::milliseconds ttl) = 0;
  // Erasing an absent key succeeds.
  virtual Result<void> erase(std::string_view key) = 0;
};

using CachePtr = std::unique_ptr<Cache>;

}  // namespace crest::store
