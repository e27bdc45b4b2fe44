#pragma once
// Each service adds its routes to a router. A process serves one role or all of them.
#include "crest/core/config.hpp"
#include "crest/http/router.hpp"
#include "shop.hpp"

namespace crest::storefront {

class PasswordHasher;
class OrderProcessor;

void add_users_routes(http::Router& router, Shop& shop, const PasswordHasher& hasher);
void add_catalog_routes(http::Router& router, Shop& shop);
void add_cart_routes(http::Router& router, Shop& shop);
// The orders service's configuration keys (orders_service.cpp): `checkout`, `orders.*` and the
// outbox relay's `outbox.*`; added to the storefront's schema.
std::vector<ConfigOption> orders_config_schema();
// `checkout: outbox` (202 at once; the worker completes the order) or `sync` (the baseline: the
// order is processed inside the request).
enum class CheckoutMode { outbox, sync };
CheckoutMode checkout_mode(const Config& config);

// With a processor, checkout is synchronous (the `checkout: sync` baseline): the order is
// processed inside the request and answered 201 with its final status. Without, 202 at once.
void add_orders_routes(http::Router& router, Shop& shop, OrderProcessor* sync_processor = nullptr);
// Finishes what checkouts that died left in a user's cart (orders_service.cpp): claims whose
// order exists are dropped, claims older than the claim timeout give their lines back.
void settle_cart_claims(Shop& shop, std::int64_t user_id, const log::Logger& logger);

}  // namespace crest::storefront
