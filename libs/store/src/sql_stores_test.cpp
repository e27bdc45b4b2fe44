// What every SQL store (SqlCatalogStore, SqlUserStore, SqlOrderStore) does, run on both
// databases from one test body: SQLite (a fresh file per test) and MariaDB (a primary started by
// the test, mariadb_test_support.hpp; a fresh database per test).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <ostream>
#include <thread>

#include <gtest/gtest.h>

#include "crest/store/mysql.hpp"
#include "crest/store/sqlite.hpp"
#include "mariadb_test_support.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;

enum class Database { sqlite, mysql };

const char* name_of(Database database) {
  return database == Database::sqlite ? "sqlite" : "mysql";
}
void PrintTo(Database database, std::ostream* out) {
  *out << name_of(database);
}

class SqlStoresTest : public ::testing::TestWithParam<Database> {
 protected:
  void SetUp() override {
    if (GetParam() == Database::mysql) {
      std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
      std::replace(name.begin(), name.end(), '/', '_');
      database_ = "t_" + name;
      ASSERT_NO_FATAL_FAILURE(test::recreate_database(mariadb(), database_));
    }
    db_ = open();
    ASSERT_TRUE(db_);
    catalog_ = std::make_unique<SqlCatalogStore>(db_, clock_);
    users_ = std::make_unique<SqlUserStore>(db_, clock_);
    orders_ = std::make_unique<SqlOrderStore>(db_, clock_);
    books_ = *catalog_->insert_category({0, "books", "Books"});
    toys_ = *catalog_->insert_category({0, "toys", "Toys"});
  }

  static stack::MariaDbCluster& mariadb() { return test::mariadb_cluster(/*replicas=*/0); }

  // The test's database, opened again (the schema is applied again, idempotently).
  SqlDatabasePtr open() {
    if (GetParam() == Database::sqlite) {
      auto db = SqliteDatabase::open(SqliteOptions{path(), 4, 10000ms, nullptr});
      EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
      return db.ok() ? *db : nullptr;
    }
    MysqlOptions options;
    options.primary = test::mariadb_endpoint(mariadb(), mariadb().primary(), database_);
    options.pool_size = 4;
    // More threads than connections wait their turn here; bounded pool waits are
    // mysql_stores_test's (on a loaded machine 1 s is not always enough for a turn).
    options.pool_wait_timeout = 10s;
    auto db = MysqlDatabase::open(options, clock_);
    EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
    return db.ok() ? *db : nullptr;
  }

  std::string path() const { return (dir_.path / "store.db").string(); }

  std::int64_t add(std::int64_t category, const std::string& sku, const std::string& name,
                   const std::string& description, std::int64_t price, std::int64_t stock) {
    auto id =
        catalog_->insert_product(Product{0, category, sku, name, description, price, stock, 1, {}});
    EXPECT_TRUE(id.ok()) << (id.ok() ? "" : id.error().message);
    clock_.advance(1s);
    return *id;
  }

  static NewOrder new_order(const std::string& key) {
    return NewOrder{7, key, {{2, 1, 300}, {1, 2, 100}}, 500, {}};
  }

  // A fresh folder per test for the SQLite file, removed afterwards (with its WAL files).
  struct TempDir {
    TempDir() {
      static std::atomic<int> counter{0};
      path = std::filesystem::temp_directory_path() /
             ("crest_sql_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
      std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::filesystem::path path;
  };

  TempDir dir_;
  std::string database_;
  ManualClock clock_;
  SqlDatabasePtr db_;
  std::unique_ptr<SqlCatalogStore> catalog_;
  std::unique_ptr<SqlUserStore> users_;
  std::unique_ptr<SqlOrderStore> orders_;
  std::int64_t books_ = 0;
  std::int64_t toys_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Databases, SqlStoresTest,
                         ::testing::Values(Database::sqlite, Database::mysql),
                         [](const ::testing::TestParamInfo<Database>& param) {
                           return std::string(name_of(param.param));
                         });

TEST_P(SqlStoresTest, ListFiltersSearchesPaginatesAndSorts) {
  const auto a = add(books_, "B1", "Red Book", "a novel", 500, 1);
  const auto b = add(books_, "B2", "Blue book", "poems about RED skies", 300, 1);
  const auto c = add(toys_, "T1", "Red Car", "toy", 900, 1);
  const auto d = add(toys_, "T2", "Kite", "flies", 100, 1);

  auto all = catalog_->list_products({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total, 4);
  ASSERT_EQ(all->items.size(), 4u);
  EXPECT_EQ(all->items[0].id, a);

  ProductQuery by_category;
  by_category.category_id = toys_;
  auto toys = catalog_->list_products(by_category);
  ASSERT_TRUE(toys.ok());
  ASSERT_EQ(toys->total, 2);
  EXPECT_EQ(toys->items[0].id, c);
  EXPECT_EQ(toys->items[1].id, d);

  // Case-insensitive over name and description; name matches rank first.
  ProductQuery red;
  red.text = "rEd";
  auto reds = catalog_->list_products(red);
  ASSERT_TRUE(reds.ok());
  ASSERT_EQ(reds->total, 3);
  EXPECT_EQ(reds->items[0].id, a);
  EXPECT_EQ(reds->items[1].id, c);
  EXPECT_EQ(reds->items[2].id, b);

  ProductQuery cheap;
  cheap.sort = ProductSort::price_asc;
  cheap.page = 2;
  cheap.page_size = 3;
  auto page2 = catalog_->list_products(cheap);
  ASSERT_TRUE(page2.ok());
  EXPECT_EQ(page2->total, 4);
  EXPECT_EQ(page2->page, 2);
  ASSERT_EQ(page2->items.size(), 1u);
  EXPECT_EQ(page2->items[0].id, c);  // the most expensive

  ProductQuery by_price_desc;
  by_price_desc.sort = ProductSort::price_desc;
  EXPECT_EQ(catalog_->list_products(by_price_desc)->items[0].id, c);
  ProductQuery by_name;
  by_name.sort = ProductSort::name_asc;
  EXPECT_EQ(catalog_->list_products(by_name)->items[0].id, b);  // "Blue book"
  ProductQuery newest;
  newest.sort = ProductSort::newest;
  EXPECT_EQ(catalog_->list_products(newest)->items[0].id, d);

  ProductQuery too_big;
  too_big.page_size = 101;
  EXPECT_EQ(catalog_->list_products(too_big).error().kind, ErrorKind::invalid_argument);
  ProductQuery page0;
  page0.page = 0;
  EXPECT_EQ(catalog_->list_products(page0).error().kind, ErrorKind::invalid_argument);
}

TEST_P(SqlStoresTest, ProductLookupsAndAdminChanges) {
  const auto a = add(books_, "B1", "Book", "", 500, 3);
  EXPECT_EQ(catalog_->product(999).error().kind, ErrorKind::not_found);
  auto batch = catalog_->products({a, 999, a});
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_EQ((*batch)[0].sku, "B1");

  ASSERT_TRUE(catalog_->set_price(a, 650).ok());
  ASSERT_TRUE(catalog_->set_stock(a, 9).ok());
  auto p = catalog_->product(a);
  EXPECT_EQ(p->price_cents, 650);
  EXPECT_EQ(p->stock, 9);
  EXPECT_EQ(p->version, 3);
  EXPECT_EQ(catalog_->set_price(999, 1).error().kind, ErrorKind::not_found);
  EXPECT_EQ(catalog_->set_stock(a, -1).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(catalog_->insert_product(Product{0, books_, "B1", "dup", "", 1, 1, 1, {}}).error().kind,
            ErrorKind::conflict);
  EXPECT_EQ(catalog_->insert_category({0, "books", "again"}).error().kind, ErrorKind::conflict);
  EXPECT_EQ(catalog_->insert_product(Product{0, 999, "X", "x", "", 1, 1, 1, {}}).error().kind,
            ErrorKind::invalid_argument);                             // unknown category
  EXPECT_EQ(*catalog_->insert_category({77, "games", "Games"}), 77);  // an id of its own
  EXPECT_EQ(*catalog_->insert_product(Product{500, 77, "G1", "Go", "", 1, 1, 1, {}}), 500);
  EXPECT_EQ(catalog_->product(500)->category_id, 77);
  EXPECT_EQ(catalog_->categories()->size(), 3u);
}

TEST_P(SqlStoresTest, ReserveIsAllOrNothingAndIdempotentPerOrder) {
  const auto a = add(books_, "B1", "A", "", 100, 5);
  const auto b = add(books_, "B2", "B", "", 100, 1);

  auto short_of_b = catalog_->reserve_stock(1, {{a, 2, 100}, {b, 2, 100}});
  ASSERT_FALSE(short_of_b.ok());
  EXPECT_EQ(short_of_b.error().kind, ErrorKind::conflict);
  EXPECT_NE(short_of_b.error().message.find(std::to_string(b)), std::string::npos);
  EXPECT_EQ(catalog_->product(a)->stock, 5);  // nothing taken from a either

  ASSERT_TRUE(catalog_->reserve_stock(2, {{a, 2, 100}, {b, 1, 100}}).ok());
  ASSERT_TRUE(catalog_->reserve_stock(2, {{a, 2, 100}, {b, 1, 100}}).ok());  // a retry
  EXPECT_EQ(catalog_->product(a)->stock, 3);
  EXPECT_EQ(catalog_->product(b)->stock, 0);

  EXPECT_EQ(catalog_->reserve_stock(3, {{999, 1, 1}}).error().kind, ErrorKind::not_found);

  ASSERT_TRUE(catalog_->release_stock(2).ok());
  ASSERT_TRUE(catalog_->release_stock(2).ok());  // once only
  EXPECT_EQ(catalog_->product(a)->stock, 5);
  EXPECT_EQ(catalog_->product(b)->stock, 1);
  EXPECT_EQ(catalog_->product(a)->version, 3);    // inserted, reserved, released
  ASSERT_TRUE(catalog_->release_stock(42).ok());  // nothing reserved: nothing to do
}

TEST_P(SqlStoresTest, ConcurrentReservationsNeverOversell) {
  const auto a = add(books_, "A", "A", "", 100, 50);
  const auto b = add(books_, "B", "B", "", 100, 1000);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 15;  // 120 attempts for 50 in stock
  std::atomic<int> succeeded{0};
  std::atomic<int> other_errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::int64_t order_id = t * 1000 + i + 1;
        // Two products in each order, listed in both orders: no deadlock may leak out.
        const std::vector<OrderLine> lines = t % 2 == 0
                                                 ? std::vector<OrderLine>{{a, 1, 100}, {b, 1, 100}}
                                                 : std::vector<OrderLine>{{b, 1, 100}, {a, 1, 100}};
        auto r = catalog_->reserve_stock(order_id, lines);
        if (r.ok()) {
          ++succeeded;
          auto retry = catalog_->reserve_stock(order_id, lines);  // a retry changes nothing
          EXPECT_TRUE(retry.ok()) << retry.error().message;
        } else if (r.error().kind != ErrorKind::conflict) {
          ++other_errors;
          ADD_FAILURE() << r.error().message;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(other_errors.load(), 0);
  EXPECT_EQ(succeeded.load(), 50);
  EXPECT_EQ(catalog_->product(a, Consistency::strong)->stock, 0);
  EXPECT_EQ(catalog_->product(b, Consistency::strong)->stock, 950);
}

TEST_P(SqlStoresTest, EmailIsUniqueCaseInsensitively) {
  auto created = users_->create_user("Alice@Example.COM", "Alice", "hash");
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->email, "alice@example.com");
  EXPECT_EQ(created->created_at, clock_.wall_now());
  auto again = users_->create_user("alice@EXAMPLE.com", "Other", "hash2");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);
  auto found = users_->user_by_email("ALICE@example.com");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->id, created->id);
  EXPECT_EQ(found->password_hash, "hash");
  EXPECT_EQ(users_->user_by_id(created->id)->name, "Alice");
  EXPECT_EQ(users_->user_by_id(999).error().kind, ErrorKind::not_found);
  EXPECT_EQ(users_->user_by_email("bob@example.com").error().kind, ErrorKind::not_found);
}

TEST_P(SqlStoresTest, CreateWritesOrderLinesAndOutboxOnce) {
  auto first = orders_->create_order(new_order("k1"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->order.status, OrderStatus::pending);
  EXPECT_EQ(first->order.total_cents, 500);
  EXPECT_EQ(first->order.lines, (std::vector<OrderLine>{{1, 2, 100}, {2, 1, 300}}));

  auto again = orders_->create_order(new_order("k1"));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->order.id, first->order.id);
  auto by_key = orders_->order_by_idempotency_key(first->order.user_id, "k1");
  ASSERT_TRUE(by_key.ok());
  EXPECT_EQ(by_key->id, first->order.id);
  EXPECT_EQ(orders_->order_by_idempotency_key(first->order.user_id, "k9").error().kind,
            ErrorKind::not_found);
  EXPECT_EQ(orders_->order_by_idempotency_key(first->order.user_id + 1, "k1").error().kind,
            ErrorKind::not_found);

  auto outbox = orders_->pending_outbox(10);
  ASSERT_TRUE(outbox.ok());
  ASSERT_EQ(outbox->size(), 1u);
  EXPECT_EQ((*outbox)[0].payload, "{\"order_id\":" + std::to_string(first->order.id) + "}");
  ASSERT_TRUE(orders_->mark_outbox_sent({(*outbox)[0].id}).ok());
  ASSERT_TRUE(orders_->mark_outbox_sent({(*outbox)[0].id}).ok());
  EXPECT_TRUE(orders_->pending_outbox(10)->empty());

  EXPECT_EQ(orders_->create_order(NewOrder{7, "k2", {}, 0, {}}).error().kind,
            ErrorKind::invalid_argument);
  EXPECT_EQ(orders_->create_order(NewOrder{7, "", {{1, 1, 1}}, 1, {}}).error().kind,
            ErrorKind::invalid_argument);
}

TEST_P(SqlStoresTest, RelaysClaimOutboxRowsForALease) {
  ASSERT_TRUE(orders_->create_order(new_order("k1")).ok());
  auto first = orders_->pending_outbox(10);
  ASSERT_EQ(first->size(), 1u);
  EXPECT_TRUE(orders_->pending_outbox(10)->empty());  // another relay's claim
  clock_.advance(std::chrono::seconds(11));           // that relay died: its lease ran out
  auto again = orders_->pending_outbox(10);
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().id, first->front().id);
  ASSERT_TRUE(orders_->mark_outbox_sent({again->front().id}).ok());
  clock_.advance(std::chrono::seconds(11));
  EXPECT_TRUE(orders_->pending_outbox(10)->empty());
}

TEST_P(SqlStoresTest, OutboxCarriesTheTraceIdAndBacklogCountsEverything) {
  const auto t0 = clock_.wall_now();
  auto order = new_order("traced");
  order.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  ASSERT_TRUE(orders_->create_order(order).ok());
  clock_.advance(std::chrono::seconds(5));
  ASSERT_TRUE(orders_->create_order(new_order("plain")).ok());
  auto outbox = orders_->pending_outbox(10);
  ASSERT_EQ(outbox->size(), 2u);
  EXPECT_NE((*outbox)[0].payload.find("\"trace_id\":\"4bf92f3577b34da6a3ce929d0e0e4736\""),
            std::string::npos)
      << (*outbox)[0].payload;
  EXPECT_EQ((*outbox)[1].payload.find("trace_id"), std::string::npos);

  auto backlog = orders_->backlog();
  ASSERT_TRUE(backlog.ok()) << backlog.error().message;
  EXPECT_EQ(backlog->unsent_outbox, 2);
  EXPECT_EQ(backlog->pending_orders, 2);
  EXPECT_EQ(backlog->oldest_pending_created_at, t0);
  const auto cutoff = t0 + std::chrono::seconds(1);
  const auto stale = orders_->pending_orders_created_before(cutoff, 0, 10);
  ASSERT_EQ(stale->size(), 1u);
  EXPECT_TRUE(orders_->pending_orders_created_before(cutoff, stale->front(), 10)->empty());
  ASSERT_TRUE(
      orders_->set_status(stale->front(), OrderStatus::pending, OrderStatus::confirmed).ok());
  EXPECT_EQ(orders_->backlog()->pending_orders, 1);
  EXPECT_EQ(orders_->backlog()->oldest_pending_created_at, t0 + std::chrono::seconds(5));
}

TEST_P(SqlStoresTest, ConcurrentSameKeyMakesOneOrder) {
  constexpr int kThreads = 6;
  std::vector<Result<CreatedOrder>> results(kThreads, Error{ErrorKind::internal, "not run"});
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      results[static_cast<std::size_t>(t)] = orders_->create_order(new_order("same"));
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  int created = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().message;
    created += r->created ? 1 : 0;
    EXPECT_EQ(r->order.id, results[0]->order.id);
  }
  EXPECT_EQ(created, 1);
  EXPECT_EQ(orders_->orders_for_user(7, 100)->size(), 1u);
  EXPECT_EQ(orders_->pending_outbox(100)->size(), 1u);
}

TEST_P(SqlStoresTest, StatusChangesOnlyFromTheExpectedState) {
  const auto id = orders_->create_order(new_order("k"))->order.id;
  clock_.advance(5s);
  ASSERT_TRUE(orders_->set_status(id, OrderStatus::pending, OrderStatus::failed, "no stock").ok());
  auto again = orders_->set_status(id, OrderStatus::pending, OrderStatus::confirmed);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);
  auto o = orders_->order(id);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->status, OrderStatus::failed);
  EXPECT_EQ(o->failure_reason, "no stock");
  EXPECT_EQ(o->updated_at - o->created_at, 5s);
  EXPECT_EQ(orders_->set_status(999, OrderStatus::pending, OrderStatus::confirmed).error().kind,
            ErrorKind::not_found);
  EXPECT_EQ(orders_->order(999).error().kind, ErrorKind::not_found);
}

TEST_P(SqlStoresTest, OrdersForUserNewestFirst) {
  const auto a = orders_->create_order(new_order("a"))->order.id;
  const auto b = orders_->create_order(new_order("b"))->order.id;
  ASSERT_TRUE(orders_->create_order(NewOrder{8, "a", {{1, 1, 1}}, 1, {}}).ok());
  auto mine = orders_->orders_for_user(7, 10);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 2u);
  EXPECT_EQ((*mine)[0].id, b);
  EXPECT_EQ((*mine)[1].id, a);
  EXPECT_EQ(orders_->orders_for_user(7, 1)->size(), 1u);
  EXPECT_EQ(orders_->orders_for_user(7, 0).error().kind, ErrorKind::invalid_argument);
}

TEST_P(SqlStoresTest, ReopeningKeepsTheSchemaAndTheData) {
  ASSERT_TRUE(users_->create_user("a@x.io", "A", "h").ok());
  const auto id = orders_->create_order(new_order("k"))->order.id;
  auto reopened = open();
  ASSERT_TRUE(reopened);
  EXPECT_TRUE(SqlUserStore(reopened, clock_).user_by_email("a@x.io").ok());
  EXPECT_EQ(SqlOrderStore(reopened, clock_).order(id)->id, id);
}

}  // namespace
}  // namespace crest::store
