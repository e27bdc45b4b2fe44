#pragma once
// What the SQLite stores share: pooled sessions, transactions, error mapping, metrics.
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <soci/soci.h>

#include "crest/core/error.hpp"
#include "crest/store/sqlite.hpp"
#include "sql_dialect.hpp"

namespace crest::store {

// Maps whatever a SOCI/SQLite call threw to the store error convention.
Error map_sqlite_exception(std::exception_ptr error);

class SqliteDatabase::Impl {
 public:
  Impl(SqliteOptions options, std::size_t pool_size);

  // Runs `body(soci::session&)` (returning Result<T>) in a transaction on a pooled connection:
  // BEGIN IMMEDIATE for writes so the write lock is taken up front (no deadlocking lock
  // upgrades between two readers-turned-writers), a deferred BEGIN for reads so multi-statement
  // reads see one snapshot. An error Result or an exception rolls back.
  template <typename Body>
  auto read(Body&& body) {
    return run(false, std::forward<Body>(body));
  }
  template <typename Body>
  auto write(Body&& body) {
    return run(true, std::forward<Body>(body));
  }

  SqliteOptions options;
  soci::connection_pool pool;
  std::unique_ptr<SqlDialect> dialect;  // runs on this Impl

 private:
  template <typename Body>
  auto run(bool is_write, Body&& body) -> std::invoke_result_t<Body, soci::session&> {
    using R = std::invoke_result_t<Body, soci::session&>;
    const auto started = std::chrono::steady_clock::now();
    R result = [&]() -> R {
      try {
        soci::session sql(pool);  // leases a connection; gives it back on every path
        sql << (is_write ? "BEGIN IMMEDIATE" : "BEGIN");
        try {
          R r = body(sql);
          sql << (r.ok() ? "COMMIT" : "ROLLBACK");
          return r;
        } catch (...) {
          try {
            sql << "ROLLBACK";
          } catch (...) {  // NOLINT(bugprone-empty-catch): the first error is the one to report
          }
          throw;
        }
      } catch (...) {
        return map_sqlite_exception(std::current_exception());
      }
    }();
    metrics_.record(is_write, std::chrono::steady_clock::now() - started);
    return result;
  }

  DbServerMetrics metrics_;
};

}  // namespace crest::store
