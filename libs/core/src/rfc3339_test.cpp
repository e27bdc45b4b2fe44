#include "crest/core/rfc3339.hpp"

#include <gtest/gtest.h>

namespace crest {
namespace {

TEST(Rfc3339, ReadsTheFormsLogsAndExportsWrite) {
  EXPECT_DOUBLE_EQ(*parse_rfc3339("2026-11-30T08:47:19Z"), 1796028439.0);
  EXPECT_NEAR(*parse_rfc3339("2026-11-30T08:47:19.123Z"), 1796028439.123, 1e-6);
  EXPECT_NEAR(*parse_rfc3339("2026-11-30 09:47:19.5+01:00"), 1796028439.5, 1e-6);
  EXPECT_DOUBLE_EQ(*parse_rfc3339("2026-11-30T03:17:19-0530"), 1796028439.0);
  EXPECT_DOUBLE_EQ(*parse_rfc3339("2026-11-30T08:47:19"), 1796028439.0);  // no zone: UTC
  EXPECT_DOUBLE_EQ(*parse_rfc3339("2026-11-30"), 1795996800.0);
}

TEST(Rfc3339, RefusesWhatIsNotOne) {
  for (const char* bad :
       {"", "1796028439", "2026-13-01T00:00:00Z", "2026-11-30T25:00:00Z", "2026-11-30T08:47:19.Z",
        "2026-11-30T08:47:19Zjunk", "yesterday", " 2026-11-30T08:47:19Z"}) {
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  }
}

TEST(Rfc3339, FormatsUtcWithMillisecondsAndReadsBack) {
  EXPECT_EQ(format_rfc3339_ms(1796028439.123), "2026-11-30T08:47:19.123Z");
  EXPECT_EQ(format_rfc3339_ms(1796028439.9996), "2026-11-30T08:47:19.999Z");
  EXPECT_NEAR(*parse_rfc3339(format_rfc3339_ms(1796028439.25)), 1796028439.25, 1e-6);
}

}  // namespace
}  // namespace crest
