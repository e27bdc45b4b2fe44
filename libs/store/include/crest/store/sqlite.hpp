#pragma once
// Embedded SQL adapters: the catalog, users, sessions, carts and orders in one SQLite database
// (a file, or ":memory:"), reached through a SOCI connection pool.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"
#include "crest/store/cart_store.hpp"
#include "crest/store/catalog_store.hpp"
#include "crest/store/order_store.hpp"
#include "crest/store/session_store.hpp"
#include "crest/store/user_store.hpp"

namespace crest::metrics {
class Registry;
}

namespace crest::store {

struct SqliteOptions {
  // A file path, or ":memory:" (then the pool holds one connection so that every user sees
  // the same private database).
  std::string path = ":memory:";
  std::size_t pool_size = 4;
  // How long a writer waits for another connection's write lock before `unavailable`.
  std::chrono::milliseconds busy_timeout{5000};
  // When set: crest_db_query_duration_seconds and crest_db_queries_total
  // {db_server="sqlite",operation=read|write}. Must outlive the database.
  metrics::Registry* metrics = nullptr;
};

// Owns the connection pool; opening applies the schema (idempotent) and WAL mode.
// Shared by the stores below, which keep it alive. The stores repeat the ports' default
// arguments (same values) so they are also usable through their concrete types.
class SqliteDatabase {
 public:
  static constexpr int schema_version = 1;

  static Result<std::shared_ptr<SqliteDatabase>> open(const SqliteOptions& options);

  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;
  ~SqliteDatabase();

  const SqliteOptions& options() const;

  class Impl;  // defined in src/, keeps SOCI out of this header
  Impl& impl() { return *impl_; }

 private:
  explicit SqliteDatabase(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

using SqliteDatabasePtr = std::shared_ptr<SqliteDatabase>;

class SqliteCatalogStore final : public CatalogStore {
 public:
  explicit SqliteCatalogStore(SqliteDatabasePtr db, Clock& clock = Clock::system());

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
  SqliteDatabasePtr db_;
  Clock& clock_;
};

class SqliteUserStore final : public UserStore {
 public:
  explicit SqliteUserStore(SqliteDatabasePtr db, Clock& clock = Clock::system());

  Result<User> create_user(std::string_view email, std::string_view name,
                           std::string_view password_hash) override;
  Result<User> user_by_email(std::string_view email,
                             Consistency consistency = Consistency::eventual) override;
  Result<User> user_by_id(std::int64_t id,
                          Consistency consistency = Consistency::eventual) override;

 private:
  SqliteDatabasePtr db_;
  Clock& clock_;
};

class SqliteSessionStore final : public SessionStore {
 public:
  explicit SqliteSessionStore(SqliteDatabasePtr db, Clock& clock = Clock::system());

  Result<void> put(const Session& session) override;
  Result<Session> get(std::string_view token) override;
  Result<void> erase(std::string_view token) override;

 private:
  SqliteDatabasePtr db_;
  Clock& clock_;
};

class SqliteCartStore final : public CartStore {
 public:
  explicit SqliteCartStore(SqliteDatabasePtr db);

  Result<Cart> get(std::int64_t user_id) override;
  Result<Cart> add_item(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity,
                        std::int64_t max_line_quantity = INT64_MAX) override;
  Result<Cart> set_quantity(std::int64_t user_id, std::int64_t product_id,
                            std::int64_t quantity) override;
  Result<Cart> remove_item(std::int64_t user_id, std::int64_t product_id) override;
  Result<void> clear(std::int64_t user_id) override;
  Result<void> claim_lines(std::int64_t user_id, const std::string& idempotency_key,
                           const std::vector<CartLine>& lines, WallTime now) override;
  Result<std::vector<CartClaim>> claims(std::int64_t user_id) override;
  Result<void> drop_claim(std::int64_t user_id, const std::string& idempotency_key) override;
  Result<void> return_claim(std::int64_t user_id, const std::string& idempotency_key) override;

 private:
  SqliteDatabasePtr db_;
};

class SqliteOrderStore final : public OrderStore {
 public:
  explicit SqliteOrderStore(SqliteDatabasePtr db, Clock& clock = Clock::system());

  Result<CreatedOrder> create_order(const NewOrder& order) override;
  Result<Order> order(std::int64_t order_id,
                      Consistency consistency = Consistency::eventual) override;
  Result<Order> order_by_idempotency_key(std::int64_t user_id, std::string_view key) override;
  Result<std::vector<Order>> orders_for_user(
      std::int64_t user_id, int limit, Consistency consistency = Consistency::eventual) override;
  Result<void> set_status(std::int64_t order_id, OrderStatus from, OrderStatus to,
                          std::string_view failure_reason = {}) override;
  Result<std::vector<OutboxEntry>> pending_outbox(int limit) override;
  Result<void> mark_outbox_sent(const std::vector<std::int64_t>& ids) override;
  Result<OrderBacklog> backlog() override;
  Result<std::vector<std::int64_t>> pending_orders_created_before(WallTime cutoff,
                                                                  std::int64_t after_id,
                                                                  int limit) override;

 private:
  SqliteDatabasePtr db_;
  Clock& clock_;
};

}  // namespace crest::store
