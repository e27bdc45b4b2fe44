#pragma once
// Port: shopping carts, one per user (DynamoDB in production: one item keyed by user id with a
// map product_id -> quantity, changed with atomic ADD and condition expressions).
// Every change is a single atomic operation on the store, so concurrent requests from many
// instances never lose an update. Mutations return the cart as it is after the change.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/store/model.hpp"

namespace crest::store {

class CartStore {
 public:
  virtual ~CartStore() = default;

  // An empty cart (no lines) if the user has none.
  virtual Result<Cart> get(std::int64_t user_id) = 0;
  // Adds `quantity` (> 0, else invalid_argument) to the line's current quantity, unless the
  // line would then hold more than `max_line_quantity`: conflict, and nothing changes.
  virtual Result<Cart> add_item(std::int64_t user_id, std::int64_t product_id,
                                std::int64_t quantity,
                                std::int64_t max_line_quantity = INT64_MAX) = 0;
  // Sets the line's quantity (>= 0, else invalid_argument); 0 removes the line.
  virtual Result<Cart> set_quantity(std::int64_t user_id, std::int64_t product_id,
                                    std::int64_t quantity) = 0;
  // not_found if the cart has no such line.
  virtual Result<Cart> remove_item(std::int64_t user_id, std::int64_t product_id) = 0;
  // Empties the cart (and forgets its claims); succeeds if there was none.
  virtual Result<void> clear(std::int64_t user_id) = 0;

  // Checkout, line by line, in one atomic operation (compare-and-delete): takes exactly `lines`
  // out of the cart and records them as claimed by `idempotency_key`. Every line must still be
  // in the cart with at least its quantity; a quantity raised meanwhile keeps the difference and
  // a line added meanwhile stays. Otherwise conflict ("cart_changed") and nothing changes;
  // conflict too if the key already holds a claim. invalid_argument for no lines.
  virtual Result<void> claim_lines(std::int64_t user_id, const std::string& idempotency_key,
                                   const std::vector<CartLine>& lines, WallTime now) = 0;
  // The claims not yet dropped or returned, oldest first.
  virtual Result<std::vector<CartClaim>> claims(std::int64_t user_id) = 0;
  // Forgets a claim whose order is committed; succeeds if there is none.
  virtual Result<void> drop_claim(std::int64_t user_id, const std::string& idempotency_key) = 0;
  // Puts the claimed lines back into the cart and forgets the claim, atomically (its order was
  // never committed); not_found if there is no such claim.
  virtual Result<void> return_claim(std::int64_t user_id, const std::string& idempotency_key) = 0;
};

using CartStorePtr = std::unique_ptr<CartStore>;

}  // namespace crest::store
