#pragma once
// Each service adds its routes to a router. A process serves one role or all of them.
#include "crest/http/router.hpp"
#include "shop.hpp"

namespace crest::storefront {

class PasswordHasher;
class OrderProcessor;

void add_users_routes(http::Router& router, Shop& shop, const PasswordHasher& hasher);
void add_catalog_routes(http::Router& router, Shop& shop);
void add_cart_routes(http::Router& router, Shop& shop);
// With a processor, checkout is synchronous (the `checkout: sync` baseline): the order is
// processed inside the request and answered 201 with its final status. Without, 202 at once.
void add_orders_routes(http::Router& router, Shop& shop, OrderProcessor* sync_processor = nullptr);

}  // namespace crest::storefront
