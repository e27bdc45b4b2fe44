#pragma once
// Port: shopping carts, one per user (DynamoDB in production: one item keyed by user id with a
// map product_id -> quantity, changed with atomic ADD and condition expressions).
// Every change is a single atomic operation on the store, so concurrent requests from many
// instances never lose an update. Mutations return the cart as it is after the change.
#include <cstdint>
#include <memory>

#include "crest/core/error.hpp"
#include "crest/store/model.hpp"

namespace crest::store {

class CartStore {
 public:
  virtual ~CartStore() = default;

  // An empty cart (no lines) if the user has none.
  virtual Result<Cart> get(std::int64_t user_id) = 0;
  // Adds `quantity` (> 0, else invalid_argument) to the line's current quantity.
  virtual Result<Cart> add_item(std::int64_t user_id, std::int64_t product_id,
                                std::int64_t quantity) = 0;
  // Sets the line's quantity (>= 0, else invalid_argument); 0 removes the line.
  virtual Result<Cart> set_quantity(std::int64_t user_id, std::int64_t product_id,
                                    std::int64_t quantity) = 0;
  // not_found if the cart has no such line.
  virtual Result<Cart> remove_item(std::int64_t user_id, std::int64_t product_id) = 0;
  // Empties the cart; succeeds if there was none.
  virtual Result<void> clear(std::int64_t user_id) = 0;
};

using CartStorePtr = std::unique_ptr<CartStore>;

}  // namespace crest::store
