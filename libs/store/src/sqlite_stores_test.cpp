#include <unistd.h>
#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "cart_store_contract.hpp"
#include "crest/metrics/registry.hpp"
#include "crest/store/sqlite.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;

// A fresh database file per test, removed afterwards (with its WAL files).
class TempDb {
 public:
  TempDb() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("crest_store_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(dir_);
  }
  ~TempDb() { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "store.db").string(); }

 private:
  std::filesystem::path dir_;
};

SqliteDatabasePtr open_db(const std::string& path, std::size_t pool = 4,
                          metrics::Registry* registry = nullptr) {
  auto db = SqliteDatabase::open(SqliteOptions{path, pool, 10000ms, registry});
  EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
  return *db;
}

TEST(SqliteDatabaseTest, InMemoryPoolSharesOneDatabaseAcrossThreads) {
  auto db = open_db(":memory:", 4);
  SqliteCartStore carts(db);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        ASSERT_TRUE(carts.add_item(1, 7, 1).ok());
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(carts.get(1)->lines, (std::vector<CartLine>{{7, 100}}));
}

TEST(SqliteDatabaseTest, ReopeningAppliesSchemaIdempotentlyAndKeepsData) {
  TempDb tmp;
  {
    SqlUserStore users(open_db(tmp.path()));
    ASSERT_TRUE(users.create_user("a@x.io", "A", "h").ok());
  }
  SqlUserStore users(open_db(tmp.path()));
  EXPECT_TRUE(users.user_by_email("a@x.io").ok());
}

TEST(SqliteDatabaseTest, RecordsQueryMetrics) {
  metrics::Registry registry;
  auto db = open_db(":memory:", 1, &registry);
  SqliteSessionStore sessions(db);
  ASSERT_TRUE(sessions.erase("x").ok());
  const std::string text = registry.render();
  EXPECT_NE(text.find("crest_db_queries_total{db_server=\"sqlite\",operation=\"write\"}"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("crest_db_query_duration_seconds_bucket{db_server=\"sqlite\""),
            std::string::npos);
}

TEST(SqliteSessionStoreTest, ExpiresByTheInjectedClock) {
  ManualClock clock;
  SqliteSessionStore sessions(open_db(":memory:"), clock);
  ASSERT_TRUE(sessions.put({"tok", 42, clock.wall_now() + 10min}).ok());
  auto s = sessions.get("tok");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->user_id, 42);
  clock.advance(9min);
  EXPECT_TRUE(sessions.get("tok").ok());
  clock.advance(1min);
  EXPECT_EQ(sessions.get("tok").error().kind, ErrorKind::not_found);
  ASSERT_TRUE(sessions.put({"tok", 42, clock.wall_now() + 10min}).ok());  // renewal
  EXPECT_TRUE(sessions.get("tok").ok());
  ASSERT_TRUE(sessions.erase("tok").ok());
  EXPECT_EQ(sessions.get("tok").error().kind, ErrorKind::not_found);
  EXPECT_TRUE(sessions.erase("tok").ok());
}

TEST(SqliteCartStoreTest, AddsSetsRemovesAndClears) {
  SqliteCartStore carts(open_db(":memory:"));
  EXPECT_TRUE(carts.get(1)->lines.empty());
  ASSERT_TRUE(carts.add_item(1, 9, 2).ok());
  ASSERT_TRUE(carts.add_item(1, 3, 1).ok());
  auto cart = carts.add_item(1, 9, 3);
  ASSERT_TRUE(cart.ok());
  EXPECT_EQ(cart->lines, (std::vector<CartLine>{{3, 1}, {9, 5}}));
  EXPECT_EQ(carts.set_quantity(1, 3, 4)->lines, (std::vector<CartLine>{{3, 4}, {9, 5}}));
  EXPECT_EQ(carts.set_quantity(1, 3, 0)->lines, (std::vector<CartLine>{{9, 5}}));
  EXPECT_EQ(carts.remove_item(1, 3).error().kind, ErrorKind::not_found);
  EXPECT_TRUE(carts.remove_item(1, 9)->lines.empty());
  EXPECT_EQ(carts.add_item(1, 9, 0).error().kind, ErrorKind::invalid_argument);
  ASSERT_TRUE(carts.add_item(1, 9, 1).ok());
  ASSERT_TRUE(carts.clear(1).ok());
  EXPECT_TRUE(carts.get(1)->lines.empty());
}

TEST(SqliteCartStoreTest, ClaimsTakeExactlyTheLinesRead) {
  SqliteCartStore carts(open_db(":memory:"));
  contract::claims_take_exactly_the_lines_read(carts, 1);
}

TEST(SqliteCartStoreTest, ConcurrentClaimsOfOneCartMakeOneWinner) {
  TempDb tmp;
  auto db = open_db(tmp.path(), 4);
  contract::concurrent_claims_of_one_cart_make_one_winner(
      [&] { return std::make_unique<SqliteCartStore>(db); }, 1);
}

TEST(SqliteCartStoreTest, LineQuantityIsLimitedOnAdd) {
  SqliteCartStore carts(open_db(":memory:"));
  contract::line_quantity_is_limited_on_add(carts, 1);
}

TEST(SqliteCartStoreTest, ConcurrentAddsLoseNothing) {
  TempDb tmp;
  SqliteCartStore carts(open_db(tmp.path(), 4));
  constexpr int kThreads = 8;
  constexpr int kAdds = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAdds; ++i) {
        if (!carts.add_item(5, 100 + (i % 2), t + 1).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  // Each thread t adds (t+1) kAdds times, split over two products.
  const std::int64_t per_product = (kAdds / 2) * (kThreads * (kThreads + 1) / 2);
  EXPECT_EQ(carts.get(5)->lines, (std::vector<CartLine>{{100, per_product}, {101, per_product}}));
}

}  // namespace
}  // namespace crest::store
