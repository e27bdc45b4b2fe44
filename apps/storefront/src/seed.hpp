#pragma once
// Deterministic test data: the same plan always produces the same categories, products, users
// and passwords, so load-test feeds (the users CSV) can be regenerated anywhere.
#include <cstdint>
#include <string>

#include "auth.hpp"
#include "crest/core/error.hpp"
#include "shop.hpp"

namespace crest::storefront {

struct SeedPlan {
  int categories = 8;
  int products = 200;
  int users = 20;
  std::uint32_t seed = 42;
  std::string users_csv;  // where to write "email,password,name" rows; empty: nowhere
};

struct SeedSummary {
  int categories = 0;
  int products = 0;
  int users = 0;
};

// Fails with `conflict` if the store already holds seeded data.
Result<SeedSummary> seed_shop(const ShopStores& stores, const PasswordHasher& hasher,
                              const SeedPlan& plan);

}  // namespace crest::storefront
