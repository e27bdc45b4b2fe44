#include "crest/metrics/latency_histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace crest::metrics {
namespace {

std::uint64_t exact_percentile(std::vector<std::uint64_t> values, double p) {
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
  rank = std::clamp<std::size_t>(rank, 1, values.size());
  return values[rank - 1];
}

void expect_close(std::uint64_t got, std::uint64_t exact) {
  EXPECT_GE(got, exact);
  EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * 1.001 + 1.0)
      << "exact " << exact;
}

TEST(LatencyHistogram, FixedSizeCoversOneMicrosecondToOneHour) {
  EXPECT_EQ(LatencyHistogram::bucket_slots(), 23u * 1024u);
  EXPECT_LT(LatencyHistogram::index_of(LatencyHistogram::kHighestUs),
            LatencyHistogram::bucket_slots());
  // Below 2048 µs every value has its own slot.
  for (std::uint64_t v = 0; v < 2048; ++v) {
    EXPECT_EQ(LatencyHistogram::lowest_equivalent(v), v);
    EXPECT_EQ(LatencyHistogram::highest_equivalent(v), v);
  }
  EXPECT_EQ(LatencyHistogram::lowest_equivalent(2049), 2048u);
  EXPECT_EQ(LatencyHistogram::highest_equivalent(2048), 2049u);
}

TEST(LatencyHistogram, ThreeSignificantDigitsEverywhere) {
  for (std::uint64_t v = 1; v < LatencyHistogram::kHighestUs; v = v * 3 + 7) {
    const auto lo = LatencyHistogram::lowest_equivalent(v);
    const auto hi = LatencyHistogram::highest_equivalent(v);
    EXPECT_LE(lo, v);
    EXPECT_GE(hi, v);
    EXPECT_LE(static_cast<double>(hi - lo), static_cast<double>(v) * 0.001 + 0.5) << v;
  }
}

TEST(LatencyHistogram, EmptyHistogram) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile_us(99), 0u);
  EXPECT_EQ(h.max_us(), 0u);
  EXPECT_EQ(h.min_us(), 0u);
  EXPECT_DOUBLE_EQ(h.mean_us(), 0.0);
}

TEST(LatencyHistogram, ExactPercentilesOfOneToTenThousand) {
  LatencyHistogram h;
  std::vector<std::uint64_t> values;
  for (std::uint64_t v = 1; v <= 10000; ++v) {
    h.record_us(v);
    values.push_back(v);
  }
  EXPECT_EQ(h.count(), 10000u);
  EXPECT_EQ(h.percentile_us(50), 5003u);  // 5000 sits in [5000, 5003]: 4 µs slots above 4096
  for (double p : {0.0, 1.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0}) {
    expect_close(h.percentile_us(p), exact_percentile(values, p));
  }
  EXPECT_EQ(h.min_us(), 1u);
  EXPECT_EQ(h.max_us(), 10000u);  // tracked exactly
  EXPECT_DOUBLE_EQ(h.mean_us(), 5000.5);
}

TEST(LatencyHistogram, RandomLogNormalDataWithinOnePerMille) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(9.0, 2.0);  // median ~8 ms, long tail
  LatencyHistogram h;
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<std::uint64_t>(dist(rng));
    v = std::min(v, LatencyHistogram::kHighestUs);
    h.record_us(v);
    values.push_back(v);
  }
  for (double p : {10.0, 50.0, 90.0, 95.0, 99.0, 99.9, 99.999}) {
    expect_close(h.percentile_us(p), exact_percentile(values, p));
  }
}

TEST(LatencyHistogram, ClampsAboveOneHour) {
  LatencyHistogram h;
  h.record_us(LatencyHistogram::kHighestUs * 5);
  EXPECT_EQ(h.clamped(), 1u);
  EXPECT_EQ(h.percentile_us(100), LatencyHistogram::kHighestUs);
}

TEST(LatencyHistogram, RecordFromNanoseconds) {
  LatencyHistogram h;
  h.record(std::chrono::milliseconds(250));
  h.record(std::chrono::nanoseconds(-5));
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.min_us(), 0u);
  expect_close(h.percentile_us(100), 250000);
}

TEST(LatencyHistogram, MergeIsExact) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::uint64_t> dist(1, 5'000'000);
  LatencyHistogram all;
  LatencyHistogram a;
  LatencyHistogram b;
  for (int i = 0; i < 50000; ++i) {
    const auto v = dist(rng);
    all.record_us(v);
    (i % 3 == 0 ? a : b).record_us(v);
  }
  LatencyHistogram merged;
  merged.merge(a);
  merged.merge(b);
  EXPECT_TRUE(merged == all);
  for (double p : {50.0, 99.0, 99.9}) {
    EXPECT_EQ(merged.percentile_us(p), all.percentile_us(p));
  }
}

TEST(LatencyHistogram, SerialiseRoundTripsExactly) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v < 100'000'000; v = v * 2 + 1) {
    h.record_us(v, v % 7 + 1);
  }
  const auto text = h.serialise();
  auto back = LatencyHistogram::deserialise(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(*back == h);
  EXPECT_EQ(back->serialise(), text);

  LatencyHistogram empty;
  auto empty_back = LatencyHistogram::deserialise(empty.serialise());
  ASSERT_TRUE(empty_back.has_value());
  EXPECT_TRUE(*empty_back == empty);
}

TEST(LatencyHistogram, DeserialiseRejectsGarbage) {
  EXPECT_FALSE(LatencyHistogram::deserialise("").has_value());
  EXPECT_FALSE(LatencyHistogram::deserialise("lh2 0 0 0 0 0").has_value());
  EXPECT_FALSE(LatencyHistogram::deserialise("lh1 1 5 5 5 0").has_value());  // count mismatch
  EXPECT_FALSE(LatencyHistogram::deserialise("lh1 1 5 5 5 0 999999:1").has_value());  // bad index
  EXPECT_FALSE(LatencyHistogram::deserialise("lh1 1 5 5 5 0 5:x").has_value());
  EXPECT_FALSE(LatencyHistogram::deserialise("lh1 1 5 5 5 0 5").has_value());
}

TEST(LatencyHistogram, CountAtOrBelowForPrometheusBuckets) {
  LatencyHistogram h;
  for (std::uint64_t v = 1; v <= 1000; ++v) {
    h.record_us(v * 1000);  // 1 ms .. 1 s
  }
  EXPECT_EQ(h.count_at_or_below_us(100'000), 100u);
  EXPECT_EQ(h.count_at_or_below_us(500), 0u);
  EXPECT_EQ(h.count_at_or_below_us(LatencyHistogram::kHighestUs), 1000u);
}

TEST(LatencyHistogram, ResetClears) {
  LatencyHistogram h;
  h.record_us(10);
  h.reset();
  EXPECT_TRUE(h == LatencyHistogram());
  // Reset clears only the slots between the smallest and largest value: both ends must go.
  h.record_us(1);
  h.record_us(LatencyHistogram::kHighestUs + 5);
  h.record_us(12'345);
  LatencyHistogram merged;
  merged.merge(h);
  merged.reset();
  h.reset();
  EXPECT_TRUE(h == LatencyHistogram());
  EXPECT_TRUE(merged == LatencyHistogram());
  h.record_us(700);
  EXPECT_EQ(h.percentile_us(0), h.percentile_us(100));
  EXPECT_EQ(h.count_at_or_below_us(LatencyHistogram::kHighestUs), 1u);
}

// A serialised histogram whose counts lie outside its own min and max is refused: such counts
// would survive a reset.
TEST(LatencyHistogram, DeserialiseRefusesCountsOutsideMinAndMax) {
  LatencyHistogram h;
  h.record_us(5);
  const auto inside = LatencyHistogram::index_of(5);
  EXPECT_TRUE(LatencyHistogram::deserialise(h.serialise()).has_value());
  EXPECT_FALSE(LatencyHistogram::deserialise("lh1 1 5 5 5 0 " + std::to_string(inside + 900) + ":1")
                   .has_value());
}

}  // namespace
}  // namespace crest::metrics
