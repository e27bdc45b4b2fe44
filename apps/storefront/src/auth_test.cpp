#include "auth.hpp"

#include <gtest/gtest.h>

#include "crest/core/error.hpp"
#include "crest/http/errors.hpp"
#include "test_shop.hpp"

namespace crest::storefront {
namespace {

TEST(PasswordHasher, HashesWithArgon2idAndVerifies) {
  PasswordHasher hasher(1, 8 * 1024);
  const auto hash = hasher.hash("correct horse");
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0U);
  EXPECT_TRUE(hasher.verify(hash, "correct horse"));
  EXPECT_FALSE(hasher.verify(hash, "correct horsE"));
  EXPECT_FALSE(hasher.verify("garbage", "x"));
  EXPECT_NE(hasher.hash("correct horse"), hash);  // salted
}

TEST(SessionToken, Is128RandomBitsInHex) {
  const auto a = new_session_token();
  EXPECT_EQ(a.size(), 32U);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, new_session_token());
}

TEST(SessionToken, ComesFromBearerHeaderOrCookie) {
  http::Request bearer;
  bearer.headers.add("Authorization", "Bearer abc");
  EXPECT_EQ(session_token(bearer).value(), "abc");
  http::Request cookie;
  cookie.headers.add("Cookie", "x=1; session=def");
  EXPECT_EQ(session_token(cookie).value(), "def");
  http::Request basic;
  basic.headers.add("Authorization", "Basic abc");
  EXPECT_FALSE(session_token(basic).has_value());
}

TEST(RequireUser, AcceptsLiveSessionsOnly) {
  TestShop t;
  const auto now = t.clock.wall_now();
  ASSERT_TRUE(t.stores.sessions->put({session_key("tok"), 42, now + std::chrono::hours(1)}).ok());
  // The store holds the token's hash, never the token: the raw token is not a key.
  ASSERT_TRUE(t.stores.sessions->put({"raw", 43, now + std::chrono::hours(1)}).ok());
  http::Request raw;
  raw.headers.add("Authorization", "Bearer raw");
  EXPECT_THROW(require_user(*t.stores.sessions, raw), http::Unauthorized);
  http::Request request;
  request.headers.add("Authorization", "Bearer tok");
  EXPECT_EQ(require_user(*t.stores.sessions, request), 42);
  EXPECT_EQ(request.context.user_id.value(), 42);
  t.clock.advance(std::chrono::hours(2));
  EXPECT_THROW(require_user(*t.stores.sessions, request), http::Unauthorized);
  http::Request anonymous;
  EXPECT_THROW(require_user(*t.stores.sessions, anonymous), http::Unauthorized);
}

TEST(SessionKey, IsTheSha256OfTheToken) {
  EXPECT_EQ(session_key("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(RequireUser, CookieSignedStateChangesMustBeJson) {
  TestShop t;
  ASSERT_TRUE(
      t.stores.sessions->put({session_key("tok"), 7, t.clock.wall_now() + std::chrono::hours(1)})
          .ok());
  http::Request form;
  form.method = "POST";
  form.headers.add("Cookie", "session=tok");
  form.headers.add("Content-Type", "application/x-www-form-urlencoded");
  try {
    require_user(*t.stores.sessions, form);
    ADD_FAILURE() << "a cookie-signed form POST was accepted";
  } catch (const http::HttpError& e) {
    EXPECT_EQ(e.status(), 403);
    EXPECT_EQ(e.code(), "csrf_rejected");
  }
  http::Request json = form;
  json.headers = {};
  json.headers.add("Cookie", "session=tok");
  json.headers.add("Content-Type", "application/json; charset=utf-8");
  EXPECT_EQ(require_user(*t.stores.sessions, json), 7);
  http::Request bearer = form;
  bearer.headers = {};
  bearer.headers.add("Authorization", "Bearer tok");
  EXPECT_EQ(require_user(*t.stores.sessions, bearer), 7);  // not sent by browsers on their own
  http::Request read = form;
  read.method = "GET";
  EXPECT_EQ(require_user(*t.stores.sessions, read), 7);
}

}  // namespace
}  // namespace crest::storefront
