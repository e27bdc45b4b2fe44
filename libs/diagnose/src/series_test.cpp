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

TEST(Within, KeepsOnlyWhatHappenedInsideTheBounds) {
  Inputs in;
  in.series.push_back({"a", {}, {10, 20, 30, 40}, {1, 2, 3, 4}, "test"});
  in.series.push_back({"before", {}, {1, 2}, {5, 6}, "test"});  // nothing left: dropped
  const auto at = [](auto item, double t) {
    item.t = t;
    return item;
  };
  in.logs = {at(LogEvent{}, 15), at(LogEvent{}, 45)};
  in.slow_queries = {at(SlowQuery{}, 5)};
  in.digest_snapshots = {at(DigestSnapshot{}, 20)};
  in.scaling_events = {at(ScalingEvent{}, 30), at(ScalingEvent{}, 31)};
  const auto cut = within(in, 20.0, 30.0);
  ASSERT_EQ(cut.series.size(), 1u);
  EXPECT_EQ(cut.series[0].t, (std::vector<double>{20, 30}));  // both bounds included
  EXPECT_EQ(cut.series[0].v, (std::vector<double>{2, 3}));
  EXPECT_TRUE(cut.logs.empty());
  EXPECT_TRUE(cut.slow_queries.empty());
  EXPECT_EQ(cut.digest_snapshots.size(), 1u);
  ASSERT_EQ(cut.scaling_events.size(), 1u);
  EXPECT_EQ(cut.scaling_events[0].t, 30);
  // One bound alone: everything from it on.
  EXPECT_EQ(within(in, 25.0, std::nullopt).logs.size(), 1u);
  EXPECT_EQ(within(in, std::nullopt, std::nullopt).series.size(), 2u);
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
