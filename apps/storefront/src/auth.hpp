#pragma once
// Passwords (Argon2id via libsodium) and session tokens (128 random bits, hex).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crest/http/errors.hpp"
#include "crest/http/message.hpp"
#include "crest/store/session_store.hpp"

namespace crest::storefront {

class PasswordHasher {
 public:
  PasswordHasher(std::uint64_t ops, std::size_t memory_bytes);
  std::string hash(std::string_view password) const;
  bool verify(std::string_view hash, std::string_view password) const;

 private:
  std::uint64_t ops_;
  std::size_t memory_bytes_;
};

// 32 hex digits from the operating system's CSPRNG.
std::string new_session_token();

// What the session store keeps for a token: its SHA-256 in hex, so a copy of the sessions table
// holds no token anyone can sign in with.
std::string session_key(std::string_view token);

// The session token of a request: "Authorization: Bearer <token>", else the "session" cookie.
std::optional<std::string> session_token(const http::Request& request);

// The signed-in user's id; throws http::Unauthorized (401) without a valid session. A
// state-changing request (not GET, HEAD or OPTIONS) authenticated by the cookie alone must say
// `Content-Type: application/json`, which a cross-site form cannot send without a CORS
// preflight: 403 `csrf_rejected` otherwise.
std::int64_t require_user(store::SessionStore& sessions, http::Request& request);

}  // namespace crest::storefront
