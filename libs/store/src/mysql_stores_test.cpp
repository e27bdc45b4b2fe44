// Against real MariaDB servers: one primary and two GTID replicas started by the test on free
// loopback ports (crest::stack::MariaDbCluster), shared by the tests of this process, each test
// in its own database.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <filesystem>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "crest/metrics/registry.hpp"
#include "crest/stack/mariadb_cluster.hpp"
#include "crest/store/mysql.hpp"
#include "mysql_internal.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;
using stack::MariaDbCluster;

std::unique_ptr<MariaDbCluster>& cluster_slot() {
  static std::unique_ptr<MariaDbCluster> cluster;
  return cluster;
}

std::filesystem::path cluster_dir() {
  return std::filesystem::temp_directory_path() /
         ("crest_mysql_test_" + std::to_string(::getpid()));
}

// Started on first use, so the other tests of the binary never pay for it.
MariaDbCluster& cluster() {
  auto& slot = cluster_slot();
  if (!slot) {
    std::filesystem::remove_all(cluster_dir());
    stack::MariaDbClusterOptions options;
    options.innodb_buffer_pool_mb = 64;
    auto started = MariaDbCluster::start(cluster_dir(), options);
    if (!started.ok()) {
      ADD_FAILURE() << "MariaDB cluster: " << started.error().message;
      std::abort();
    }
    slot = std::move(*started);
  }
  return *slot;
}

class ClusterEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (cluster_slot()) {
      cluster_slot()->stop(/*crash=*/true);  // the data is thrown away anyway
      cluster_slot().reset();
      std::filesystem::remove_all(cluster_dir());
    }
  }
};
[[maybe_unused]] const auto* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new ClusterEnvironment);

MysqlEndpoint endpoint(const stack::MariaDbServer& s, const std::string& database) {
  const auto& o = cluster().options();
  return MysqlEndpoint{s.name, s.host, s.port, o.user, o.password, database};
}

class MysqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    database_ = std::string("t_") + info->name();
    // Fresh each time: with --gtest_repeat the cluster (and yesterday's rows) stays up.
    ASSERT_TRUE(cluster().execute(0, "DROP DATABASE IF EXISTS " + database_).ok());
    auto created = cluster().create_database(database_);
    ASSERT_TRUE(created.ok()) << created.error().message;
  }

  MysqlOptions options(bool replicas = true) {
    MysqlOptions o;
    o.primary = endpoint(cluster().primary(), database_);
    if (replicas) {
      for (int i = 0; i < cluster().replica_count(); ++i) {
        o.replicas.push_back(endpoint(cluster().replica(i), database_));
      }
    }
    o.pool_size = 4;
    o.probe_interval = 100ms;
    o.max_replica_lag = 1s;
    o.metrics = &registry_;
    return o;
  }

  MysqlDatabasePtr open(const MysqlOptions& o) {
    auto db = MysqlDatabase::open(o, clock_);
    EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
    return db.ok() ? *db : nullptr;
  }

  double reads(const std::string& server) {
    return registry_
        .counter_family("crest_db_queries_total", "Database operations (transactions) run.",
                        {"db_server", "operation"})
        .with({server, "read"})
        .value();
  }

  // Seeds a category and a product on the primary and waits until the replicas have them.
  std::int64_t seed(MysqlCatalogStore& catalog, std::int64_t stock = 10) {
    const auto category = catalog.insert_category({0, "books", "Books"});
    EXPECT_TRUE(category.ok()) << category.error().message;
    const auto id = catalog.insert_product(
        Product{0, *category, "B1", "Red Book", "a novel", 500, stock, 1, {}});
    EXPECT_TRUE(id.ok()) << id.error().message;
    EXPECT_TRUE(cluster().wait_for_replicas(10s).ok());
    return *id;
  }

  template <typename Predicate>
  bool eventually(Predicate&& done, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) {
        return false;
      }
      std::this_thread::sleep_for(20ms);
    }
    return true;
  }

  std::string database_;
  metrics::Registry registry_;
  SystemClock clock_;
};

TEST_F(MysqlTest, CatalogListsSearchesReservesAndReleases) {
  auto db = open(options(false));
  ASSERT_TRUE(db);
  MysqlCatalogStore catalog(db, clock_);
  const auto books = *catalog.insert_category({0, "books", "Books"});
  const auto toys = *catalog.insert_category({0, "toys", "Toys"});
  EXPECT_EQ(catalog.insert_category({0, "books", "Again"}).error().kind, ErrorKind::conflict);
  const auto a =
      *catalog.insert_product(Product{0, books, "B1", "Red Book", "a novel", 500, 5, 1, {}});
  const auto b = *catalog.insert_product(
      Product{0, books, "B2", "Blue book", "about RED skies", 300, 1, 1, {}});
  const auto c = *catalog.insert_product(Product{0, toys, "T1", "Kite", "flies", 100, 1, 1, {}});
  EXPECT_EQ(catalog.insert_product(Product{0, 999, "X", "x", "", 1, 1, 1, {}}).error().kind,
            ErrorKind::invalid_argument);  // unknown category

  ProductQuery q;
  q.text = "red";
  auto page = catalog.list_products(q);
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->total, 2);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].id, a);  // a name match ranks first
  q = ProductQuery{};
  q.sort = ProductSort::price_asc;
  q.page_size = 2;
  q.page = 2;
  page = catalog.list_products(q);
  EXPECT_EQ(page->total, 3);
  ASSERT_EQ(page->items.size(), 1u);
  EXPECT_EQ(page->items[0].id, a);
  q = ProductQuery{};
  q.category_id = toys;
  EXPECT_EQ(catalog.list_products(q)->items.at(0).id, c);
  EXPECT_EQ(catalog.categories()->size(), 2u);
  EXPECT_EQ(catalog.products({c, 999, a, a})->size(), 2u);

  auto short_of_b = catalog.reserve_stock(1, {{a, 2, 100}, {b, 2, 100}});
  ASSERT_FALSE(short_of_b.ok());
  EXPECT_EQ(short_of_b.error().kind, ErrorKind::conflict);
  EXPECT_EQ(catalog.product(a)->stock, 5);  // all or nothing
  ASSERT_TRUE(catalog.reserve_stock(2, {{a, 2, 100}, {b, 1, 100}}).ok());
  ASSERT_TRUE(catalog.reserve_stock(2, {{a, 2, 100}, {b, 1, 100}}).ok());  // idempotent
  EXPECT_EQ(catalog.product(a)->stock, 3);
  EXPECT_EQ(catalog.product(b)->stock, 0);
  EXPECT_EQ(catalog.reserve_stock(3, {{999, 1, 1}}).error().kind, ErrorKind::not_found);
  ASSERT_TRUE(catalog.release_stock(2).ok());
  ASSERT_TRUE(catalog.release_stock(2).ok());  // once only
  EXPECT_EQ(catalog.product(a)->stock, 5);
  EXPECT_EQ(catalog.product(b)->stock, 1);
  EXPECT_EQ(catalog.product(a)->version, 3);  // inserted, reserved, released

  ASSERT_TRUE(catalog.set_price(a, 450).ok());
  EXPECT_EQ(catalog.product(a)->price_cents, 450);
  EXPECT_EQ(catalog.set_price(999, 1).error().kind, ErrorKind::not_found);
  EXPECT_EQ(catalog.set_stock(a, -1).error().kind, ErrorKind::invalid_argument);
}

TEST_F(MysqlTest, ConcurrentReservationsNeverOversell) {
  auto db = open(options(false));
  ASSERT_TRUE(db);
  MysqlCatalogStore catalog(db, clock_);
  const auto category = *catalog.insert_category({0, "c", "C"});
  const auto a = *catalog.insert_product(Product{0, category, "A", "A", "", 100, 50, 1, {}});
  const auto b = *catalog.insert_product(Product{0, category, "B", "B", "", 100, 1000, 1, {}});
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
        auto r = catalog.reserve_stock(order_id, lines);
        if (r.ok()) {
          ++succeeded;
          EXPECT_TRUE(catalog.reserve_stock(order_id, lines).ok());  // a retry changes nothing
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
  EXPECT_EQ(catalog.product(a, Consistency::strong)->stock, 0);
  EXPECT_EQ(catalog.product(b, Consistency::strong)->stock, 950);
}

TEST_F(MysqlTest, OrdersAreIdempotentWithOutboxAndStatusCompareAndSet) {
  auto db = open(options(false));
  ASSERT_TRUE(db);
  MysqlOrderStore orders(db, clock_);
  const NewOrder new_order{7, "key-1", {{2, 1, 300}, {1, 2, 100}}, 500, {}};

  constexpr int kThreads = 6;
  std::vector<Result<CreatedOrder>> results(kThreads, Error{ErrorKind::internal, "not run"});
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back(
        [&, t] { results[static_cast<std::size_t>(t)] = orders.create_order(new_order); });
  }
  for (auto& t : threads) {
    t.join();
  }
  int created = 0;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().message;
    created += r->created ? 1 : 0;
    EXPECT_EQ(r->order.id, results[0]->order.id);
    EXPECT_EQ(r->order.lines, (std::vector<OrderLine>{{1, 2, 100}, {2, 1, 300}}));
  }
  EXPECT_EQ(created, 1);
  const auto id = results[0]->order.id;
  EXPECT_EQ(orders.orders_for_user(7, 100)->size(), 1u);
  EXPECT_EQ(orders.order_by_idempotency_key(7, "key-1")->id, id);
  EXPECT_EQ(orders.order_by_idempotency_key(7, "KEY-1").error().kind, ErrorKind::not_found);
  EXPECT_EQ(orders.create_order(NewOrder{7, "k2", {}, 0, {}}).error().kind,
            ErrorKind::invalid_argument);

  auto outbox = orders.pending_outbox(10);
  ASSERT_TRUE(outbox.ok()) << outbox.error().message;
  ASSERT_EQ(outbox->size(), 1u);
  EXPECT_EQ((*outbox)[0].payload, "{\"order_id\":" + std::to_string(id) + "}");
  ASSERT_TRUE(orders.mark_outbox_sent({(*outbox)[0].id, 12345}).ok());
  ASSERT_TRUE(orders.mark_outbox_sent({(*outbox)[0].id}).ok());
  EXPECT_TRUE(orders.pending_outbox(10)->empty());

  ASSERT_TRUE(orders.set_status(id, OrderStatus::pending, OrderStatus::failed, "no stock").ok());
  EXPECT_EQ(orders.set_status(id, OrderStatus::pending, OrderStatus::confirmed).error().kind,
            ErrorKind::conflict);
  auto o = orders.order(id);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->status, OrderStatus::failed);
  EXPECT_EQ(o->failure_reason, "no stock");
  EXPECT_EQ(orders.set_status(999, OrderStatus::pending, OrderStatus::confirmed).error().kind,
            ErrorKind::not_found);
  EXPECT_EQ(orders.order(999).error().kind, ErrorKind::not_found);

  MysqlUserStore users(db, clock_);
  auto alice = users.create_user("Alice@Example.COM", "Alice", "hash");
  ASSERT_TRUE(alice.ok()) << alice.error().message;
  EXPECT_EQ(users.create_user("alice@example.com", "A", "h").error().kind, ErrorKind::conflict);
  EXPECT_EQ(users.user_by_email("ALICE@example.com")->id, alice->id);
  EXPECT_EQ(users.user_by_id(alice->id)->password_hash, "hash");
  EXPECT_EQ(users.user_by_id(alice->id + 100).error().kind, ErrorKind::not_found);

  auto reopened = open(options(false));  // the schema is applied idempotently
  ASSERT_TRUE(reopened);
  EXPECT_EQ(MysqlOrderStore(reopened, clock_).order(id)->id, id);
}

TEST_F(MysqlTest, ReadsSpreadOverReplicasAndThePrimarySwitchKeepsThemThere) {
  auto db = open(options());
  ASSERT_TRUE(db);
  MysqlCatalogStore catalog(db, clock_);
  const auto id = seed(catalog);
  ASSERT_TRUE(db->router().usable(1));
  ASSERT_TRUE(db->router().usable(2));
  const double primary_before = reads("primary");
  for (int i = 0; i < 20; ++i) {
    auto p = catalog.product(id);
    ASSERT_TRUE(p.ok()) << p.error().message;
  }
  EXPECT_EQ(reads("primary"), primary_before);
  EXPECT_EQ(reads("replica1"), 10);
  EXPECT_EQ(reads("replica2"), 10);
  ASSERT_TRUE(catalog.product(id, Consistency::strong).ok());
  EXPECT_EQ(reads("primary"), primary_before + 1);

  // The baseline: `reads: primary`.
  metrics::Registry baseline_registry;
  auto o = options();
  o.use_replicas = false;
  o.metrics = &baseline_registry;
  auto baseline = open(o);
  ASSERT_TRUE(baseline);
  MysqlCatalogStore on_primary(baseline, clock_);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(on_primary.product(id).ok());
  }
  auto& total = baseline_registry.counter_family("crest_db_queries_total",
                                                 "Database operations (transactions) run.",
                                                 {"db_server", "operation"});
  EXPECT_EQ(total.with({"primary", "read"}).value(), 5);
  EXPECT_EQ(total.with({"replica1", "read"}).value(), 0);
}

TEST_F(MysqlTest, StoppedReplicaIsTakenOutAndComesBack) {
  auto db = open(options());
  ASSERT_TRUE(db);
  MysqlCatalogStore catalog(db, clock_);
  const auto id = seed(catalog);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(catalog.product(id).ok());  // warm connections on both replicas
  }
  const auto stopped_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(cluster().stop_replica(0, /*crash=*/true).ok());
  int failed = 0;
  std::optional<double> out_after;
  for (int i = 0; i < 200; ++i) {
    if (!catalog.product(id).ok()) {
      ++failed;
    }
    if (!out_after && !db->router().usable(1)) {
      out_after =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped_at).count();
    }
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(failed, 0);
  ASSERT_TRUE(out_after.has_value());
  std::cerr << "[ figures  ] replica1 taken out " << *out_after << " s after SIGKILL, 0 of 200 "
            << "reads failed\n";
  const double replica1_reads = reads("replica1");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(catalog.product(id).ok());
  }
  EXPECT_EQ(reads("replica1"), replica1_reads);  // no longer asked

  const auto restarted_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(cluster().start_replica(0).ok());
  ASSERT_TRUE(eventually([&] { return db->router().usable(1); }));
  std::cerr
      << "[ figures  ] replica1 back in rotation "
      << std::chrono::duration<double>(std::chrono::steady_clock::now() - restarted_at).count()
      << " s after its restart began\n";
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(catalog.product(id).ok());
  }
  EXPECT_GT(reads("replica1"), replica1_reads);
}

// A hung replica (SIGSTOP: it accepts TCP but never answers) costs one timeout, not an outage.
TEST_F(MysqlTest, HungReplicaCostsOneTimeoutThenLeavesTheReadSet) {
  auto o = options();
  o.replica_connect_timeout = 1s;
  o.replica_io_timeout = 1s;
  auto db = open(o);
  ASSERT_TRUE(db);
  MysqlCatalogStore catalog(db, clock_);
  const auto id = seed(catalog);
  ASSERT_TRUE(eventually([&] { return db->router().usable(1) && db->router().usable(2); }));
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(catalog.product(id).ok());  // warm connections on both replicas
  }
  const pid_t hung = cluster().pid(1);
  ASSERT_GT(hung, 0);
  // SIGCONT however the test ends, so the shared cluster serves the next tests.
  struct Resume {
    pid_t pid;
    ~Resume() { ::kill(pid, SIGCONT); }
  } resume{hung};
  ASSERT_EQ(::kill(hung, SIGSTOP), 0);
  const auto stopped_at = std::chrono::steady_clock::now();

  int failed = 0;
  int slow = 0;  // reads that waited for the hung replica
  std::chrono::steady_clock::duration slowest{};
  const double replica2_before = reads("replica2");
  for (int i = 0; i < 60; ++i) {
    const auto started = std::chrono::steady_clock::now();
    if (!catalog.product(id).ok()) ++failed;
    const auto took = std::chrono::steady_clock::now() - started;
    slowest = std::max(slowest, took);
    if (took > 500ms) ++slow;
    std::this_thread::sleep_for(5ms);
  }
  const auto total = std::chrono::steady_clock::now() - stopped_at;
  EXPECT_EQ(failed, 0);
  EXPECT_LE(slow, 1) << "every read routed to the hung replica waited for it";
  EXPECT_LT(slowest, 2500ms) << "one replica timeout (1 s) plus the retry on the primary";
  EXPECT_LT(total, 5s);
  EXPECT_FALSE(db->router().usable(1));
  EXPECT_GT(reads("replica2"), replica2_before);  // the other replica still serves
  std::cerr << "[ figures  ] replica1 SIGSTOPped: 60 reads, " << failed << " failed, " << slow
            << " slow, slowest " << std::chrono::duration<double>(slowest).count() << " s, total "
            << std::chrono::duration<double>(total).count() << " s\n";

  ASSERT_EQ(::kill(hung, SIGCONT), 0);
  ASSERT_TRUE(eventually([&] { return db->router().usable(1); }, 20s));
  ASSERT_TRUE(catalog.product(id).ok());
}

TEST_F(MysqlTest, LaggingReplicasStopServingAndReadYourWritesHolds) {
  auto db = open(options());
  ASSERT_TRUE(db);
  MysqlCatalogStore catalog(db, clock_);
  MysqlOrderStore orders(db, clock_);
  const auto product = seed(catalog);
  ASSERT_TRUE(cluster().set_replica_delay(0, 30s).ok());
  ASSERT_TRUE(cluster().set_replica_delay(1, 30s).ok());

  auto created = orders.create_order(NewOrder{42, "k", {{product, 1, 500}}, 500, {}});
  ASSERT_TRUE(created.ok()) << created.error().message;
  const auto order_id = created->order.id;
  // The replicas do not have it...
  EXPECT_EQ(*cluster().execute(1, "SELECT COUNT(*) FROM " + database_ + ".orders"), "0\n");
  // ...but the user reads their fresh order, even asking for `eventual`.
  const double primary_before = reads("primary");
  auto mine = orders.orders_for_user(42, 10);
  ASSERT_TRUE(mine.ok()) << mine.error().message;
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ(mine->at(0).id, order_id);
  EXPECT_EQ(orders.order(order_id)->status, OrderStatus::pending);
  EXPECT_EQ(reads("primary"), primary_before + 2);

  // Lag grows past the 1 s bound while the delayed event waits: both replicas are taken out.
  ASSERT_TRUE(eventually([&] { return !db->router().usable(1) && !db->router().usable(2); }));
  const double before = reads("primary");
  ASSERT_TRUE(catalog.product(product).ok());  // eventual, yet on the primary
  EXPECT_EQ(reads("primary"), before + 1);
  const std::string text = registry_.render();
  EXPECT_NE(text.find("crest_replica_usable{replica=\"replica1\"} 0"), std::string::npos);

  ASSERT_TRUE(cluster().set_replica_delay(0, 0s).ok());
  ASSERT_TRUE(cluster().set_replica_delay(1, 0s).ok());
  ASSERT_TRUE(eventually([&] { return db->router().usable(1) && db->router().usable(2); }));
}

TEST_F(MysqlTest, DeadlocksAreRetriedAndPoolWaitsAreBounded) {
  auto o = options(false);
  o.pool_size = 2;
  o.pool_wait_timeout = 100ms;
  auto db = open(o);
  ASSERT_TRUE(db);
  MysqlCatalogStore catalog(db, clock_);
  const auto category = *catalog.insert_category({0, "c", "C"});
  const auto a = *catalog.insert_product(Product{0, category, "A", "A", "", 1, 1, 1, {}});
  const auto b = *catalog.insert_product(Product{0, category, "B", "B", "", 1, 1, 1, {}});

  // Two transactions lock a and b in opposite orders: InnoDB kills one (1213), which is rerun.
  std::barrier both_hold_one(2);
  std::atomic<int> attempts{0};
  auto crossing = [&](std::int64_t first, std::int64_t second) {
    bool waited = false;
    return db->impl().write([&](soci::session& sql) -> Result<void> {
      ++attempts;
      sql << "UPDATE products SET stock = stock + 1 WHERE id = :id", soci::use(first);
      if (!waited) {
        waited = true;
        both_hold_one.arrive_and_wait();
      }
      sql << "UPDATE products SET stock = stock + 1 WHERE id = :id", soci::use(second);
      return {};
    });
  };
  Result<void> left;
  Result<void> right;
  std::thread t1([&] { left = crossing(a, b); });
  std::thread t2([&] { right = crossing(b, a); });
  t1.join();
  t2.join();
  EXPECT_TRUE(left.ok()) << left.error().message;
  EXPECT_TRUE(right.ok()) << right.error().message;
  EXPECT_EQ(attempts.load(), 3);
  EXPECT_EQ(catalog.product(a)->stock, 3);

  // Both pooled connections busy: the third caller gives up after pool_wait_timeout.
  std::barrier busy(3);
  auto hold = [&] {
    (void)db->impl().read(Consistency::strong, {}, [&](soci::session& sql) -> Result<void> {
      busy.arrive_and_wait();
      sql << "DO SLEEP(0.5)";
      return {};
    });
  };
  std::thread h1(hold);
  std::thread h2(hold);
  busy.arrive_and_wait();
  const auto started = std::chrono::steady_clock::now();
  auto starved = catalog.product(a, Consistency::strong);
  const auto waited = std::chrono::steady_clock::now() - started;
  h1.join();
  h2.join();
  ASSERT_FALSE(starved.ok());
  EXPECT_EQ(starved.error().kind, ErrorKind::unavailable);
  EXPECT_GE(waited, 90ms);
  EXPECT_LT(waited, 190ms);  // waited once, not retried on the same full pool
  EXPECT_NE(registry_.render().find("crest_db_pool_wait_seconds_count{db_server=\"primary\"}"),
            std::string::npos);
  EXPECT_TRUE(catalog.product(a, Consistency::strong).ok());  // free again
}

}  // namespace
}  // namespace crest::store
