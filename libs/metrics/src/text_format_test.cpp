#include "text_format.hpp"

#include <gtest/gtest.h>

#include <limits>

namespace crest::metrics::text_format {
namespace {

std::string format(double value) {
  std::string out;
  append_double(out, value);
  return out;
}

TEST(TextFormatTest, NumbersUseShortestRoundTripForm) {
  EXPECT_EQ(format(0), "0");
  EXPECT_EQ(format(1), "1");
  EXPECT_EQ(format(-3), "-3");
  EXPECT_EQ(format(2.5), "2.5");
  EXPECT_EQ(format(0.1), "0.1");
  EXPECT_EQ(format(0.0005), "0.0005");
  EXPECT_EQ(format(0.0025), "0.0025");
  EXPECT_EQ(format(0.00001), "1e-05");
  EXPECT_EQ(format(1234567), "1234567");
  EXPECT_EQ(format(1e21), "1e+21");
  EXPECT_EQ(format(0.1 + 0.2), "0.30000000000000004");
}

TEST(TextFormatTest, SpecialValuesUsePrometheusSpelling) {
  EXPECT_EQ(format(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(TextFormatTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  std::string out;
  append_label_value(out, "a\\b\"c\nd'e");
  EXPECT_EQ(out, R"(a\\b\"c\nd'e)");
}

TEST(TextFormatTest, HelpEscapesBackslashAndNewlineButNotQuotes) {
  std::string out;
  append_help(out, "say \"hi\"\\\nbye");
  EXPECT_EQ(out, R"(say "hi"\\\nbye)");
}

}  // namespace
}  // namespace crest::metrics::text_format
