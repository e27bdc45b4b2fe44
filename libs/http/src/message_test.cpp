#include "crest/http/message.hpp"
#include "crest/http/json_body.hpp"

#include <gtest/gtest.h>

#include "crest/http/errors.hpp"

namespace crest::http {
namespace {

TEST(Message, QueryParametersAreDecoded) {
  Request r;
  r.query_string = "q=red+shoes&category=3&empty=&flag&enc=%41%2b";
  EXPECT_EQ(r.query("q").value(), "red shoes");
  EXPECT_EQ(r.query("category").value(), "3");
  EXPECT_EQ(r.query("empty").value(), "");
  EXPECT_EQ(r.query("flag").value(), "");
  EXPECT_EQ(r.query("enc").value(), "A+");
  EXPECT_FALSE(r.query("missing").has_value());
}

TEST(Message, MalformedPercentEscapesStayLiteral) {
  EXPECT_EQ(percent_decode("100%"), "100%");
  EXPECT_EQ(percent_decode("%zz"), "%zz");
  EXPECT_EQ(percent_decode("a+b"), "a+b");
}

TEST(Message, CookiesAndCaseInsensitiveHeaders) {
  Request r;
  r.headers.add("cookie", "a=1; session=abc; b=2");
  EXPECT_EQ(r.cookie("session").value(), "abc");
  EXPECT_FALSE(r.cookie("sess").has_value());
  r.headers.set("X-Thing", "1");
  r.headers.set("x-thing", "2");
  EXPECT_EQ(r.headers.get("X-THING").value(), "2");
  EXPECT_EQ(r.headers.all().size(), 2U);
}

TEST(JsonBody, NamesTheProblem) {
  Request r;
  r.body = "{not json";
  EXPECT_THROW(parse_json_object(r), ClientError);
  r.body = "[1]";
  EXPECT_THROW(parse_json_object(r), ClientError);
  r.body = R"({"email": 5, "quantity": "2", "big": 18446744073709551615, "ok": 3})";
  const auto body = parse_json_object(r);
  try {
    require_string(body, "email");
    FAIL();
  } catch (const ClientError& e) {
    EXPECT_STREQ(e.what(), "field 'email' must be a string");
  }
  try {
    require_string(body, "name");
    FAIL();
  } catch (const ClientError& e) {
    EXPECT_STREQ(e.what(), "field 'name' is required");
  }
  EXPECT_THROW(require_int(body, "quantity", 1, 10), ClientError);
  EXPECT_THROW(require_int(body, "big", 1, 10), ClientError);
  EXPECT_EQ(require_int(body, "ok", 1, 10), 3);
  EXPECT_THROW(require_int(body, "ok", 4, 10), ClientError);
}

TEST(JsonBody, ParseId) {
  EXPECT_EQ(parse_id("42", "product id"), 42);
  for (const char* bad : {"", "0", "-1", "4x", "99999999999999999999", " 1"}) {
    EXPECT_THROW(parse_id(bad, "product id"), ClientError) << bad;
  }
}

}  // namespace
}  // namespace crest::http
