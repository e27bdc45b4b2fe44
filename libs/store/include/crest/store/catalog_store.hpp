#pragma once
// Port: the product catalog and its stock.
#include <cstdint>
#include <memory>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/store/model.hpp"

namespace crest::store {

class CatalogStore {
 public:
  virtual ~CatalogStore() = default;

  virtual Result<std::vector<Category>> categories() = 0;
  // invalid_argument for page < 1 or page_size outside 1..ProductQuery::max_page_size.
  virtual Result<ProductPage> list_products(const ProductQuery& query) = 0;
  // not_found if absent.
  virtual Result<Product> product(std::int64_t id,
                                  Consistency consistency = Consistency::eventual) = 0;
  // The products that exist among `ids` (missing ids are simply absent), sorted by id.
  virtual Result<std::vector<Product>> products(
      const std::vector<std::int64_t>& ids, Consistency consistency = Consistency::eventual) = 0;

  // Atomically decrements stock for every line, all or nothing: if any product lacks stock,
  // nothing changes and the error is `conflict` naming that product (`not_found` for an unknown
  // product). Idempotent per order_id: once an order has reserved, repeating is a no-op
  // success, so an at-least-once worker can retry freely.
  virtual Result<void> reserve_stock(std::int64_t order_id,
                                     const std::vector<OrderLine>& lines) = 0;
  // Gives back what `order_id` reserved (compensation when payment fails). Idempotent; a no-op
  // success if the order never reserved or was already released.
  virtual Result<void> release_stock(std::int64_t order_id) = 0;

  // Admin and seeding. not_found if the product is absent; invalid_argument if negative.
  virtual Result<void> set_price(std::int64_t product_id, std::int64_t price_cents) = 0;
  virtual Result<void> set_stock(std::int64_t product_id, std::int64_t stock) = 0;
  // Return the id (assigned when the given id is 0). conflict on a duplicate slug/sku/id.
  virtual Result<std::int64_t> insert_category(const Category& category) = 0;
  virtual Result<std::int64_t> insert_product(const Product& product) = 0;
};

using CatalogStorePtr = std::unique_ptr<CatalogStore>;

}  // namespace crest::store
