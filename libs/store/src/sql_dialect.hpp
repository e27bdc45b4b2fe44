#pragma once
// What a SQL database tells the shared SOCI stores (SqlCatalogStore, SqlUserStore,
// SqlOrderStore): the few SQL fragments it spells its own way, and how it runs a transaction
// (SQLite: one pool, BEGIN IMMEDIATE writes; MySQL: a primary and replicas, reads routed, writes
// retried on deadlock). SqliteDatabase and MysqlDatabase each own one.
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <soci/soci.h>

#include "crest/core/error.hpp"
#include "crest/store/model.hpp"
#include "crest/store/sql_stores.hpp"
#include "soci_shared.hpp"

namespace crest::metrics {
class Counter;
class Histogram;
class Registry;
}  // namespace crest::metrics

namespace crest::store {

// The keys of the read-your-writes window: what a write touched.
inline std::string user_key(std::int64_t id) {
  return "user:" + std::to_string(id);
}
inline std::string order_key(std::int64_t id) {
  return "order:" + std::to_string(id);
}
inline std::string email_key(const std::string& email) {
  return "email:" + email;
}

struct SqlFragments {
  soci_shared::SqlCatalogDialect search;
  // Inserts a row unless its key exists ("INSERT IGNORE INTO", "INSERT OR IGNORE INTO"): how a
  // stock reservation is claimed once per order.
  const char* insert_ignore_into;
  // Appended to a SELECT that a write transaction then updates (" FOR UPDATE", or "" where the
  // transaction already holds the write lock).
  const char* lock_rows;
  // Appended to the outbox claim: " FOR UPDATE SKIP LOCKED" lets concurrent relays skip each
  // other's rows instead of waiting; "" where the write lock already serialises relays.
  const char* lock_rows_skip_locked;
  const char* select_last_insert_id;  // the id the last INSERT on this connection generated
};

// Per-server query metrics: crest_db_query_duration_seconds and
// crest_db_queries_total{db_server,operation=read|write}. All null without a registry.
struct DbServerMetrics {
  DbServerMetrics() = default;
  DbServerMetrics(metrics::Registry* registry, const std::string& db_server);
  void record(bool is_write, std::chrono::steady_clock::duration elapsed) const noexcept;

  metrics::Histogram* read_seconds = nullptr;
  metrics::Histogram* write_seconds = nullptr;
  metrics::Counter* reads = nullptr;
  metrics::Counter* writes = nullptr;
};

class SqlDialect {
 public:
  using Body = std::function<Result<void>(soci::session&)>;

  explicit SqlDialect(const SqlFragments& spelled) : fragments(spelled) {}
  SqlDialect(const SqlDialect&) = delete;
  SqlDialect& operator=(const SqlDialect&) = delete;
  virtual ~SqlDialect() = default;

  const SqlFragments& fragments;

  std::int64_t last_insert_id(soci::session& session) const {
    std::int64_t id = 0;
    session << fragments.select_last_insert_id, soci::into(id);
    return id;
  }

  // Adds the quantities of an order's reservation lines back to their products' stock
  // (bumping version and updated_at_ns): each database spells a multi-table UPDATE its own way.
  virtual void put_back_reserved_stock(soci::session& session, std::int64_t order_id,
                                       std::int64_t now) const = 0;

  // The transaction runner. `run_write` runs `body` in a write transaction (an error Result or
  // an exception rolls back; the body may be run again, so it must be safe to repeat);
  // `run_read` on the server the dialect picks for `consistency`, given the keys the read
  // depends on (see record_write).
  virtual Result<void> run_write(const Body& body) = 0;
  virtual Result<void> run_read(Consistency consistency,
                                std::initializer_list<std::string_view> recent_keys,
                                const Body& body) = 0;
  // Read-your-writes: a key a write touched, whose reads go to the primary for a while. A
  // database with one server has nothing to do.
  virtual void record_write(std::string_view /*key*/) {}

  // Typed forms of the runner: `body(soci::session&)` returns Result<T>.
  template <typename F>
  auto write(F&& body) -> std::invoke_result_t<F, soci::session&> {
    return run_typed(std::forward<F>(body),
                     [this](const Body& erased) { return run_write(erased); });
  }
  template <typename F>
  auto read(Consistency consistency, std::initializer_list<std::string_view> recent_keys, F&& body)
      -> std::invoke_result_t<F, soci::session&> {
    return run_typed(std::forward<F>(body), [&](const Body& erased) {
      return run_read(consistency, recent_keys, erased);
    });
  }

 private:
  template <typename F, typename Run>
  static auto run_typed(F&& body, Run&& run) -> std::invoke_result_t<F, soci::session&> {
    using R = std::invoke_result_t<F, soci::session&>;
    std::optional<R> out;
    Result<void> ran = run([&](soci::session& session) -> Result<void> {
      out.emplace(body(session));
      if (!out->ok()) {
        return out->error();
      }
      return {};
    });
    if (!ran.ok()) {
      // The runner's own error (a mapped exception, retries exhausted) or the body's.
      return ran.error();
    }
    return std::move(*out);
  }
};

}  // namespace crest::store
