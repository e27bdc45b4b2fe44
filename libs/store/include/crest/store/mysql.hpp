#pragma once
// MySQL/MariaDB adapters (SOCI, MySQL backend): a primary and its read replicas, each behind
// its own bounded connection pool, with a ReplicaRouter choosing where reads go.
//
// Writes and transactions run on the primary (deadlocks and lock-wait timeouts are retried a
// few times, then `unavailable`). `eventual` reads go to a usable replica; a read failing there
// with a connection error takes the replica out and is retried once on the primary. A
// background prober runs SHOW SLAVE STATUS on every replica each probe interval.
// Read-your-writes: the stores record what a user just wrote (their orders, their account) and
// route reads of it to the primary for `read_your_writes_window`.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"
#include "crest/store/catalog_store.hpp"
#include "crest/store/order_store.hpp"
#include "crest/store/replica_router.hpp"
#include "crest/store/user_store.hpp"

namespace crest::metrics {
class Registry;
}

namespace crest::store {

struct MysqlEndpoint {
  std::string name;  // the db_server label; empty: "primary", "replica1", "replica2", ...
  std::string host = "127.0.0.1";
  std::uint16_t port = 3306;
  std::string user;
  std::string password;  // never logged
  std::string database;
};

// "mysql://user:password@host:port/database" (port defaults to 3306; user and password may be
// percent-encoded). invalid_argument naming the part at fault.
Result<MysqlEndpoint> parse_mysql_url(std::string_view url);

struct MysqlOptions {
  MysqlEndpoint primary;
  std::vector<MysqlEndpoint> replicas;
  std::size_t pool_size = 8;  // connections per server, opened lazily
  // How long a caller waits for a free pooled connection before `unavailable`.
  std::chrono::milliseconds pool_wait_timeout{1000};
  // The MySQL client's connect and read/write timeouts (whole seconds, at least 1). A replica
  // gets short ones: a hung replica costs one timeout, then the router takes it out of the read
  // set (a timed-out query is a connection failure) and the read goes to the primary.
  std::chrono::seconds connect_timeout{2};
  std::chrono::seconds io_timeout{10};  // per statement, read and write
  std::chrono::seconds replica_connect_timeout{1};
  std::chrono::seconds replica_io_timeout{2};
  std::chrono::milliseconds max_replica_lag{2000};
  std::chrono::milliseconds read_your_writes_window{5000};
  std::chrono::milliseconds probe_interval{500};
  bool use_replicas = true;  // false: every read on the primary (the `reads: primary` baseline)
  bool apply_schema = true;  // migrations on open (the primary's owner does this)
  int max_transaction_attempts = 3;  // on deadlock (1213) or lock wait timeout (1205)
  std::size_t recent_writes_capacity = 100000;
  // crest_db_query_duration_seconds, crest_db_queries_total{db_server,operation=read|write},
  // crest_db_pool_wait_seconds{db_server}, crest_replica_lag_seconds / crest_replica_usable
  // {replica}. Must outlive the database.
  metrics::Registry* metrics = nullptr;
};

// Owns the pools, the router and the prober thread. Shared by the stores below.
class MysqlDatabase {
 public:
  static constexpr int schema_version = 1;

  // Connects to the primary (which must be up), applies the schema if asked, probes the
  // replicas once, then starts the prober. Replicas may be down at start.
  static Result<std::shared_ptr<MysqlDatabase>> open(const MysqlOptions& options,
                                                     Clock& clock = Clock::system());

  MysqlDatabase(const MysqlDatabase&) = delete;
  MysqlDatabase& operator=(const MysqlDatabase&) = delete;
  ~MysqlDatabase();  // stops the prober

  const MysqlOptions& options() const;
  ReplicaRouter& router();
  // One probe round now, on the caller's thread (the prober calls this every interval).
  void probe_replicas();

  class Impl;  // defined in src/, keeps SOCI out of this header
  Impl& impl() { return *impl_; }

 private:
  explicit MysqlDatabase(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

using MysqlDatabasePtr = std::shared_ptr<MysqlDatabase>;

class MysqlCatalogStore final : public CatalogStore {
 public:
  explicit MysqlCatalogStore(MysqlDatabasePtr db, Clock& clock = Clock::system());

  Result<std::vector<Category>> categories() override;
  Result<ProductPage> list_products(const ProductQuery& query) override;
  Result<Product> product(std::int64_t id,
                          Consistency consistency = Consistency::eventual) override;
  Result<std::vector<Product>> products(const std::vector<std::int64_t>& ids,
                                        Consistency consistency = Consistency::eventual) override;
  Result<void> reserve_stock(std::int64_t order_id, const std::vector<OrderLine>& lines) override;
  Result<void> release_stock(std::int64_t order_id) override;
  Result<void> set_price(std::int64_t product_id, std::int64_t price_cents) override;
  Result<void> set_stock(std::int64_t product_id, std::int64_t stock) override;
  Result<std::int64_t> insert_category(const Category& category) override;
  Result<std::int64_t> insert_product(const Product& product) override;

 private:
  MysqlDatabasePtr db_;
  Clock& clock_;
};

class MysqlUserStore final : public UserStore {
 public:
  explicit MysqlUserStore(MysqlDatabasePtr db, Clock& clock = Clock::system());

  // Records "user:<id>" and the e-mail as just written: a login right after registration
  // reads from the primary even when asked for `eventual`.
  Result<User> create_user(std::string_view email, std::string_view name,
                           std::string_view password_hash) override;
  Result<User> user_by_email(std::string_view email,
                             Consistency consistency = Consistency::eventual) override;
  Result<User> user_by_id(std::int64_t id,
                          Consistency consistency = Consistency::eventual) override;

 private:
  MysqlDatabasePtr db_;
  Clock& clock_;
};

class MysqlOrderStore final : public OrderStore {
 public:
  explicit MysqlOrderStore(MysqlDatabasePtr db, Clock& clock = Clock::system());

  // Records "user:<user_id>" and "order:<id>" as just written (read-your-writes).
  Result<CreatedOrder> create_order(const NewOrder& order) override;
  Result<Order> order(std::int64_t order_id,
                      Consistency consistency = Consistency::eventual) override;
  // Always the primary: it is part of the checkout write path.
  Result<Order> order_by_idempotency_key(std::int64_t user_id, std::string_view key) override;
  Result<std::vector<Order>> orders_for_user(
      std::int64_t user_id, int limit, Consistency consistency = Consistency::eventual) override;
  Result<void> set_status(std::int64_t order_id, OrderStatus from, OrderStatus to,
                          std::string_view failure_reason = {}) override;
  // The relay's reads and writes all go to the primary.
  Result<std::vector<OutboxEntry>> pending_outbox(int limit) override;
  Result<void> mark_outbox_sent(const std::vector<std::int64_t>& ids) override;
  Result<OrderBacklog> backlog() override;
  Result<std::vector<std::int64_t>> pending_orders_created_before(WallTime cutoff,
                                                                  std::int64_t after_id,
                                                                  int limit) override;

 private:
  MysqlDatabasePtr db_;
  Clock& clock_;
};

}  // namespace crest::store
