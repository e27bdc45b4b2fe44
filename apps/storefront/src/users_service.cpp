// users: register, login, logout, me.
#include <fmt/format.h>

#include "auth.hpp"
#include "crest/core/error.hpp"
#include "crest/http/json_body.hpp"
#include "json_views.hpp"
#include "services.hpp"

namespace crest::storefront {
namespace {

std::string valid_email(const nlohmann::json& body) {
  std::string email = http::require_string(body, "email", 254);
  const auto at = email.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= email.size() ||
      email.find_first_of(" \t\r\n") != std::string::npos) {
    throw ClientError("field 'email' is not an e-mail address", "invalid_field");
  }
  return email;
}

std::string session_cookie(const std::string& token, std::chrono::seconds max_age) {
  return fmt::format("session={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}", token,
                     max_age.count());
}

}  // namespace

void add_users_routes(http::Router& router, Shop& shop, const PasswordHasher& hasher) {
  router.add("POST", "/api/users", [&shop, &hasher](http::Request& request) {
    const auto body = http::parse_json_object(request);
    const std::string email = valid_email(body);
    const std::string password = http::require_string(body, "password", 128);
    if (password.size() < 8) {
      throw ClientError("field 'password' must have at least 8 characters", "invalid_field");
    }
    const std::string name = http::require_string(body, "name", 100);
    if (name.empty()) throw ClientError("field 'name' must not be empty", "invalid_field");
    auto user = shop.stores.users->create_user(email, name, hasher.hash(password));
    if (!user.ok() && user.error().kind == ErrorKind::conflict) {
      throw ConflictError("an account with this e-mail address exists already");
    }
    auto response = http::Response::json(201, to_json(std::move(user).value_or_throw()));
    return response;
  });

  // Verify even for an unknown e-mail so that timing does not reveal which accounts exist.
  auto dummy_hash = std::make_shared<const std::string>(hasher.hash("not-a-real-password"));
  router.add("POST", "/api/login", [&shop, &hasher, dummy_hash](http::Request& request) {
    const auto body = http::parse_json_object(request);
    const std::string email = http::require_string(body, "email", 254);
    const std::string password = http::require_string(body, "password", 128);
    auto user = shop.stores.users->user_by_email(email, store::Consistency::strong);
    if (!user.ok() && user.error().kind != ErrorKind::not_found) throw_as_exception(user.error());
    const bool valid = hasher.verify(user.ok() ? user->password_hash : *dummy_hash, password);
    if (!user.ok() || !valid) throw Unauthorized("wrong e-mail address or password");

    store::Session session{new_session_token(), user->id,
                           shop.clock->wall_now() + shop.settings.session_ttl};
    shop.stores.sessions->put(session).value_or_throw();
    auto response = http::Response::json(200, {{"token", session.token},
                                               {"expires_at", iso8601(session.expires_at)},
                                               {"user", to_json(*user)}});
    response.headers.add("Set-Cookie", session_cookie(session.token, shop.settings.session_ttl));
    return response;
  });

  router.add("POST", "/api/logout", [&shop](http::Request& request) {
    require_user(*shop.stores.sessions, request);
    shop.stores.sessions->erase(*session_token(request)).value_or_throw();
    http::Response response;
    response.status = 204;
    response.headers.add("Set-Cookie", session_cookie("", std::chrono::seconds(0)));
    return response;
  });

  router.add("GET", "/api/me", [&shop](http::Request& request) {
    const auto user_id = require_user(*shop.stores.sessions, request);
    return http::Response::json(200, to_json(shop.stores.users->user_by_id(user_id).value_or_throw()));
  });
}

}  // namespace crest::storefront
