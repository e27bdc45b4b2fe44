// The text forms that carry metrics between the processes of one run: exact round trips, exact
// merges, and no crash on anything malformed.
#include "crest/load/wire.hpp"

#include <gtest/gtest.h>

#include <random>

namespace crest::load {
namespace {

MetricSet sample_metrics(std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::uint64_t> us(1, 2'000'000);
  MetricSet m(3, 2, 1, 4);
  for (auto& s : m.steps) {
    for (int i = 0; i < 500; ++i) {
      s.duration.record_us(us(rng));
      s.service.record_us(us(rng) / 3);
      s.ttfb.record_us(us(rng) / 7);
    }
    s.requests = rng() % 100000;
    s.failures = rng() % 1000;
    s.connects = rng() % 50;
    s.connect_us_sum = rng();
    s.bytes_sent = rng();
    s.bytes_received = rng();
    for (auto& k : s.by_kind) {
      k = rng() % 10;
    }
    for (auto& c : s.by_status_class) {
      c = rng() % 1000;
    }
  }
  for (auto& j : m.journeys) {
    j.iteration.record_us(us(rng), 3);
    j.iteration.record_us(LatencyHistogram::kHighestUs + 5);  // clamped, and still exact
    j.iterations = rng() % 5000;
    j.failed = rng() % 50;
  }
  m.groups[0].record_us(42);
  for (auto& c : m.checks) {
    c = {rng() % 1000, rng() % 10};
  }
  m.dropped = 17;
  m.interrupted = 3;
  return m;
}

TEST(StatsSerialisation, MetricSetRoundTripsExactly) {
  const auto m = sample_metrics(1);
  const auto back = deserialise_metric_set(serialise(m));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, m);
  EXPECT_EQ(back->steps[1].duration.percentile_us(99), m.steps[1].duration.percentile_us(99));
  EXPECT_EQ(back->journeys[0].iteration.clamped(), 1u);
  EXPECT_EQ(serialise(*back), serialise(m));
}

TEST(StatsSerialisation, EmptyAndShapelessSetsRoundTrip) {
  for (const auto& m : {MetricSet(), MetricSet(1, 1, 0, 0), MetricSet(0, 0, 3, 2)}) {
    const auto back = deserialise_metric_set(serialise(m));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, m);
  }
}

TEST(StatsSerialisation, MergeOfDeserialisedEqualsMergeOfOriginals) {
  const auto a = sample_metrics(2);
  const auto b = sample_metrics(3);
  auto merged = a;
  merged.merge(b);
  auto da = deserialise_metric_set(serialise(a));
  const auto db = deserialise_metric_set(serialise(b));
  ASSERT_TRUE(da && db);
  da->merge(*db);
  EXPECT_EQ(*da, merged);
  EXPECT_EQ(da->steps[2].duration.percentile_us(99.9),
            merged.steps[2].duration.percentile_us(99.9));
  EXPECT_EQ(da->requests(), a.requests() + b.requests());
}

TimelinePoint sample_point() {
  TimelinePoint p;
  p.t = 3.0000123456789;
  p.active_vus = 12345;
  p.allocated_vus = 23456;
  p.requests = 999;
  p.failures = 7;
  p.dropped = 2;
  p.bytes_received = 1u << 30;
  p.bytes_sent = 12;
  p.duration.record_us(1500, 990);
  p.duration.record_us(250'000, 9);
  LatencyHistogram step;
  step.record_us(800, 5);
  p.step_requests = {990, 9};
  p.step_failures = {0, 7};
  p.step_histograms = {step.serialise(), LatencyHistogram().serialise()};
  return p;
}

TEST(StatsSerialisation, TimelinePointRoundTripsExactly) {
  const auto p = sample_point();
  const auto back = deserialise_timeline_point(serialise(p));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, p);
  EXPECT_EQ(back->t, p.t);  // the double too, bit for bit
  const auto empty = deserialise_timeline_point(serialise(TimelinePoint{}));
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(*empty, TimelinePoint{});
}

TEST(StatsSerialisation, TruncatedInputIsRejected) {
  const auto text = serialise(sample_metrics(4));
  // Every proper prefix is malformed (the last line must end with its newline).
  for (std::size_t n = 0; n < text.size(); n += std::max<std::size_t>(1, n / 50)) {
    EXPECT_FALSE(deserialise_metric_set(std::string_view(text).substr(0, n)).has_value()) << n;
  }
  EXPECT_FALSE(deserialise_metric_set(text.substr(0, text.size() - 1)).has_value());
  const auto point = serialise(sample_point());
  for (std::size_t n = 0; n < point.size(); ++n) {
    EXPECT_FALSE(deserialise_timeline_point(std::string_view(point).substr(0, n)).has_value()) << n;
  }
}

TEST(StatsSerialisation, GarbageIsRejected) {
  const auto good = serialise(sample_metrics(5));
  EXPECT_FALSE(deserialise_metric_set("").has_value());
  EXPECT_FALSE(deserialise_metric_set("hello\n").has_value());
  EXPECT_FALSE(deserialise_metric_set(good + "extra\n").has_value());
  // Sizes that the input cannot hold are refused before anything is allocated.
  EXPECT_FALSE(deserialise_metric_set("ms1 4000000000 0 0 0 0 0\nck\n").has_value());
  EXPECT_FALSE(deserialise_metric_set("ms1 18446744073709551615 1 1 1 0 0\n").has_value());
  EXPECT_FALSE(deserialise_metric_set("ms1 -1 0 0 0 0 0\nck\n").has_value());
  EXPECT_FALSE(deserialise_timeline_point("tp2 nan 0 0 0 0 0 0 0 0 0 0\nlh1 0 0 0 0 0\nsr\nsf\n")
                   .has_value());
  EXPECT_TRUE(
      deserialise_timeline_point("tp2 1 0 0 0 0 0 0 0 0 0 0\nlh1 0 0 0 0 0\nsr\nsf\n").has_value());
  // Flipping bytes anywhere: either still well formed, or rejected; never a crash.
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    auto bad = good;
    for (int k = 0; k < 3; ++k) {
      bad[rng() % bad.size()] = static_cast<char>(rng() % 256);
    }
    (void)deserialise_metric_set(bad);
  }
  auto corrupt = good;
  corrupt[corrupt.find("lh1")] = 'x';
  EXPECT_FALSE(deserialise_metric_set(corrupt).has_value());
}

}  // namespace
}  // namespace crest::load
