#include "crest/diagnose/series.hpp"

#include <gtest/gtest.h>

namespace crest::diagnose {
namespace {

TEST(ParseTime, Rfc3339AndUnixSeconds) {
  EXPECT_DOUBLE_EQ(*parse_time("1970-01-01T00:00:10Z"), 10.0);
  EXPECT_DOUBLE_EQ(*parse_time("2026-11-30T08:47:19.250Z"), 1796028439.25);
  EXPECT_DOUBLE_EQ(*parse_time("2026-11-30T09:47:19.250+01:00"), 1796028439.25);
  EXPECT_DOUBLE_EQ(*parse_time("2026-11-30 08:47:19.250"), 1796028439.25);
  EXPECT_DOUBLE_EQ(*parse_time("1796028439.5"), 1796028439.5);
  EXPECT_FALSE(parse_time("2026-13-30T08:47:19Z"));
  EXPECT_FALSE(
      parse_time("2026-11-30T08:47"
                 "x"));
  EXPECT_FALSE(parse_time("yesterday"));
  EXPECT_FALSE(parse_time(""));
  EXPECT_EQ(format_time(1796028439.25), "2026-11-30T08:47:19.250Z");
}

TEST(NormalizeSql, LiteralsBecomePlaceholders) {
  EXPECT_EQ(normalize_sql("SELECT * FROM products WHERE name LIKE '%red%'  AND id = 42;"),
            "SELECT * FROM products WHERE name LIKE ? AND id = ?");
  EXPECT_EQ(normalize_sql("SELECT a FROM t WHERE id IN (1, 2, 3)"),
            "SELECT a FROM t WHERE id IN (...)");
  EXPECT_EQ(normalize_sql("SELECT col1 FROM t2"), "SELECT col1 FROM t2");
}

}  // namespace
}  // namespace crest::diagnose
