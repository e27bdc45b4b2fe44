// MysqlDatabase's own behaviour (replica routing, the prober, lag, read-your-writes, deadlock
// retries, pool waits) against real MariaDB servers: one primary and two GTID replicas
// (mariadb_test_support.hpp). What every SQL store does on both databases is in
// sql_stores_test.cpp.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <filesystem>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "crest/metrics/registry.hpp"
#include "crest/store/mysql.hpp"
#include "mariadb_test_support.hpp"
#include "mysql_internal.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;
using stack::MariaDbCluster;

MariaDbCluster& cluster() {
  return test::mariadb_cluster(/*replicas=*/2);
}

MysqlEndpoint endpoint(const stack::MariaDbServer& s, const std::string& database) {
  return test::mariadb_endpoint(cluster(), s, database);
}

class MysqlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    database_ = std::string("t_") + info->name();
    test::recreate_database(cluster(), database_);
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
    o.reads.max_replica_lag = 1s;
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
  std::int64_t seed(SqlCatalogStore& catalog, std::int64_t stock = 10) {
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

TEST_F(MysqlTest, ReadsSpreadOverReplicasAndStrongReadsStayOnThePrimary) {
  auto db = open(options());
  ASSERT_TRUE(db);
  SqlCatalogStore catalog(db, clock_);
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
  // `reads: primary` (use_replicas off) is the ReplicaRouter's to decide, tested there.
}

TEST_F(MysqlTest, StoppedReplicaIsTakenOutAndComesBack) {
  auto db = open(options());
  ASSERT_TRUE(db);
  SqlCatalogStore catalog(db, clock_);
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
  SqlCatalogStore catalog(db, clock_);
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
  SqlCatalogStore catalog(db, clock_);
  SqlOrderStore orders(db, clock_);
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
  SqlCatalogStore catalog(db, clock_);
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
