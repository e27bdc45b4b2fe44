#include "crest/store/lru_cache.hpp"

#include <gtest/gtest.h>

#include "crest/metrics/registry.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;

TEST(LruCacheTest, EvictsLeastRecentlyUsed) {
  ManualClock clock;
  LruCache cache({2, "t", nullptr}, clock);
  ASSERT_TRUE(cache.set("a", "1", 0ms).ok());
  ASSERT_TRUE(cache.set("b", "2", 0ms).ok());
  EXPECT_EQ(cache.get("a")->value_or(""), "1");  // a is now more recent than b
  ASSERT_TRUE(cache.set("c", "3", 0ms).ok());
  EXPECT_FALSE(cache.get("b")->has_value());
  EXPECT_EQ(cache.get("a")->value_or(""), "1");
  EXPECT_EQ(cache.get("c")->value_or(""), "3");
  ASSERT_TRUE(cache.set("a", "1b", 0ms).ok());  // overwrite keeps the size
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.get("a")->value_or(""), "1b");
  ASSERT_TRUE(cache.erase("a").ok());
  ASSERT_TRUE(cache.erase("a").ok());
  EXPECT_FALSE(cache.get("a")->has_value());
  EXPECT_EQ(cache.size(), 1u);
}

TEST(LruCacheTest, ExpiresByTheInjectedClock) {
  ManualClock clock;
  LruCache cache({10, "t", nullptr}, clock);
  ASSERT_TRUE(cache.set("k", "v", 100ms).ok());
  ASSERT_TRUE(cache.set("forever", "v", 0ms).ok());
  clock.advance(99ms);
  EXPECT_TRUE(cache.get("k")->has_value());
  clock.advance(1ms);
  EXPECT_FALSE(cache.get("k")->has_value());
  EXPECT_EQ(cache.size(), 1u);
  clock.advance(24h);
  EXPECT_TRUE(cache.get("forever")->has_value());
}

TEST(LruCacheTest, CountsHitsAndMisses) {
  metrics::Registry registry;
  ManualClock clock;
  LruCache cache({10, "catalog", &registry}, clock);
  ASSERT_TRUE(cache.set("k", "v", 0ms).ok());
  (void)cache.get("k");
  (void)cache.get("k");
  (void)cache.get("missing");
  const std::string text = registry.render();
  EXPECT_NE(text.find("crest_cache_requests_total{cache=\"catalog\",result=\"hit\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("crest_cache_requests_total{cache=\"catalog\",result=\"miss\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace crest::store
