#pragma once
// Opens the adapter behind each store port as configuration says (docs/backends.md) and owns
// them for the life of the process.
#include <memory>

#include "crest/core/clock.hpp"
#include "crest/core/config.hpp"
#include "crest/core/error.hpp"
#include "crest/metrics/registry.hpp"
#include "shop.hpp"

namespace crest::store {
class MysqlDatabase;
}

namespace crest::storefront {

// Every port starts as its embedded adapter (SQLite, LRU, the SQLite queue); configuration
// replaces some with real ones. Embedded adapters nobody kept are released.
struct Backends {
  std::shared_ptr<store::MysqlDatabase> mysql;
  std::shared_ptr<store::CatalogStore> catalog;  // possibly the caching decorator
  std::shared_ptr<store::Cache> cache;           // null with `cache: off`
  std::shared_ptr<store::UserStore> users;
  std::shared_ptr<store::SessionStore> sessions;
  std::shared_ptr<store::CartStore> carts;
  std::shared_ptr<store::OrderStore> orders;
  std::shared_ptr<store::Queue> orders_dlq;  // null when SQS has no dead-letter URL configured
  std::shared_ptr<store::Queue> orders_queue;
  bool shared_queue = false;  // true when the queue is reachable from other processes (SQS)

  ShopStores view() const;
};

// The configuration keys of the backends, added to the storefront's schema.
std::vector<ConfigOption> backend_config_schema();

Result<Backends> open_backends(const Config& config, metrics::Registry& registry, Clock& clock);

}  // namespace crest::storefront
