#include "crest/http/errors.hpp"

#include <gtest/gtest.h>

namespace crest::http {
namespace {

TEST(HttpErrors, ValueOrThrowMapsKindsToHttpErrors) {
  auto status_of = [](ErrorKind kind) {
    try {
      value_or_throw(Result<int>(Error{kind, "x"}));
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
  EXPECT_EQ(value_or_throw(Result<int>(5)), 5);
  EXPECT_THROW(value_or_throw(Result<void>(Error{ErrorKind::conflict, "c"})), ConflictError);
  EXPECT_NO_THROW(value_or_throw(Result<void>()));
}

}  // namespace
}  // namespace crest::http
