#pragma once
// Each service adds its routes to a router. A process serves one role or all of them.
#include "crest/http/router.hpp"
#include "shop.hpp"

namespace crest::storefront {

class PasswordHasher;

void add_users_routes(http::Router& router, Shop& shop, const PasswordHasher& hasher);
void add_catalog_routes(http::Router& router, Shop& shop);
void add_cart_routes(http::Router& router, Shop& shop);
void add_orders_routes(http::Router& router, Shop& shop);

}  // namespace crest::storefront
