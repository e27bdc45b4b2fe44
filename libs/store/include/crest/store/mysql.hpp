#pragma once
// MySQL/MariaDB adapters (SOCI, MySQL backend): a primary and its read replicas, each behind
// its own bounded connection pool, with a ReplicaRouter choosing where reads go.
//
// Writes and transactions run on the primary (deadlocks and lock-wait timeouts are retried a
// few times, then `unavailable`). `eventual` reads go to a usable replica; a read failing there
// with a connection error takes the replica out and is retried once on the primary. A
// background prober runs SHOW SLAVE STATUS on every replica each probe interval.
// Read-your-writes: the stores record what a user just wrote (their orders, their account) and
// route reads of it to the primary for `reads.read_your_writes_window`.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"
#include "crest/store/replica_router.hpp"
#include "crest/store/sql_stores.hpp"

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

// "mysql://user:password@host:port/database" (host:port as crest::parse_host_port reads it,
// the port defaulting to 3306, an IPv6 address in brackets; user and password may be
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
  std::chrono::milliseconds probe_interval{500};
  // Where reads go: use_replicas = false is the `reads: primary` baseline (every read on the
  // primary, no probing); max_replica_lag; read_your_writes_window.
  ReadRouting reads;
  bool apply_schema = true;          // migrations on open (the primary's owner does this)
  int max_transaction_attempts = 3;  // on deadlock (1213) or lock wait timeout (1205)
  // crest_db_query_duration_seconds, crest_db_queries_total{db_server,operation=read|write},
  // crest_db_pool_wait_seconds{db_server}, crest_replica_lag_seconds / crest_replica_usable
  // {replica}. Must outlive the database.
  metrics::Registry* metrics = nullptr;
};

// Owns the pools, the router and the prober thread. Shared by the SqlCatalogStore, SqlUserStore
// and SqlOrderStore (sql_stores.hpp) over it.
class MysqlDatabase final : public SqlDatabase {
 public:
  static constexpr int schema_version = 1;

  // Connects to the primary (which must be up), applies the schema if asked, probes the
  // replicas once, then starts the prober. Replicas may be down at start.
  static Result<std::shared_ptr<MysqlDatabase>> open(const MysqlOptions& options,
                                                     Clock& clock = Clock::system());

  ~MysqlDatabase() override;  // stops the prober

  const MysqlOptions& options() const;
  SqlDialect& dialect() override;
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

}  // namespace crest::store
