#include "crest/store/caching_catalog_store.hpp"

#include <random>

#include "crest/store/lru_cache.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace crest::store {
namespace {

using nlohmann::json;

json product_json(const Product& p) {
  return json{
      {"id", p.id},       {"category_id", p.category_id}, {"sku", p.sku},
      {"name", p.name},   {"description", p.description}, {"price_cents", p.price_cents},
      {"stock", p.stock}, {"version", p.version},         {"updated_at_ns", to_ns(p.updated_at)}};
}

Product product_from(const json& j) {
  Product p;
  p.id = j.at("id").get<std::int64_t>();
  p.category_id = j.at("category_id").get<std::int64_t>();
  p.sku = j.at("sku").get<std::string>();
  p.name = j.at("name").get<std::string>();
  p.description = j.at("description").get<std::string>();
  p.price_cents = j.at("price_cents").get<std::int64_t>();
  p.stock = j.at("stock").get<std::int64_t>();
  p.version = j.at("version").get<std::int64_t>();
  p.updated_at = from_ns(j.at("updated_at_ns").get<std::int64_t>());
  return p;
}

// Decodes a cached value; a corrupt entry (another version's format) reads as an error, which
// the caller treats like a miss.
template <typename T, typename Decode>
Result<T> decode(const Result<std::string>& text, Decode&& from_json) {
  if (!text.ok()) {
    return text.error();
  }
  try {
    return from_json(json::parse(*text));
  } catch (const std::exception& e) {
    return Error{ErrorKind::internal, std::string("undecodable cache entry: ") + e.what()};
  }
}

std::string random_token() {
  thread_local std::mt19937_64 random{std::random_device{}()};
  return fmt::format("{:016x}", random());
}

}  // namespace

struct CachingCatalogStore::Flight {
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  bool invalidated = false;  // guarded by flights_mutex_: a write happened during the load
  std::optional<Result<std::string>> result;
};

CachingCatalogStore::CachingCatalogStore(std::shared_ptr<CatalogStore> inner,
                                         std::shared_ptr<Cache> cache,
                                         CachingCatalogOptions options)
    : inner_(std::move(inner)), cache_(std::move(cache)), options_(std::move(options)) {}

std::string CachingCatalogStore::product_key(std::int64_t id) const {
  return fmt::format("{}product:{}", options_.key_prefix, id);
}

std::chrono::milliseconds CachingCatalogStore::jittered(std::chrono::milliseconds ttl) const {
  if (options_.jitter <= 0 || ttl.count() <= 0) {
    return ttl;
  }
  thread_local std::mt19937 random{std::random_device{}()};
  std::uniform_real_distribution<double> factor(1.0 - options_.jitter, 1.0 + options_.jitter);
  return std::max(std::chrono::milliseconds(1),
                  std::chrono::milliseconds(static_cast<std::int64_t>(
                      static_cast<double>(ttl.count()) * factor(random))));
}

Result<std::string> CachingCatalogStore::get_or_load(
    const std::string& key, std::chrono::milliseconds ttl,
    const std::function<Result<std::string>()>& load) {
  auto cached = cache_->get(key);
  if (cached.ok() && cached->has_value()) {
    return std::move(**cached);
  }
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    const std::lock_guard lock(flights_mutex_);
    auto& slot = flights_[key];
    if (!slot) {
      slot = std::make_shared<Flight>();
      leader = true;
    }
    flight = slot;
  }
  if (!leader) {
    std::unique_lock lock(flight->mutex);
    if (flight->done_cv.wait_for(lock, options_.single_flight_wait, [&] { return flight->done; })) {
      return *flight->result;
    }
    lock.unlock();
    return load();  // the leader is stuck: do not stay stuck with it
  }

  Result<std::string> result = load();
  if (result.ok() && cached.ok()) {  // after a cache error, do not pay for a second one
    (void)cache_->set(key, *result, jittered(ttl));
  }
  bool invalidated = false;
  {
    const std::lock_guard lock(flights_mutex_);
    invalidated = flight->invalidated;
    flights_.erase(key);
  }
  if (invalidated && result.ok()) {
    (void)cache_->erase(key);  // what we loaded may predate the write
  }
  {
    const std::lock_guard lock(flight->mutex);
    flight->result = result;
    flight->done = true;
  }
  flight->done_cv.notify_all();
  return result;
}

void CachingCatalogStore::invalidate(const std::string& key) {
  {
    const std::lock_guard lock(flights_mutex_);
    if (const auto it = flights_.find(key); it != flights_.end()) {
      it->second->invalidated = true;
    }
    if (const auto it = flights_.find(key + ":view"); it != flights_.end()) {
      it->second->invalidated = true;
    }
  }
  (void)cache_->erase(key);
  (void)cache_->erase(key + ":view");
}

std::string CachingCatalogStore::view_entry(std::string_view body) {
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a: an ETag, not a secret
  for (const char c : body) {
    hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  std::string entry = fmt::format("\"{:016x}\"\n", hash);
  entry.append(body);
  return entry;
}

bool CachingCatalogStore::cache_in_process() const {
  return dynamic_cast<const LruCache*>(cache_.get()) != nullptr;
}

std::optional<std::string> CachingCatalogStore::cached_product_view(std::int64_t id) {
  auto cached = cache_->get(product_key(id) + ":view");
  if (!cached.ok() || !cached->has_value()) return std::nullopt;
  return std::move(**cached);
}

std::optional<std::string> CachingCatalogStore::cached_list_view(const ProductQuery& query) {
  const auto key = list_key(query);
  if (!key) return std::nullopt;
  auto cached = cache_->get(*key + ":view");
  if (!cached.ok() || !cached->has_value()) return std::nullopt;
  return std::move(**cached);
}

Result<std::string> CachingCatalogStore::product_view(std::int64_t id,
                                                      const ProductRender& render) {
  return get_or_load(product_key(id) + ":view", options_.product_ttl, [&]() -> Result<std::string> {
    auto r = inner_->product(id, Consistency::eventual);
    if (!r.ok()) return r.error();
    return view_entry(render(*r));
  });
}

Result<std::string> CachingCatalogStore::list_view(const ProductQuery& query,
                                                   const PageRender& render) {
  const auto key = list_key(query);
  if (!key) {
    auto r = inner_->list_products(query);
    if (!r.ok()) return r.error();
    return view_entry(render(*r));
  }
  return get_or_load(*key + ":view", options_.list_ttl, [&]() -> Result<std::string> {
    auto r = inner_->list_products(query);
    if (!r.ok()) return r.error();
    return view_entry(render(*r));
  });
}

std::optional<std::string> CachingCatalogStore::list_key(const ProductQuery& query) {
  if (query.page < 1 || query.page_size < 1 || query.page_size > ProductQuery::max_page_size) {
    return std::nullopt;
  }
  const auto gen = generation();
  if (!gen) return std::nullopt;
  // Every query field is in the key; the free text goes last, so it cannot be confused with
  // the fields before it whatever it contains.
  return fmt::format("{}list:{}:c={}:p={}:n={}:s={}:q={}", options_.key_prefix, *gen,
                     query.category_id ? std::to_string(*query.category_id) : "-", query.page,
                     query.page_size, static_cast<int>(query.sort), query.text);
}

std::optional<std::string> CachingCatalogStore::generation() {
  const std::string key = options_.key_prefix + "generation";
  auto current = cache_->get(key);
  if (!current.ok()) {
    return std::nullopt;
  }
  if (current->has_value()) {
    return std::move(**current);
  }
  // First use, or the cache lost it (restart, eviction): any fresh value orphans old pages.
  std::string fresh = random_token();
  if (!cache_->set(key, fresh, std::chrono::milliseconds(0)).ok()) {
    return std::nullopt;
  }
  return fresh;
}

void CachingCatalogStore::bump_generation() {
  (void)cache_->set(options_.key_prefix + "generation", random_token(),
                    std::chrono::milliseconds(0));
}

Result<std::vector<Category>> CachingCatalogStore::categories() {
  const std::string key = options_.key_prefix + "categories";
  std::vector<Category> loaded;
  bool fresh = false;
  auto text = get_or_load(key, options_.categories_ttl, [&]() -> Result<std::string> {
    auto r = inner_->categories();
    if (!r.ok()) {
      return r.error();
    }
    json out = json::array();
    for (const auto& c : *r) {
      out.push_back(json{{"id", c.id}, {"slug", c.slug}, {"name", c.name}});
    }
    loaded = std::move(*r);
    fresh = true;
    return out.dump();
  });
  if (fresh && text.ok()) {
    return loaded;
  }
  auto decoded = decode<std::vector<Category>>(text, [](const json& j) {
    std::vector<Category> out;
    for (const auto& c : j) {
      out.push_back(Category{c.at("id").get<std::int64_t>(), c.at("slug").get<std::string>(),
                             c.at("name").get<std::string>()});
    }
    return out;
  });
  if (!decoded.ok() && text.ok()) {
    return inner_->categories();
  }
  return decoded;
}

Result<ProductPage> CachingCatalogStore::list_products(const ProductQuery& query) {
  if (query.page < 1 || query.page_size < 1 || query.page_size > ProductQuery::max_page_size) {
    return inner_->list_products(query);  // its error, not a cached one
  }
  const auto list = list_key(query);
  if (!list) {
    return inner_->list_products(query);
  }
  const std::string& key = *list;
  ProductPage loaded;
  bool fresh = false;
  auto text = get_or_load(key, options_.list_ttl, [&]() -> Result<std::string> {
    auto r = inner_->list_products(query);
    if (!r.ok()) {
      return r.error();
    }
    json items = json::array();
    for (const auto& p : r->items) {
      items.push_back(product_json(p));
    }
    const std::string out =
        json{{"items", items}, {"total", r->total}, {"page", r->page}, {"page_size", r->page_size}}
            .dump();
    loaded = std::move(*r);
    fresh = true;
    return out;
  });
  if (fresh && text.ok()) {
    return loaded;
  }
  auto decoded = decode<ProductPage>(text, [](const json& j) {
    ProductPage page;
    for (const auto& p : j.at("items")) {
      page.items.push_back(product_from(p));
    }
    page.total = j.at("total").get<std::int64_t>();
    page.page = j.at("page").get<int>();
    page.page_size = j.at("page_size").get<int>();
    return page;
  });
  if (!decoded.ok() && text.ok()) {
    return inner_->list_products(query);
  }
  return decoded;
}

Result<Product> CachingCatalogStore::product(std::int64_t id, Consistency consistency) {
  if (consistency == Consistency::strong) {
    return inner_->product(id, consistency);
  }
  std::optional<Product> loaded;
  auto text = get_or_load(product_key(id), options_.product_ttl, [&]() -> Result<std::string> {
    auto r = inner_->product(id, consistency);
    if (!r.ok()) {
      return r.error();
    }
    std::string out = product_json(*r).dump();
    loaded = std::move(*r);
    return out;
  });
  if (loaded && text.ok()) {
    return std::move(*loaded);
  }
  auto decoded = decode<Product>(text, [](const json& j) { return product_from(j); });
  if (!decoded.ok() && text.ok()) {
    return inner_->product(id, consistency);
  }
  return decoded;
}

Result<std::vector<Product>> CachingCatalogStore::products(const std::vector<std::int64_t>& ids,
                                                           Consistency consistency) {
  return inner_->products(ids, consistency);
}

Result<void> CachingCatalogStore::reserve_stock(std::int64_t order_id,
                                                const std::vector<OrderLine>& lines) {
  auto r = inner_->reserve_stock(order_id, lines);
  std::vector<std::int64_t> products;
  // Also on failure: a conflict means the cached stock was wrong.
  for (const auto& line : lines) {
    invalidate(product_key(line.product_id));
    products.push_back(line.product_id);
  }
  if (r.ok()) {
    const std::lock_guard lock(reservations_mutex_);
    if (reservations_.emplace(order_id, std::move(products)).second) {
      reservation_order_.push_back(order_id);
      if (reservation_order_.size() > kRememberedReservations) {
        reservations_.erase(reservation_order_.front());
        reservation_order_.pop_front();
      }
    }
  }
  return r;
}

Result<void> CachingCatalogStore::release_stock(std::int64_t order_id) {
  auto r = inner_->release_stock(order_id);
  // The port does not say which products an order reserved: this process remembers the ones
  // it reserved; otherwise the detail entries stay (showing too little stock) for their TTL.
  std::vector<std::int64_t> products;
  {
    const std::lock_guard lock(reservations_mutex_);
    if (const auto it = reservations_.find(order_id); it != reservations_.end()) {
      products = it->second;
    }
  }
  for (const auto id : products) {
    invalidate(product_key(id));
  }
  return r;
}

Result<void> CachingCatalogStore::set_price(std::int64_t product_id, std::int64_t price_cents) {
  auto r = inner_->set_price(product_id, price_cents);
  invalidate(product_key(product_id));
  bump_generation();
  return r;
}

Result<void> CachingCatalogStore::set_stock(std::int64_t product_id, std::int64_t stock) {
  auto r = inner_->set_stock(product_id, stock);
  invalidate(product_key(product_id));
  bump_generation();
  return r;
}

Result<std::int64_t> CachingCatalogStore::insert_category(const Category& category) {
  auto r = inner_->insert_category(category);
  invalidate(options_.key_prefix + "categories");
  return r;
}

Result<std::int64_t> CachingCatalogStore::insert_product(const Product& product) {
  auto r = inner_->insert_product(product);
  if (r.ok()) {
    invalidate(product_key(*r));  // a cached "not found" is never stored, but be explicit
    bump_generation();
  }
  return r;
}

}  // namespace crest::store
