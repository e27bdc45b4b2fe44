#include <gtest/gtest.h>

#include "auth.hpp"
#include "services.hpp"
#include "test_shop.hpp"

namespace crest::storefront {
namespace {

struct UsersService : ::testing::Test {
  UsersService() : hasher(1, 8 * 1024) {
    t.shop.settings.login_failures_per_account = 3;
    http::Router router;
    add_users_routes(router, t.shop, hasher);
    api = std::make_unique<RouteCaller>(std::move(router));
  }
  http::Response login(const std::string& password) {
    return api->call("POST", "/api/login",
                     R"({"email": "ada@example.com", "password": ")" + password + R"("})");
  }
  TestShop t;
  PasswordHasher hasher;
  std::unique_ptr<RouteCaller> api;
};

constexpr const char* kAda =
    R"({"email": "Ada@Example.com", "password": "correct horse battery", "name": "Ada"})";

TEST_F(UsersService, RegistersLogsInAndOut) {
  auto created = api->call("POST", "/api/users", kAda);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(json_of(created).count("password_hash"), 0u);

  auto signed_in = login("correct horse battery");
  ASSERT_EQ(signed_in.status, 200) << signed_in.body;
  const auto token = json_of(signed_in)["token"].get<std::string>();
  const auto cookie = signed_in.headers.get("Set-Cookie");
  ASSERT_TRUE(cookie.has_value());
  EXPECT_NE(cookie->find("HttpOnly"), std::string_view::npos);
  EXPECT_NE(cookie->find("Secure"), std::string_view::npos);

  auto me = api->call_as(token, "GET", "/api/me");
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(json_of(me)["name"], "Ada");
  EXPECT_EQ(api->call_as(token, "POST", "/api/logout").status, 204);
  EXPECT_EQ(api->call_as(token, "GET", "/api/me").status, 401);
}

TEST_F(UsersService, ADuplicateAddressIsAConflictWhateverItsCase) {
  ASSERT_EQ(api->call("POST", "/api/users", kAda).status, 201);
  auto again =
      api->call("POST", "/api/users",
                R"({"email": "ada@example.COM", "password": "another long one", "name": "Ada 2"})");
  EXPECT_EQ(again.status, 409) << again.body;
}

TEST_F(UsersService, InvalidFieldsAre400) {
  EXPECT_EQ(api->call("POST", "/api/users", R"({"email": "x", "password": "long enough pass",
                                                "name": "X"})")
                .status,
            400);
  EXPECT_EQ(api->call("POST", "/api/users",
                      R"({"email": "bob@example.com", "password": "short", "name": "Bob"})")
                .status,
            400);
  EXPECT_EQ(api->call("POST", "/api/users", R"({"email": "bob@example.com"})").status, 400);
  EXPECT_EQ(api->call("POST", "/api/users", "[1, 2]").status, 400);
}

TEST_F(UsersService, WrongPasswordsAre401ThenThrottledWithRetryAfter) {
  ASSERT_EQ(api->call("POST", "/api/users", kAda).status, 201);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(login("wrong password " + std::to_string(i)).status, 401);
  auto throttled = login("correct horse battery");  // even the right one, while throttled
  EXPECT_EQ(throttled.status, 429);
  EXPECT_TRUE(throttled.headers.get("Retry-After").has_value());
  // An unknown account answers like a wrong password.
  auto unknown = api->call("POST", "/api/login",
                           R"({"email": "nobody@example.com", "password": "whatever it is"})");
  EXPECT_EQ(unknown.status, 401);
}

}  // namespace
}  // namespace crest::storefront
