#pragma once
// What every storefront service is given: the store ports, settings, metrics and a logger.
// The ports are embedded adapters or real ones; services cannot tell which.
#include <chrono>
#include <cstdint>

#include "crest/core/clock.hpp"
#include "crest/core/log.hpp"
#include "crest/metrics/registry.hpp"
#include "crest/store/cache.hpp"
#include "crest/store/cart_store.hpp"
#include "crest/store/catalog_store.hpp"
#include "crest/store/order_store.hpp"
#include "crest/store/queue.hpp"
#include "crest/store/session_store.hpp"
#include "crest/store/user_store.hpp"

namespace crest::storefront {

struct ShopStores {
  store::CatalogStore* catalog = nullptr;
  store::UserStore* users = nullptr;
  store::SessionStore* sessions = nullptr;
  store::CartStore* carts = nullptr;
  store::OrderStore* orders = nullptr;
  store::Queue* orders_queue = nullptr;
  store::Queue* orders_dlq = nullptr;
};

struct ShopSettings {
  std::chrono::seconds session_ttl{24 * 3600};
  std::uint64_t argon2_ops = 2;  // OWASP's Argon2id minimum: t=2, m=19 MiB
  std::size_t argon2_memory_bytes = 19 * 1024 * 1024;
  std::chrono::milliseconds payment_latency{50};
  double payment_failure_rate = 0.0;
  int max_cart_quantity = 99;
  // Failed logins allowed per minute (and in a burst) per account and per client address
  // (login_throttle.hpp); 0: no limit.
  int login_failures_per_account = 10;
  int login_failures_per_address = 100;
  // The session cookie's Secure attribute; off only for plain-HTTP local runs.
  bool secure_cookie = true;
  // A checkout's claim on cart lines older than this, with no order, gives the lines back.
  std::chrono::milliseconds checkout_claim_timeout{60'000};
  // Fault injection for tests: checkout exits the process between claiming the cart lines and
  // committing the order.
  bool crash_after_cart_claim = false;
};

struct Shop {
  ShopStores stores;
  ShopSettings settings;
  metrics::Registry* metrics = nullptr;
  Clock* clock = &Clock::system();
  log::Logger logger{"storefront"};
};

}  // namespace crest::storefront
