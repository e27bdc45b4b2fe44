#pragma once
// The SQL stores: one class per port over any SqlDatabase (SqliteDatabase in sqlite.hpp,
// MysqlDatabase in mysql.hpp). What differs between the databases (a few SQL fragments, how a
// transaction runs, where a read goes) is the database's SqlDialect, kept in src/ with SOCI.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"
#include "crest/store/catalog_store.hpp"
#include "crest/store/order_store.hpp"
#include "crest/store/user_store.hpp"

namespace crest::store {

class SqlDialect;  // src/sql_dialect.hpp

// A SQL database the stores below can run on; it keeps its connections and its dialect.
class SqlDatabase {
 public:
  SqlDatabase() = default;
  SqlDatabase(const SqlDatabase&) = delete;
  SqlDatabase& operator=(const SqlDatabase&) = delete;
  virtual ~SqlDatabase() = default;

  virtual SqlDialect& dialect() = 0;
};

using SqlDatabasePtr = std::shared_ptr<SqlDatabase>;

// Writes and `strong` reads on the primary; `eventual` reads wherever the database routes them
// (a replica on MySQL). Categories and product lists are always `eventual`.
class SqlCatalogStore final : public CatalogStore {
 public:
  explicit SqlCatalogStore(SqlDatabasePtr db, Clock& clock = Clock::system());

  Result<std::vector<Category>> categories() override;
  Result<ProductPage> list_products(const ProductQuery& query) override;
  Result<Product> product(std::int64_t id,
                          Consistency consistency = Consistency::eventual) override;
  Result<std::vector<Product>> products(const std::vector<std::int64_t>& ids,
                                        Consistency consistency = Consistency::eventual) override;
  // Claims the reservation row first: a retry of the same order (even a concurrent one, which
  // waits on that key) finds it and changes nothing.
  Result<void> reserve_stock(std::int64_t order_id, const std::vector<OrderLine>& lines) override;
  Result<void> release_stock(std::int64_t order_id) override;
  Result<void> set_price(std::int64_t product_id, std::int64_t price_cents) override;
  Result<void> set_stock(std::int64_t product_id, std::int64_t stock) override;
  Result<std::int64_t> insert_category(const Category& category) override;
  Result<std::int64_t> insert_product(const Product& product) override;

 private:
  SqlDatabasePtr db_;
  SqlDialect& dialect_;
  Clock& clock_;
};

class SqlUserStore final : public UserStore {
 public:
  explicit SqlUserStore(SqlDatabasePtr db, Clock& clock = Clock::system());

  // Records "user:<id>" and the e-mail as just written: a login right after registration
  // reads from the primary even when asked for `eventual`.
  Result<User> create_user(std::string_view email, std::string_view name,
                           std::string_view password_hash) override;
  Result<User> user_by_email(std::string_view email,
                             Consistency consistency = Consistency::eventual) override;
  Result<User> user_by_id(std::int64_t id,
                          Consistency consistency = Consistency::eventual) override;

 private:
  SqlDatabasePtr db_;
  SqlDialect& dialect_;
  Clock& clock_;
};

class SqlOrderStore final : public OrderStore {
 public:
  explicit SqlOrderStore(SqlDatabasePtr db, Clock& clock = Clock::system());

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
  SqlDatabasePtr db_;
  SqlDialect& dialect_;
  Clock& clock_;
};

}  // namespace crest::store
