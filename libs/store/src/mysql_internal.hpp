#pragma once
// What the MySQL stores share: per-server pools, routing, transactions with retries, error
// mapping, metrics.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <soci/soci.h>

#include "crest/core/error.hpp"
#include "crest/store/mysql.hpp"
#include "sql_dialect.hpp"

namespace crest::store {
namespace mysql_detail {

// What kind of failure an exception was, beyond the Error it maps to.
enum class Failure : std::uint8_t {
  none,
  connection,   // the connection is gone (2002/2006/2013...): reconnect; a read may go elsewhere
  retryable,    // deadlock (1213) or lock wait timeout (1205): rerun the whole transaction
  not_started,  // a connection error before anything was sent (a stale pooled connection)
  other,
};

struct Classified {
  Error error;
  Failure failure = Failure::other;
};

// Maps whatever a SOCI/MySQL call threw to the store error convention.
Classified classify(std::exception_ptr error);
// The MySQL error number inside a SOCI exception, or 0.
unsigned mysql_errno_of(std::exception_ptr error);

}  // namespace mysql_detail

class MysqlDatabase::Impl {
 public:
  using Failure = mysql_detail::Failure;

  struct Server {
    Server(std::string server_name, std::string connect, std::size_t pool_size)
        : name(std::move(server_name)),
          connect_string(std::move(connect)),
          pool(pool_size),
          opened_epoch(pool_size, 0) {}

    std::string name;
    std::string connect_string;
    soci::connection_pool pool;
    // A connection error bumps the epoch: every pooled connection opened before it is reopened
    // at its next lease instead of failing one request each after a server restart.
    std::atomic<std::uint64_t> epoch{1};
    std::vector<std::uint64_t> opened_epoch;  // per slot; touched only by the slot's leaseholder
    metrics::Histogram* pool_wait = nullptr;
    DbServerMetrics queries;
  };

  Impl(MysqlOptions options, Clock& clock);
  ~Impl();

  // A transaction on the primary: `body(soci::session&)` returns Result<T>; an error Result or
  // an exception rolls back. Deadlocks and lock wait timeouts rerun the body (so it must be
  // safe to run again), up to max_transaction_attempts, then `unavailable`.
  template <typename Body>
  auto write(Body&& body) -> std::invoke_result_t<Body, soci::session&> {
    using R = std::invoke_result_t<Body, soci::session&>;
    const int attempts = std::max(options.max_transaction_attempts, 1);
    for (int attempt = 1;; ++attempt) {
      Failure failure = Failure::none;
      R result = run_once(*servers.front(), true, body, failure);
      // A connection error once the transaction began is not retried: it may have committed.
      if (result.ok() || attempt >= attempts ||
          (failure != Failure::retryable && failure != Failure::not_started)) {
        if (!result.ok() && failure == Failure::retryable) {
          return Error{ErrorKind::unavailable,
                       "transaction kept deadlocking: " + result.error().message};
        }
        return result;
      }
      backoff(attempt);
    }
  }

  // A read outside a transaction on the server the router picks for `consistency` and `keys`.
  // A connection failure on a replica takes it out and retries once on the primary; on the
  // primary it retries once on a fresh connection.
  template <typename Body>
  auto read(Consistency consistency, std::initializer_list<std::string_view> keys, Body&& body)
      -> std::invoke_result_t<Body, soci::session&> {
    using R = std::invoke_result_t<Body, soci::session&>;
    const int server = router.route_read(consistency, keys);
    Failure failure = Failure::none;
    R result = run_once(*servers[static_cast<std::size_t>(server)], false, body, failure);
    if (result.ok()) {
      return result;
    }
    // Connection trouble is retried; so is a replica's full pool (on the primary), but not the
    // primary's own: waiting for it twice would only double the caller's latency.
    const bool connection_trouble = failure != Failure::other && failure != Failure::none;
    const bool replica_busy =
        server != ReplicaRouter::primary && result.error().kind == ErrorKind::unavailable;
    if (!connection_trouble && !replica_busy) {
      return result;
    }
    if (server != ReplicaRouter::primary &&
        (failure == Failure::connection || failure == Failure::not_started)) {
      router.mark_unusable(server);
    }
    return run_once(*servers.front(), false, body, failure);
  }

  Result<void> apply_schema();
  void probe_replicas();
  void start_prober();
  void stop_prober();

  MysqlOptions options;
  Clock& clock;
  ReplicaRouter router;
  std::vector<std::unique_ptr<Server>> servers;  // 0 = primary, then the replicas
  std::unique_ptr<SqlDialect> dialect;           // runs on this Impl

 private:
  template <typename Body>
  auto run_once(Server& server, bool is_write, Body& body, Failure& failure)
      -> std::invoke_result_t<Body, soci::session&> {
    using R = std::invoke_result_t<Body, soci::session&>;
    failure = Failure::none;
    const auto started = std::chrono::steady_clock::now();
    auto slot = acquire(server, failure);
    if (!slot.ok()) {
      return slot.error();
    }
    soci::session& sql = server.pool.at(*slot);
    bool broken = false;
    bool began = false;
    R result = [&]() -> R {
      try {
        if (is_write) {
          sql.begin();
        }
        began = true;
        R r = body(sql);
        if (is_write) {
          if (r.ok()) {
            sql.commit();
          } else {
            sql.rollback();
          }
        }
        return r;
      } catch (...) {
        auto classified = mysql_detail::classify(std::current_exception());
        failure = classified.failure;
        if (failure == Failure::connection) {
          broken = true;
          if (!began) {
            failure = Failure::not_started;
          }
        } else if (is_write) {
          try {
            sql.rollback();
          } catch (...) {
            broken = true;
          }
        }
        return std::move(classified.error);
      }
    }();
    release(server, *slot, broken);
    server.queries.record(is_write, std::chrono::steady_clock::now() - started);
    return result;
  }

  // Leases a pooled connection within pool_wait_timeout, (re)opening it if needed.
  Result<std::size_t> acquire(Server& server, Failure& failure);
  void release(Server& server, std::size_t slot, bool broken);
  void backoff(int attempt);
  void prober_loop();

  std::mutex probe_mutex_;                                      // one probe round at a time
  std::vector<std::unique_ptr<soci::session>> probe_sessions_;  // per replica, own connections
  std::mutex prober_mutex_;
  std::condition_variable prober_wake_;
  bool prober_stop_ = false;
  std::thread prober_;
};

}  // namespace crest::store
