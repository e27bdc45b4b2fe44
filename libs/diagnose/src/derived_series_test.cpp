#include <gtest/gtest.h>

#include "crest/diagnose/scoring.hpp"
#include "synthetic_series.hpp"

namespace crest::diagnose {
namespace {

using testing::synthetic_counter;

TEST(DerivedSeries, CacheHitRatio) {
  std::vector<Series> series{
      synthetic_counter("crest_cache_requests_total", {{"cache", "catalog"}, {"result", "hit"}},
                        {90, 0.01, 10, 1200}),
      synthetic_counter("crest_cache_requests_total", {{"cache", "catalog"}, {"result", "miss"}},
                        {10, 0.01, 90, 1200}),
  };
  add_derived_series(series);
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[2].name, "crest_cache_hit_ratio");
  EXPECT_NEAR(series[2].v.front(), 0.9, 0.02);
  EXPECT_NEAR(series[2].v.back(), 0.1, 0.02);
}

}  // namespace
}  // namespace crest::diagnose
