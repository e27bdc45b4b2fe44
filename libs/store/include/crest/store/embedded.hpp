#pragma once
// The whole storage layer in one process, no servers: SQLite for the relational stores and
// sessions/carts, LruCache, and a durable orders queue with its dead-letter queue (SqliteQueue,
// tables in the same database).
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"
#include "crest/store/cache.hpp"
#include "crest/store/cart_store.hpp"
#include "crest/store/catalog_store.hpp"
#include "crest/store/order_store.hpp"
#include "crest/store/queue.hpp"
#include "crest/store/session_store.hpp"
#include "crest/store/user_store.hpp"

namespace crest::metrics {
class Registry;
}

namespace crest::store {

class SqliteDatabase;

struct EmbeddedOptions {
  std::string sqlite_path = ":memory:";
  std::size_t pool_size = 4;
  std::chrono::milliseconds busy_timeout{5000};
  std::size_t cache_capacity = 10000;
  std::chrono::milliseconds queue_visibility_timeout{30000};
  int max_receive_count = 5;
  Clock* clock = nullptr;                // nullptr: Clock::system(); must outlive the stores
  metrics::Registry* metrics = nullptr;  // optional; must outlive the stores
};

// Shared pointers, so that a process can keep the stores it uses and put real adapters in place
// of the others (apps/storefront/src/backends.cpp).
struct EmbeddedStores {
  std::shared_ptr<SqliteDatabase> database;  // also kept alive by each SQLite store
  std::shared_ptr<CatalogStore> catalog;
  std::shared_ptr<UserStore> users;
  std::shared_ptr<SessionStore> sessions;
  std::shared_ptr<CartStore> carts;
  std::shared_ptr<OrderStore> orders;
  std::shared_ptr<Cache> cache;
  std::shared_ptr<Queue> orders_dlq;
  std::shared_ptr<Queue> orders_queue;
};

// Opens (creating if needed) the SQLite database and builds every store. Errors: unavailable
// if the database cannot be opened, internal if the schema cannot be applied.
Result<EmbeddedStores> open_embedded_stores(const EmbeddedOptions& options);

}  // namespace crest::store
