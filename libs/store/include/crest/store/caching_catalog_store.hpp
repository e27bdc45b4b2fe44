#pragma once
// Cache-aside decorator for any CatalogStore over any Cache (RedisCache, LruCache).
//
// Cached: product detail (`eventual` reads), product list pages (the key holds every query
// field) and the category list, each with its TTL plus or minus `jitter` so entries written
// together do not expire together. Misses on one key are collapsed (single-flight): one caller
// loads, the others in this process wait for its result. A cache error is a miss: the read goes
// to the inner store and still succeeds.
//
// Invalidation: every write that changes a product (set_price, set_stock, reserve_stock,
// release_stock: of the products this process saw the order reserve) erases its detail key. List
// pages carry a catalog generation number, kept in the cache and part of every list key; set_price,
// set_stock and inserts replace it, so every cached page is orphaned at once (and expires unread).
// Stock reservations do not bump it: at checkout rates that would make list caching useless, and
// the stock shown in a list is only a hint (reserve_stock re-checks it in the database), so lists
// may show stock up to `list_ttl` old. `strong` reads and products(ids) (the checkout's price
// check) bypass the cache.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "crest/core/clock.hpp"
#include "crest/store/cache.hpp"
#include "crest/store/catalog_store.hpp"

namespace crest::store {

struct CachingCatalogOptions {
  std::chrono::milliseconds product_ttl{60000};
  std::chrono::milliseconds list_ttl{15000};
  std::chrono::milliseconds categories_ttl{300000};
  double jitter = 0.1;  // TTLs vary by +-10 %
  std::string key_prefix = "catalog:";
  // How long a caller waits for another's load of the same key before loading itself.
  std::chrono::milliseconds single_flight_wait{5000};
};

class CachingCatalogStore final : public CatalogStore {
 public:
  CachingCatalogStore(std::shared_ptr<CatalogStore> inner, std::shared_ptr<Cache> cache,
                      CachingCatalogOptions options = {});

  Result<std::vector<Category>> categories() override;
  Result<ProductPage> list_products(const ProductQuery& query) override;
  Result<Product> product(std::int64_t id,
                          Consistency consistency = Consistency::eventual) override;
  Result<std::vector<Product>> products(const std::vector<std::int64_t>& ids,
                                        Consistency consistency = Consistency::eventual) override;
  Result<void> reserve_stock(std::int64_t order_id, const std::vector<OrderLine>& lines) override;
  Result<void> release_stock(std::int64_t order_id) override;
  Result<void> set_price(std::int64_t product_id, std::int64_t price_cents) override;
  Result<void> set_stock(std::int64_t product_id, std::int64_t stock) override;
  Result<std::int64_t> insert_category(const Category& category) override;
  Result<std::int64_t> insert_product(const Product& product) override;

  std::string product_key(std::int64_t id) const;

  // Response bytes cached beside the data, so a read is a lookup and a write instead of a parse
  // and a render. `render` makes the bytes from a loaded value; the entry is "ETAG\nBODY", the
  // ETag a hash of the body. View entries follow the same invalidation as the data entries (a
  // product's view is erased with it; list views carry the generation in their key).
  using ProductRender = std::function<std::string(const Product&)>;
  using PageRender = std::function<std::string(const ProductPage&)>;
  Result<std::string> product_view(std::int64_t id, const ProductRender& render);
  Result<std::string> list_view(const ProductQuery& query, const PageRender& render);
  // Only a cache probe, never a load: for an event loop, and only when the cache is in-process
  // (cache_in_process()); nullopt on a miss or an error.
  std::optional<std::string> cached_product_view(std::int64_t id);
  std::optional<std::string> cached_list_view(const ProductQuery& query);
  bool cache_in_process() const;
  // "ETAG\nBODY" for a body: what the view entries hold.
  static std::string view_entry(std::string_view body);

 private:
  struct Flight;
  // The cached value of `key`, or the loader's result (stored with `ttl`), loading at most
  // once per key at a time in this process.
  Result<std::string> get_or_load(const std::string& key, std::chrono::milliseconds ttl,
                                  const std::function<Result<std::string>()>& load);
  void invalidate(const std::string& key);
  // The list generation; nullopt if the cache cannot tell (then lists bypass the cache).
  std::optional<std::string> generation();
  void bump_generation();
  std::optional<std::string> list_key(const ProductQuery& query);
  std::chrono::milliseconds jittered(std::chrono::milliseconds ttl) const;

  std::shared_ptr<CatalogStore> inner_;
  std::shared_ptr<Cache> cache_;
  CachingCatalogOptions options_;

  std::mutex flights_mutex_;
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;

  // Which products recent orders reserved, so release_stock knows what to invalidate.
  static constexpr std::size_t kRememberedReservations = 10000;
  std::mutex reservations_mutex_;
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> reservations_;
  std::deque<std::int64_t> reservation_order_;
};

}  // namespace crest::store
