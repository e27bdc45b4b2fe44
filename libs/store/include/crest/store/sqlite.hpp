#pragma once
// Embedded SQL adapters: the catalog, users, sessions, carts and orders in one SQLite database
// (a file, or ":memory:"), reached through a SOCI connection pool. The catalog, users and orders
// are the SqlCatalogStore, SqlUserStore and SqlOrderStore of sql_stores.hpp over a
// SqliteDatabase; sessions and carts (DynamoDB in the full stack) are SQLite's own.
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"
#include "crest/store/cart_store.hpp"
#include "crest/store/session_store.hpp"
#include "crest/store/sql_stores.hpp"

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
// Shared by the stores, which keep it alive. The stores repeat the ports' default arguments
// (same values) so they are also usable through their concrete types.
class SqliteDatabase final : public SqlDatabase {
 public:
  static constexpr int schema_version = 1;

  static Result<std::shared_ptr<SqliteDatabase>> open(const SqliteOptions& options);

  ~SqliteDatabase() override;

  const SqliteOptions& options() const;
  SqlDialect& dialect() override;

  class Impl;  // defined in src/, keeps SOCI out of this header
  Impl& impl() { return *impl_; }

 private:
  explicit SqliteDatabase(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

using SqliteDatabasePtr = std::shared_ptr<SqliteDatabase>;

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

}  // namespace crest::store
