#include "crest/store/embedded.hpp"

#include "crest/store/lru_cache.hpp"
#include "crest/store/sqlite.hpp"
#include "crest/store/sqlite_queue.hpp"

namespace crest::store {

Result<EmbeddedStores> open_embedded_stores(const EmbeddedOptions& options) {
  Clock& clock = options.clock != nullptr ? *options.clock : Clock::system();
  auto db = SqliteDatabase::open(
      SqliteOptions{options.sqlite_path, options.pool_size, options.busy_timeout, options.metrics});
  if (!db) {
    return db.error();
  }
  EmbeddedStores stores;
  stores.database = *db;
  stores.catalog = std::make_shared<SqlCatalogStore>(*db, clock);
  stores.users = std::make_shared<SqlUserStore>(*db, clock);
  stores.sessions = std::make_shared<SqliteSessionStore>(*db, clock);
  stores.carts = std::make_shared<SqliteCartStore>(*db);
  stores.orders = std::make_shared<SqlOrderStore>(*db, clock);
  stores.cache = std::make_shared<LruCache>(
      LruCacheOptions{options.cache_capacity, "local", options.metrics}, clock);
  // Durable queues in the same database: an accepted order survives any process death.
  stores.orders_dlq = std::make_shared<SqliteQueue>(
      *db,
      SqliteQueueOptions{"orders_dlq", options.queue_visibility_timeout, std::nullopt,
                         options.metrics},
      clock);
  stores.orders_queue = std::make_shared<SqliteQueue>(
      *db,
      SqliteQueueOptions{"orders", options.queue_visibility_timeout,
                         SqliteRedrivePolicy{"orders_dlq", options.max_receive_count},
                         options.metrics},
      clock);
  return stores;
}

}  // namespace crest::store
