// users: register, login, logout, me.
#include <fmt/format.h>

#include "account_rules.hpp"
#include "auth.hpp"
#include "crest/core/error.hpp"
#include "crest/http/errors.hpp"
#include "crest/http/json_body.hpp"
#include "json_views.hpp"
#include "login_throttle.hpp"
#include "services.hpp"

namespace crest::storefront {
namespace {

// Byte limits 4x the character limits (a code point is at most 4 bytes); the characters are
// counted by account_rules.
constexpr std::size_t kBytesPerCharacter = 4;

std::string session_cookie(const std::string& token, std::chrono::seconds max_age, bool secure) {
  return fmt::format("session={}; Path=/; HttpOnly; SameSite=Lax{}; Max-Age={}", token,
                     secure ? "; Secure" : "", max_age.count());
}

}  // namespace

void add_users_routes(http::Router& router, Shop& shop, const PasswordHasher& hasher) {
  // Argon2 runs on the server's one bounded pool for blocking work, never on an event loop.
  router.add_blocking("POST", "/api/users", [&shop, &hasher](http::Request& request) {
    const auto body = http::parse_json_object(request);
    const std::string email =
        checked_email(http::require_string(body, "email", 254 * kBytesPerCharacter));
    const std::string password =
        checked_password(http::require_string(body, "password", 128 * kBytesPerCharacter));
    const std::string name =
        checked_name(http::require_string(body, "name", 100 * kBytesPerCharacter));
    auto user = shop.stores.users->create_user(email, name, hasher.hash(password));
    if (!user.ok() && user.error().kind == ErrorKind::conflict) {
      throw http::ConflictError("an account with this e-mail address exists already");
    }
    auto response = http::Response::json(201, to_json(http::value_or_throw(std::move(user))));
    return response;
  });

  // Verify even for an unknown e-mail so that timing does not reveal which accounts exist.
  auto dummy_hash = std::make_shared<const std::string>(hasher.hash("not-a-real-password"));
  const auto per_minute = [](int limit) {
    return ThrottleLimits{static_cast<double>(limit), static_cast<double>(limit)};
  };
  auto throttle = std::make_shared<LoginThrottle>(
      per_minute(shop.settings.login_failures_per_account),
      per_minute(shop.settings.login_failures_per_address), *shop.clock);
  router.add_blocking(
      "POST", "/api/login", [&shop, &hasher, dummy_hash, throttle](http::Request& request) {
        const auto body = http::parse_json_object(request);
        const std::string email = http::require_string(body, "email", 254 * kBytesPerCharacter);
        const std::string password =
            http::require_string(body, "password", 128 * kBytesPerCharacter);
        // Refused before any hashing: throttled guesses cost no Argon2 time.
        const std::string account = store::normalize_email(email);
        if (const auto wait = throttle->retry_after(account, request.remote_address);
            wait.count() > 0) {
          auto refused = http::Response::json(
              429, {{"error",
                     {{"code", "rate_limited"},
                      {"message", fmt::format("too many failed logins for this account or address; "
                                              "try again in {} s",
                                              wait.count())}}}});
          refused.headers.set("Retry-After", std::to_string(wait.count()));
          return refused;
        }
        auto user = shop.stores.users->user_by_email(email, store::Consistency::strong);
        if (!user.ok() && user.error().kind != ErrorKind::not_found)
          http::throw_as_exception(user.error());
        const bool valid = hasher.verify(user.ok() ? user->password_hash : *dummy_hash, password);
        if (!user.ok() || !valid) {
          throttle->record_failure(account, request.remote_address);
          throw http::Unauthorized("wrong e-mail address or password");
        }

        const std::string token = new_session_token();
        store::Session session{session_key(token), user->id,
                               shop.clock->wall_now() + shop.settings.session_ttl};
        http::value_or_throw(shop.stores.sessions->put(session));
        auto response = http::Response::json(200, {{"token", token},
                                                   {"expires_at", iso8601(session.expires_at)},
                                                   {"user", to_json(*user)}});
        response.headers.add("Set-Cookie", session_cookie(token, shop.settings.session_ttl,
                                                          shop.settings.secure_cookie));
        return response;
      });

  router.add("POST", "/api/logout", [&shop](http::Request& request) {
    require_user(*shop.stores.sessions, request);
    http::value_or_throw(shop.stores.sessions->erase(session_key(*session_token(request))));
    http::Response response;
    response.status = 204;
    response.headers.add("Set-Cookie",
                         session_cookie("", std::chrono::seconds(0), shop.settings.secure_cookie));
    return response;
  });

  router.add("GET", "/api/me", [&shop](http::Request& request) {
    const auto user_id = require_user(*shop.stores.sessions, request);
    return http::Response::json(
        200, to_json(http::value_or_throw(shop.stores.users->user_by_id(user_id))));
  });
}

}  // namespace crest::storefront
