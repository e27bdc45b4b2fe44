#include <soci/sqlite3/soci-sqlite3.h>

#include <fmt/format.h>

#include "crest/metrics/registry.hpp"
#include "sqlite_internal.hpp"

namespace crest::store {
namespace {

constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS categories ("
    " id INTEGER PRIMARY KEY, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS products ("
    " id INTEGER PRIMARY KEY, category_id INTEGER NOT NULL REFERENCES categories(id),"
    " sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL, description TEXT NOT NULL,"
    " price_cents INTEGER NOT NULL CHECK (price_cents >= 0),"
    " stock INTEGER NOT NULL CHECK (stock >= 0),"
    " version INTEGER NOT NULL, updated_at_ns INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS products_by_category ON products (category_id, id)",
    "CREATE TABLE IF NOT EXISTS stock_reservations ("
    " order_id INTEGER PRIMARY KEY, released INTEGER NOT NULL DEFAULT 0,"
    " created_at_ns INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS stock_reservation_lines ("
    " order_id INTEGER NOT NULL REFERENCES stock_reservations(order_id),"
    " product_id INTEGER NOT NULL, quantity INTEGER NOT NULL,"
    " PRIMARY KEY (order_id, product_id))",
    "CREATE TABLE IF NOT EXISTS users ("
    " id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    " password_hash TEXT NOT NULL, created_at_ns INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sessions ("
    " token TEXT PRIMARY KEY, user_id INTEGER NOT NULL, expires_at_ns INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cart_items ("
    " user_id INTEGER NOT NULL, product_id INTEGER NOT NULL,"
    " quantity INTEGER NOT NULL CHECK (quantity > 0), PRIMARY KEY (user_id, product_id))",
    "CREATE TABLE IF NOT EXISTS orders ("
    " id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, idempotency_key TEXT NOT NULL,"
    " status TEXT NOT NULL, failure_reason TEXT NOT NULL, total_cents INTEGER NOT NULL,"
    " created_at_ns INTEGER NOT NULL, updated_at_ns INTEGER NOT NULL,"
    " UNIQUE (user_id, idempotency_key))",
    "CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, id)",
    "CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, created_at_ns)",
    "CREATE TABLE IF NOT EXISTS order_lines ("
    " order_id INTEGER NOT NULL REFERENCES orders(id), product_id INTEGER NOT NULL,"
    " quantity INTEGER NOT NULL, unit_price_cents INTEGER NOT NULL,"
    " PRIMARY KEY (order_id, product_id))",
    "CREATE TABLE IF NOT EXISTS outbox ("
    " id INTEGER PRIMARY KEY, payload TEXT NOT NULL, created_at_ns INTEGER NOT NULL,"
    " sent_at_ns INTEGER, claimed_until_ns INTEGER)",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE sent_at_ns IS NULL",
    // The embedded orders queue and its dead-letter queue (SqliteQueue), durable like SQS.
    // AUTOINCREMENT: an id is never reused, so a stale receipt cannot name a newer message.
    "CREATE TABLE IF NOT EXISTS queue_messages ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, body TEXT NOT NULL,"
    " attributes TEXT, sent_at_ns INTEGER NOT NULL, visible_at_ns INTEGER NOT NULL,"
    " receive_count INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS queue_messages_visible ON queue_messages (queue, visible_at_ns, "
    "id)",
    // Cart lines a checkout took out of the cart and has not yet turned into an order.
    "CREATE TABLE IF NOT EXISTS cart_claims ("
    " user_id INTEGER NOT NULL, idempotency_key TEXT NOT NULL, product_id INTEGER NOT NULL,"
    " quantity INTEGER NOT NULL CHECK (quantity > 0), claimed_at_ns INTEGER NOT NULL,"
    " PRIMARY KEY (user_id, idempotency_key, product_id))",
};

bool contains(const std::string& haystack, const char* needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

Error map_sqlite_exception(std::exception_ptr error) {
  try {
    std::rethrow_exception(std::move(error));
  } catch (const soci::sqlite3_soci_error& e) {
    const std::string message = e.what();
    switch (e.result() & 0xff) {
      case SQLITE_CONSTRAINT:
        if (contains(message, "FOREIGN KEY") || contains(message, "CHECK")) {
          return Error{ErrorKind::invalid_argument, message};
        }
        return Error{ErrorKind::conflict, message};
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
      case SQLITE_CANTOPEN:
      case SQLITE_IOERR:
      case SQLITE_FULL:
        return Error{ErrorKind::unavailable, message};
      default:
        return Error{ErrorKind::internal, message};
    }
  } catch (const soci::soci_error& e) {
    const std::string message = e.what();
    // Some SOCI paths lose the SQLite code; the message still tells.
    if (contains(message, "UNIQUE constraint") || contains(message, "PRIMARY KEY constraint")) {
      return Error{ErrorKind::conflict, message};
    }
    if (contains(message, "locked") || contains(message, "busy") ||
        e.get_error_category() == soci::soci_error::connection_error) {
      return Error{ErrorKind::unavailable, message};
    }
    return Error{ErrorKind::internal, message};
  } catch (const std::exception& e) {
    return Error{ErrorKind::internal, e.what()};
  } catch (...) {
    return Error{ErrorKind::internal, "unknown exception in the SQLite store"};
  }
}

namespace {

// SQLite's spelling of what SqlDialect leaves open; the write lock BEGIN IMMEDIATE takes covers
// what MySQL locks row by row.
constexpr SqlFragments kSqliteFragments{
    // lower() and a lower-cased text: ASCII case-insensitive
    {"instr(lower(name), :t2) > 0", "instr(lower(description), :t3) > 0",
     "(instr(lower(name), :rt) > 0)", "name COLLATE NOCASE ASC", true},
    "INSERT OR IGNORE INTO",
    "",
    "",
    "SELECT last_insert_rowid()",
};

class SqliteDialect final : public SqlDialect {
 public:
  explicit SqliteDialect(SqliteDatabase::Impl& db) : SqlDialect(kSqliteFragments), db_(db) {}

  void put_back_reserved_stock(soci::session& sql, std::int64_t order_id,
                               std::int64_t now) const override {
    sql << "UPDATE products SET stock = stock + (SELECT quantity FROM stock_reservation_lines l "
           "WHERE l.order_id = :o1 AND l.product_id = products.id), version = version + 1, "
           "updated_at_ns = :t WHERE id IN (SELECT product_id FROM stock_reservation_lines "
           "WHERE order_id = :o2)",
        soci::use(order_id), soci::use(now), soci::use(order_id);
  }

  Result<void> run_write(const Body& body) override { return db_.write(body); }
  // One server: every read sees the latest commit, whatever the consistency asked for.
  Result<void> run_read(Consistency /*consistency*/,
                        std::initializer_list<std::string_view> /*recent_keys*/,
                        const Body& body) override {
    return db_.read(body);
  }

 private:
  SqliteDatabase::Impl& db_;
};

}  // namespace

SqliteDatabase::Impl::Impl(SqliteOptions opts, std::size_t pool_size)
    : options(std::move(opts)),
      pool(pool_size),
      dialect(std::make_unique<SqliteDialect>(*this)),
      metrics_(options.metrics, "sqlite") {}

SqliteDatabase::SqliteDatabase(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteDatabase::~SqliteDatabase() = default;

const SqliteOptions& SqliteDatabase::options() const {
  return impl_->options;
}

SqlDialect& SqliteDatabase::dialect() {
  return *impl_->dialect;
}

Result<std::shared_ptr<SqliteDatabase>> SqliteDatabase::open(const SqliteOptions& options) {
  if (options.path.empty()) {
    return Error{ErrorKind::invalid_argument, "sqlite path is empty"};
  }
  const bool in_memory = options.path == ":memory:";
  // A private :memory: database exists per connection, so a pool of them would be a pool of
  // different databases: use exactly one connection there.
  const std::size_t pool_size = in_memory ? 1 : std::max<std::size_t>(options.pool_size, 1);
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(options, pool_size);
    for (std::size_t i = 0; i < pool_size; ++i) {
      soci::session& sql = impl->pool.at(i);
      sql.open(soci::sqlite3, "db=" + options.path);
      sql << fmt::format("PRAGMA busy_timeout = {}", options.busy_timeout.count());
      sql << "PRAGMA foreign_keys = ON";
      if (!in_memory) {
        std::string mode;
        sql << "PRAGMA journal_mode = WAL", soci::into(mode);
        sql << "PRAGMA synchronous = NORMAL";
      }
    }
  } catch (...) {
    Error e = map_sqlite_exception(std::current_exception());
    return Error{ErrorKind::unavailable,
                 "cannot open sqlite database " + options.path + ": " + e.message};
  }
  auto applied = impl->write([](soci::session& sql) -> Result<void> {
    for (const char* statement : kSchema) {
      sql << statement;
    }
    // Databases made before the relay claimed rows get the lease column.
    int has_claim_column = 0;
    sql << "SELECT COUNT(*) FROM pragma_table_info('outbox') WHERE name = 'claimed_until_ns'",
        soci::into(has_claim_column);
    if (has_claim_column == 0) {
      sql << "ALTER TABLE outbox ADD COLUMN claimed_until_ns INTEGER";
    }
    // ... and those made before queue messages had attributes, the attributes column.
    int has_attributes_column = 0;
    sql << "SELECT COUNT(*) FROM pragma_table_info('queue_messages') WHERE name = 'attributes'",
        soci::into(has_attributes_column);
    if (has_attributes_column == 0) {
      sql << "ALTER TABLE queue_messages ADD COLUMN attributes TEXT";
    }
    int rows = 0;
    sql << "SELECT COUNT(*) FROM schema_version", soci::into(rows);
    if (rows == 0) {
      sql << "INSERT INTO schema_version (version) VALUES (:v)",
          soci::use(SqliteDatabase::schema_version);
      return {};
    }
    int version = 0;
    sql << "SELECT MAX(version) FROM schema_version", soci::into(version);
    if (version > SqliteDatabase::schema_version) {
      return Error{ErrorKind::internal,
                   fmt::format("database schema version {} is newer than this build's {}", version,
                               SqliteDatabase::schema_version)};
    }
    return {};
  });
  if (!applied) {
    return Error{ErrorKind::internal, "applying the schema failed: " + applied.error().message};
  }
  return std::shared_ptr<SqliteDatabase>(new SqliteDatabase(std::move(impl)));
}

}  // namespace crest::store
