// Against a real redis-server started on a free loopback port (crest::stack::RedisServer).
#include "crest/store/redis_cache.hpp"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "crest/metrics/registry.hpp"
#include "crest/stack/redis_server.hpp"
#include "crest/store/caching_catalog_store.hpp"
#include "crest/store/sqlite.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("crest_redis_test_" + std::to_string(::getpid()));
    auto server = stack::RedisServer::start(dir_);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  RedisCacheOptions options() {
    RedisCacheOptions o;
    o.port = server_->port();
    o.key_prefix = "test:";
    o.metrics = &registry_;
    return o;
  }
  double requests(const std::string& result) {
    return registry_
        .counter_family("crest_cache_requests_total", "Cache lookups by outcome.",
                        {"cache", "result"})
        .with({"redis", result})
        .value();
  }

  std::filesystem::path dir_;
  std::unique_ptr<stack::RedisServer> server_;
  metrics::Registry registry_;
};

TEST_F(RedisTest, GetSetEraseTtlAndCounters) {
  RedisCache cache(options());
  EXPECT_FALSE(cache.get("k")->has_value());
  ASSERT_TRUE(cache.set("k", std::string("v\0w", 3), 0ms).ok());
  EXPECT_EQ(cache.get("k")->value(), std::string("v\0w", 3));  // binary-safe
  ASSERT_TRUE(cache.set("short", "x", 50ms).ok());
  EXPECT_TRUE(cache.get("short")->has_value());
  std::this_thread::sleep_for(120ms);  // Redis keeps its own time; nothing to inject
  EXPECT_FALSE(cache.get("short")->has_value());
  ASSERT_TRUE(cache.erase("k").ok());
  ASSERT_TRUE(cache.erase("k").ok());
  EXPECT_FALSE(cache.get("k")->has_value());
  EXPECT_EQ(requests("hit"), 2);
  EXPECT_EQ(requests("miss"), 3);
  EXPECT_EQ(requests("error"), 0);
}

TEST_F(RedisTest, DownMeansFailFastThenReconnects) {
  ManualClock clock;
  RedisCache cache(options(), clock);
  ASSERT_TRUE(cache.set("k", "v", 0ms).ok());
  server_->stop();
  auto failed = cache.get("k");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::unavailable);
  EXPECT_TRUE(cache.cooling_down());
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(cache.get("k").ok());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 50ms);  // no timeouts paid
  EXPECT_EQ(requests("error"), 101);

  ASSERT_TRUE(server_->start().ok());  // same port, empty (no persistence)
  EXPECT_FALSE(cache.get("k").ok());   // still cooling down
  clock.advance(1001ms);
  ASSERT_TRUE(cache.set("k", "v2", 0ms).ok());
  EXPECT_EQ(cache.get("k")->value_or(""), "v2");
}

TEST_F(RedisTest, CatalogReadsSurviveRedisOutageAndHitsResume) {
  auto db = SqliteDatabase::open(SqliteOptions{});
  ASSERT_TRUE(db.ok());
  auto inner = std::make_shared<SqliteCatalogStore>(*db);
  const auto category = *inner->insert_category({0, "c", "C"});
  const auto id = *inner->insert_product(Product{0, category, "S", "Mug", "", 900, 3, 1, {}});
  auto o = options();
  o.cooldown = 200ms;
  auto cache = std::make_shared<RedisCache>(o);
  CachingCatalogStore catalog(inner, cache);

  int failed = 0;
  auto read_all = [&] {
    if (!catalog.product(id).ok() || !catalog.list_products(ProductQuery{}).ok() ||
        !catalog.categories().ok()) {
      ++failed;
    }
  };
  for (int i = 0; i < 10; ++i) {
    read_all();
  }
  const double hits_before = requests("hit");
  EXPECT_GT(hits_before, 20);

  server_->stop();
  const auto stopped = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) {
    read_all();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 2s);
  EXPECT_EQ(failed, 0);
  EXPECT_GT(requests("error"), 0);

  ASSERT_TRUE(server_->start().ok());
  std::this_thread::sleep_for(250ms);  // the cool-down, on the system clock here
  for (int i = 0; i < 10; ++i) {
    read_all();
  }
  EXPECT_EQ(failed, 0);
  EXPECT_GT(requests("hit"), hits_before + 20);  // cached again after the first misses
  EXPECT_EQ(catalog.product(id)->name, "Mug");
}

}  // namespace
}  // namespace crest::store
