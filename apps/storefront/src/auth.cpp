#include "auth.hpp"

#include <sodium.h>

#include <stdexcept>

#include "crest/core/error.hpp"
#include "crest/http/errors.hpp"

namespace crest::storefront {

PasswordHasher::PasswordHasher(std::uint64_t ops, std::size_t memory_bytes)
    : ops_(ops), memory_bytes_(memory_bytes) {
  if (sodium_init() < 0) {
    throw std::runtime_error("libsodium failed to initialise");
  }
  if (ops_ < crypto_pwhash_OPSLIMIT_MIN || memory_bytes_ < crypto_pwhash_MEMLIMIT_MIN) {
    throw std::invalid_argument("Argon2id limits are below libsodium's minimum");
  }
}

std::string PasswordHasher::hash(std::string_view password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), ops_, memory_bytes_,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("out of memory while hashing a password");
  }
  return out;
}

bool PasswordHasher::verify(std::string_view hash, std::string_view password) const {
  const std::string terminated(hash);  // libsodium wants a C string
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

std::string new_session_token() {
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

std::string session_key(std::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[sizeof digest * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::optional<std::string> session_token(const http::Request& request) {
  if (const auto authorization = request.headers.get("Authorization")) {
    constexpr std::string_view kBearer = "Bearer ";
    if (authorization->size() > kBearer.size() &&
        http::iequals(authorization->substr(0, kBearer.size()), kBearer)) {
      return std::string(authorization->substr(kBearer.size()));
    }
  }
  return request.cookie("session");
}

std::int64_t require_user(store::SessionStore& sessions, http::Request& request) {
  const auto token = session_token(request);
  if (!token || token->empty() || token->size() > 128) {
    throw http::Unauthorized(
        "sign in first: send 'Authorization: Bearer <token>' or the session cookie");
  }
  const bool by_cookie = !request.headers.get("Authorization").has_value();
  if (by_cookie && request.method != "GET" && request.method != "HEAD" &&
      request.method != "OPTIONS") {
    const auto type = request.headers.get("Content-Type").value_or("");
    if (!(type.size() >= 16 && http::iequals(type.substr(0, 16), "application/json"))) {
      throw http::HttpError(403, "csrf_rejected",
                            "a request signed in by cookie that changes something must be sent as "
                            "'Content-Type: application/json'");
    }
  }
  auto session = sessions.get(session_key(*token));
  if (!session.ok()) {
    if (session.error().kind == ErrorKind::not_found) {
      throw http::Unauthorized("the session is unknown or has expired; sign in again");
    }
    http::throw_as_exception(session.error());
  }
  request.context.user_id = session->user_id;
  return session->user_id;
}

}  // namespace crest::storefront
