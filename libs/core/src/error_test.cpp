#include "crest/core/error.hpp"

#include <gtest/gtest.h>

namespace crest {
namespace {

TEST(Result, HoldsValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = Error{ErrorKind::not_found, "no product 9"};
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::not_found);
}

TEST(Result, ValueOrThrowMapsKindsToHttpErrors) {
  auto status_of = [](ErrorKind kind) {
    try {
      Result<int>(Error{kind, "x"}).value_or_throw();
    } catch (const HttpError& e) {
      return e.status();
    } catch (const std::exception&) {
      return 500;
    }
    return 0;
  };
  EXPECT_EQ(status_of(ErrorKind::invalid_argument), 400);
  EXPECT_EQ(status_of(ErrorKind::not_found), 404);
  EXPECT_EQ(status_of(ErrorKind::conflict), 409);
  EXPECT_EQ(status_of(ErrorKind::unavailable), 503);
  EXPECT_EQ(status_of(ErrorKind::timeout), 503);
  EXPECT_EQ(status_of(ErrorKind::internal), 500);
  EXPECT_EQ(Result<int>(5).value_or_throw(), 5);
  EXPECT_THROW(Result<void>(Error{ErrorKind::conflict, "c"}).value_or_throw(), ConflictError);
  EXPECT_NO_THROW(Result<void>().value_or_throw());
}

}  // namespace
}  // namespace crest
