#include "crest/core/text.hpp"

#include <gtest/gtest.h>

namespace crest::text {
namespace {

TEST(Text, IequalsIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("close", "closed"));
  EXPECT_FALSE(iequals("keep-alive", "keep_alive"));
  EXPECT_FALSE(iequals("\xC3\x89", "\xC3\xA9"));  // É and é: not ASCII, not folded
}

TEST(Text, TrimRemovesSpacesAndTabsAtBothEnds) {
  EXPECT_EQ(trim("  \tchunked \t"), "chunked");
  EXPECT_EQ(trim("a b"), "a b");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim("x\r\n"), "x\r\n");  // line ends are the caller's business
}

}  // namespace
}  // namespace crest::text
