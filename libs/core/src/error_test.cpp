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

}  // namespace
}  // namespace crest
