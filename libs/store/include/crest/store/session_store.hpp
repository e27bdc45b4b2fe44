#pragma once
// Port: login sessions (DynamoDB in production: one item per token, expires_at as its TTL).
#include <memory>
#include <string_view>

#include "crest/core/error.hpp"
#include "crest/store/model.hpp"

namespace crest::store {

class SessionStore {
 public:
  virtual ~SessionStore() = default;

  // Creates or replaces the session with this token.
  virtual Result<void> put(const Session& session) = 0;
  // not_found if absent or expired (judged by the store's injected Clock::wall_now(), because
  // DynamoDB TTL deletes lazily and may still return expired items).
  virtual Result<Session> get(std::string_view token) = 0;
  // Idempotent: erasing an absent token succeeds.
  virtual Result<void> erase(std::string_view token) = 0;
};

using SessionStorePtr = std::unique_ptr<SessionStore>;

}  // namespace crest::store
