#include <soci/mysql/soci-mysql.h>

#include <random>

#include <fmt/format.h>

#include "crest/core/host_port.hpp"
#include "crest/metrics/registry.hpp"
#include "mysql_internal.hpp"
#include "url_userinfo.hpp"

namespace crest::store {
namespace mysql_detail {
namespace {

// Version 1. Every statement is idempotent; a later version appends statements and bumps
// MysqlDatabase::schema_version.
constexpr const char* kTableOptions =
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";
constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL PRIMARY KEY,"
    " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE IF NOT EXISTS categories (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " slug VARCHAR(191) NOT NULL, name VARCHAR(255) NOT NULL, UNIQUE KEY categories_slug (slug))",
    "CREATE TABLE IF NOT EXISTS products (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " category_id BIGINT NOT NULL, sku VARCHAR(191) NOT NULL, name VARCHAR(255) NOT NULL,"
    " description TEXT NOT NULL, price_cents BIGINT NOT NULL, stock BIGINT NOT NULL,"
    " version BIGINT NOT NULL, updated_at_ns BIGINT NOT NULL,"
    " UNIQUE KEY products_sku (sku), KEY products_by_category (category_id, id),"
    " CONSTRAINT products_category FOREIGN KEY (category_id) REFERENCES categories (id),"
    " CONSTRAINT products_price_not_negative CHECK (price_cents >= 0),"
    " CONSTRAINT products_stock_not_negative CHECK (stock >= 0))",
    "CREATE TABLE IF NOT EXISTS stock_reservations (order_id BIGINT NOT NULL PRIMARY KEY,"
    " released TINYINT NOT NULL DEFAULT 0, created_at_ns BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS stock_reservation_lines (order_id BIGINT NOT NULL,"
    " product_id BIGINT NOT NULL, quantity BIGINT NOT NULL, PRIMARY KEY (order_id, product_id))",
    "CREATE TABLE IF NOT EXISTS users (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " email VARCHAR(191) NOT NULL, name VARCHAR(255) NOT NULL,"
    " password_hash VARCHAR(255) NOT NULL, created_at_ns BIGINT NOT NULL,"
    " UNIQUE KEY users_email (email))",
    "CREATE TABLE IF NOT EXISTS orders (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " user_id BIGINT NOT NULL, idempotency_key VARCHAR(191) COLLATE utf8mb4_bin NOT NULL,"
    " status VARCHAR(16) NOT NULL, failure_reason VARCHAR(1024) NOT NULL,"
    " total_cents BIGINT NOT NULL, created_at_ns BIGINT NOT NULL, updated_at_ns BIGINT NOT NULL,"
    " UNIQUE KEY orders_idempotency (user_id, idempotency_key),"
    " KEY orders_by_user (user_id, id), KEY orders_by_status (status, created_at_ns))",
    "CREATE TABLE IF NOT EXISTS order_lines (order_id BIGINT NOT NULL,"
    " product_id BIGINT NOT NULL, quantity BIGINT NOT NULL, unit_price_cents BIGINT NOT NULL,"
    " PRIMARY KEY (order_id, product_id))",
    "CREATE TABLE IF NOT EXISTS outbox (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,"
    " payload TEXT NOT NULL, created_at_ns BIGINT NOT NULL, sent_at_ns BIGINT NULL,"
    " claimed_until_ns BIGINT NULL, KEY outbox_pending (sent_at_ns, id))",
};

bool contains(const std::string& haystack, const char* needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string quote_option(const std::string& value) {
  std::string out = "'";
  for (const char c : value) {
    if (c == '\'' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "'";
}

std::string connect_string(const MysqlEndpoint& e, std::chrono::seconds connect_timeout,
                           std::chrono::seconds io_timeout) {
  return fmt::format(
      "host={} port={} user={} password={} dbname={} charset=utf8mb4 connect_timeout={} "
      "read_timeout={} write_timeout={}",
      quote_option(e.host), e.port, quote_option(e.user), quote_option(e.password),
      quote_option(e.database), std::max<long>(static_cast<long>(connect_timeout.count()), 1),
      std::max<long>(static_cast<long>(io_timeout.count()), 1),
      std::max<long>(static_cast<long>(io_timeout.count()), 1));
}

std::string connect_string(const MysqlEndpoint& e, const MysqlOptions& o) {
  return connect_string(e, o.connect_timeout, o.io_timeout);
}

void open_session(soci::session& sql, const std::string& connect) {
  sql.close();
  sql.open(soci::mysql, connect);
  // READ COMMITTED: no gap locks, so fewer deadlocks between concurrent checkouts; every
  // statement that must not lose an update is guarded in its WHERE clause.
  sql << "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";
}

std::optional<std::string> column_text(const soci::row& row, const std::string& name) {
  for (std::size_t i = 0; i < row.size(); ++i) {
    const soci::column_properties& props = row.get_properties(i);
    if (props.get_name() != name) {
      continue;
    }
    if (row.get_indicator(i) == soci::i_null) {
      return std::nullopt;
    }
    switch (props.get_data_type()) {
      case soci::dt_string:
        return row.get<std::string>(i);
      case soci::dt_integer:
        return std::to_string(row.get<int>(i));
      case soci::dt_long_long:
        return std::to_string(row.get<long long>(i));
      case soci::dt_unsigned_long_long:
        return std::to_string(row.get<unsigned long long>(i));
      case soci::dt_double:
        return std::to_string(static_cast<long long>(row.get<double>(i)));
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

unsigned mysql_errno_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const soci::mysql_soci_error& e) {
    return e.err_num_;
  } catch (...) {
    return 0;
  }
}

Classified classify(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const soci::mysql_soci_error& e) {
    const std::string message = e.what();
    switch (e.err_num_) {
      case 1062:  // ER_DUP_ENTRY
      case 1022:  // ER_DUP_KEY
      case 1586:  // ER_DUP_ENTRY_WITH_KEY_NAME
        return {Error{ErrorKind::conflict, message}, Failure::other};
      case 1213:  // ER_LOCK_DEADLOCK
      case 1205:  // ER_LOCK_WAIT_TIMEOUT
        return {Error{ErrorKind::unavailable, message}, Failure::retryable};
      case 1451:  // a foreign key still refers to the row
      case 1452:  // a foreign key refers to nothing
      case 4025:  // ER_CONSTRAINT_FAILED (CHECK)
      case 1406:  // data too long
        return {Error{ErrorKind::invalid_argument, message}, Failure::other};
      case 1040:  // too many connections
      case 1045:  // access denied
      case 1049:  // unknown database (a replica not caught up yet)
      case 1053:  // server shutdown in progress
      case 1152:  // aborted connection
      case 1927:  // connection killed
      case 2002:  // can't connect through the socket
      case 2003:  // can't connect over TCP
      case 2005:  // unknown host
      case 2006:  // server has gone away
      case 2013:  // lost connection during query
      case 2026:  // TLS error
      case 2055:  // lost connection at handshake
        return {Error{ErrorKind::unavailable, message}, Failure::connection};
      case 1290:  // read-only server (a replica written to by mistake, or failover)
        return {Error{ErrorKind::unavailable, message}, Failure::other};
      default:
        return {Error{ErrorKind::internal, message}, Failure::other};
    }
  } catch (const soci::soci_error& e) {
    const std::string message = e.what();
    if (e.get_error_category() == soci::soci_error::connection_error ||
        contains(message, "gone away") || contains(message, "Lost connection") ||
        contains(message, "Can't connect") || contains(message, "not connected") ||
        contains(message, "Session is not connected")) {
      return {Error{ErrorKind::unavailable, message}, Failure::connection};
    }
    return {Error{ErrorKind::internal, message}, Failure::other};
  } catch (const std::exception& e) {
    return {Error{ErrorKind::internal, e.what()}, Failure::other};
  } catch (...) {
    return {Error{ErrorKind::internal, "unknown exception in the MySQL store"}, Failure::other};
  }
}

}  // namespace mysql_detail

using mysql_detail::Failure;

namespace {

// LOCATE and ORDER BY name follow the columns' _ci collation: case-insensitive as they are.
constexpr SqlFragments kMysqlFragments{
    {"LOCATE(:t2, name) > 0", "LOCATE(:t3, description) > 0", "(LOCATE(:rt, name) > 0)", "name ASC",
     false},
    "INSERT IGNORE INTO",
    " FOR UPDATE",
    " FOR UPDATE SKIP LOCKED",
    "SELECT LAST_INSERT_ID()",
};

// Writes on the primary with deadlock retries; reads where the ReplicaRouter sends them.
class MysqlDialect final : public SqlDialect {
 public:
  explicit MysqlDialect(MysqlDatabase::Impl& db) : SqlDialect(kMysqlFragments), db_(db) {}

  void put_back_reserved_stock(soci::session& sql, std::int64_t order_id,
                               std::int64_t now) const override {
    sql << "UPDATE products p JOIN stock_reservation_lines l ON l.product_id = p.id "
           "SET p.stock = p.stock + l.quantity, p.version = p.version + 1, p.updated_at_ns = :t "
           "WHERE l.order_id = :o",
        soci::use(now), soci::use(order_id);
  }

  Result<void> run_write(const Body& body) override { return db_.write(body); }
  Result<void> run_read(Consistency consistency,
                        std::initializer_list<std::string_view> recent_keys,
                        const Body& body) override {
    return db_.read(consistency, recent_keys, body);
  }
  void record_write(std::string_view key) override { db_.router.record_write(key); }

 private:
  MysqlDatabase::Impl& db_;
};

ReplicaRouterOptions router_options(const MysqlOptions& o) {
  ReplicaRouterOptions r;
  for (std::size_t i = 0; i < o.replicas.size(); ++i) {
    r.replica_names.push_back(o.replicas[i].name.empty() ? fmt::format("replica{}", i + 1)
                                                         : o.replicas[i].name);
  }
  r.reads = o.reads;
  r.metrics = o.metrics;
  return r;
}

}  // namespace

Result<MysqlEndpoint> parse_mysql_url(std::string_view url) {
  constexpr std::string_view scheme = "mysql://";
  if (url.substr(0, scheme.size()) != scheme) {
    return Error{ErrorKind::invalid_argument, "a MySQL URL starts with mysql://"};
  }
  const auto userinfo = split_url_userinfo(url.substr(scheme.size()));
  if (!userinfo) {
    return Error{ErrorKind::invalid_argument, "bad percent-encoding in the MySQL URL's user"};
  }
  MysqlEndpoint e;
  e.user = userinfo->user;
  e.password = userinfo->password.value_or("");
  const std::string_view rest = userinfo->rest;
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos || slash + 1 >= rest.size()) {
    return Error{ErrorKind::invalid_argument, "the MySQL URL names no database (mysql://host/db)"};
  }
  e.database = std::string(rest.substr(slash + 1));
  auto address = parse_host_port(rest.substr(0, slash), HostPortRules{.default_port = 3306});
  if (!address.ok()) {
    return Error{ErrorKind::invalid_argument,
                 "the MySQL URL's host:port: " + address.error().message};
  }
  e.host = std::move(address->host);
  e.port = address->port;
  return e;
}

MysqlDatabase::Impl::Impl(MysqlOptions opts, Clock& clk)
    : options(std::move(opts)), clock(clk), router(router_options(options), clock) {
  const std::size_t pool_size = std::max<std::size_t>(options.pool_size, 1);
  servers.push_back(
      std::make_unique<Server>(options.primary.name.empty() ? "primary" : options.primary.name,
                               mysql_detail::connect_string(options.primary, options), pool_size));
  for (std::size_t i = 0; i < options.replicas.size(); ++i) {
    servers.push_back(std::make_unique<Server>(
        router.options().replica_names[i],
        mysql_detail::connect_string(options.replicas[i], options.replica_connect_timeout,
                                     options.replica_io_timeout),
        pool_size));
    probe_sessions_.push_back(std::make_unique<soci::session>());
  }
  if (options.metrics != nullptr) {
    auto& wait = options.metrics->histogram_family(
        "crest_db_pool_wait_seconds", "Time spent waiting for a pooled database connection.",
        {"db_server"});
    for (auto& s : servers) {
      s->queries = DbServerMetrics(options.metrics, s->name);
      s->pool_wait = &wait.with({s->name});
    }
  }
  dialect = std::make_unique<MysqlDialect>(*this);
}

MysqlDatabase::Impl::~Impl() {
  stop_prober();
}

Result<std::size_t> MysqlDatabase::Impl::acquire(Server& server, Failure& failure) {
  const auto started = std::chrono::steady_clock::now();
  std::size_t slot = 0;
  const bool leased =
      server.pool.try_lease(slot, static_cast<int>(options.pool_wait_timeout.count()));
  if (server.pool_wait != nullptr) {
    server.pool_wait->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  if (!leased) {
    failure = Failure::other;
    return Error{ErrorKind::unavailable,
                 fmt::format("no free connection to {} within {} ms", server.name,
                             options.pool_wait_timeout.count())};
  }
  const std::uint64_t epoch = server.epoch.load();
  if (server.opened_epoch[slot] != epoch) {
    try {
      mysql_detail::open_session(server.pool.at(slot), server.connect_string);
      server.opened_epoch[slot] = epoch;
    } catch (...) {
      auto classified = mysql_detail::classify(std::current_exception());
      server.opened_epoch[slot] = 0;
      server.pool.give_back(slot);
      failure = Failure::connection;
      return Error{ErrorKind::unavailable,
                   fmt::format("cannot connect to {}: {}", server.name, classified.error.message)};
    }
  }
  return slot;
}

void MysqlDatabase::Impl::release(Server& server, std::size_t slot, bool broken) {
  if (broken) {
    server.opened_epoch[slot] = 0;
    server.epoch.fetch_add(1);  // the others were probably cut off too: reopen them lazily
  }
  server.pool.give_back(slot);
}

void MysqlDatabase::Impl::backoff(int attempt) {
  // Full jitter over 5 ms * 2^attempt: colliding transactions should not collide again.
  thread_local std::minstd_rand random{std::random_device{}()};
  std::uniform_int_distribution<int> jitter(0, 5 << attempt);
  std::this_thread::sleep_for(std::chrono::milliseconds(jitter(random)));
}

Result<void> MysqlDatabase::Impl::apply_schema() {
  Server& primary = *servers.front();
  Failure failure = Failure::none;
  auto slot = acquire(primary, failure);
  if (!slot.ok()) {
    return slot.error();
  }
  soci::session& sql = primary.pool.at(*slot);
  Result<void> result;
  bool broken = false;
  try {
    // Several instances may start at once: one migrates, the others wait and find it done.
    int locked = 0;
    sql << "SELECT GET_LOCK('crest_schema', 30)", soci::into(locked);
    if (locked != 1) {
      result = Error{ErrorKind::unavailable, "timed out waiting for the schema lock"};
    } else {
      int current = 0;
      soci::indicator ind = soci::i_null;
      sql << "CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL PRIMARY KEY,"
             " applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)" +
                 std::string(mysql_detail::kTableOptions);
      sql << "SELECT MAX(version) FROM schema_version", soci::into(current, ind);
      if (ind == soci::i_ok && current > MysqlDatabase::schema_version) {
        result = Error{ErrorKind::internal,
                       fmt::format("database schema version {} is newer than this build's {}",
                                   current, MysqlDatabase::schema_version)};
      } else if (ind != soci::i_ok || current < MysqlDatabase::schema_version) {
        for (const char* statement : mysql_detail::kSchema) {
          sql << std::string(statement) + mysql_detail::kTableOptions;
        }
        sql << "INSERT IGNORE INTO schema_version (version) VALUES (:v)",
            soci::use(MysqlDatabase::schema_version);
      }
      // Databases made before the relay claimed rows get the lease column (portable to MySQL
      // 8, which has no ADD COLUMN IF NOT EXISTS).
      int has_claim_column = 0;
      sql << "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
             "AND TABLE_NAME = 'outbox' AND COLUMN_NAME = 'claimed_until_ns'",
          soci::into(has_claim_column);
      if (has_claim_column == 0) {
        sql << "ALTER TABLE outbox ADD COLUMN claimed_until_ns BIGINT NULL";
      }
      sql << "DO RELEASE_LOCK('crest_schema')";
    }
  } catch (...) {
    auto classified = mysql_detail::classify(std::current_exception());
    broken = classified.failure == Failure::connection;
    result =
        Error{classified.error.kind, "applying the schema failed: " + classified.error.message};
    try {
      sql << "DO RELEASE_LOCK('crest_schema')";
    } catch (...) {  // NOLINT(bugprone-empty-catch): the first error is the one to report
    }
  }
  release(primary, *slot, broken);
  return result;
}

void MysqlDatabase::Impl::probe_replicas() {
  const std::lock_guard lock(probe_mutex_);
  for (std::size_t i = 1; i < servers.size(); ++i) {
    soci::session& sql = *probe_sessions_[i - 1];
    std::optional<std::chrono::milliseconds> lag;
    try {
      if (!sql.is_connected()) {
        // Short timeouts: a hung replica must not stall the probes of the others.
        mysql_detail::open_session(
            sql, mysql_detail::connect_string(options.replicas[i - 1], std::chrono::seconds(1),
                                              std::chrono::seconds(1)));
      }
      soci::row row;
      sql << "SHOW SLAVE STATUS", soci::into(row);
      if (sql.got_data()) {
        const auto sql_running = mysql_detail::column_text(row, "Slave_SQL_Running");
        const auto seconds = mysql_detail::column_text(row, "Seconds_Behind_Master");
        if (sql_running == "Yes" && seconds) {
          lag = std::chrono::seconds(std::stoll(*seconds));
        }
      }
    } catch (...) {
      try {
        sql.close();
      } catch (...) {  // NOLINT(bugprone-empty-catch): closing a dead connection
      }
    }
    router.report_probe(static_cast<int>(i), lag);
  }
}

void MysqlDatabase::Impl::prober_loop() {
  std::unique_lock lock(prober_mutex_);
  while (!prober_stop_) {
    lock.unlock();
    probe_replicas();
    lock.lock();
    prober_wake_.wait_for(lock, options.probe_interval, [this] { return prober_stop_; });
  }
}

void MysqlDatabase::Impl::start_prober() {
  if (router.routes_to_replicas()) {
    prober_ = std::thread([this] { prober_loop(); });
  }
}

void MysqlDatabase::Impl::stop_prober() {
  {
    const std::lock_guard lock(prober_mutex_);
    prober_stop_ = true;
  }
  prober_wake_.notify_all();
  if (prober_.joinable()) {
    prober_.join();
  }
}

MysqlDatabase::MysqlDatabase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MysqlDatabase::~MysqlDatabase() = default;

const MysqlOptions& MysqlDatabase::options() const {
  return impl_->options;
}
SqlDialect& MysqlDatabase::dialect() {
  return *impl_->dialect;
}
ReplicaRouter& MysqlDatabase::router() {
  return impl_->router;
}
void MysqlDatabase::probe_replicas() {
  impl_->probe_replicas();
}

Result<std::shared_ptr<MysqlDatabase>> MysqlDatabase::open(const MysqlOptions& options,
                                                           Clock& clock) {
  if (options.primary.database.empty() || options.primary.host.empty()) {
    return Error{ErrorKind::invalid_argument, "the MySQL primary needs a host and a database"};
  }
  auto impl = std::make_unique<Impl>(options, clock);
  if (options.apply_schema) {
    if (auto applied = impl->apply_schema(); !applied.ok()) {
      return applied.error();
    }
  } else {
    auto ping = impl->read(Consistency::strong, {}, [](soci::session& sql) -> Result<void> {
      sql << "SELECT 1";
      return {};
    });
    if (!ping.ok()) {
      return Error{ping.error().kind,
                   "the MySQL primary is not reachable: " + ping.error().message};
    }
  }
  if (impl->router.routes_to_replicas()) {
    impl->probe_replicas();  // route correctly from the first request
  }
  impl->start_prober();
  return std::shared_ptr<MysqlDatabase>(new MysqlDatabase(std::move(impl)));
}

}  // namespace crest::store
