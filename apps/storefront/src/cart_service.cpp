// cart: the signed-in user's cart.
#include <fmt/format.h>

#include "auth.hpp"
#include "crest/core/error.hpp"
#include "crest/http/errors.hpp"
#include "crest/http/json_body.hpp"
#include "json_views.hpp"
#include "services.hpp"

namespace crest::storefront {
namespace {

http::Response cart_response(Shop& shop, const store::Cart& cart, int status = 200) {
  std::vector<std::int64_t> ids;
  for (const auto& line : cart.lines) ids.push_back(line.product_id);
  std::vector<store::Product> products;
  if (!ids.empty()) products = http::value_or_throw(shop.stores.catalog->products(ids));
  return http::Response::json(status, to_json(cart, products));
}

void require_product(Shop& shop, std::int64_t product_id) {
  auto product = shop.stores.catalog->product(product_id);
  if (!product.ok() && product.error().kind == ErrorKind::not_found) {
    throw http::ResourceNotFound(fmt::format("product {} does not exist", product_id));
  }
  http::value_or_throw(std::move(product));
}

}  // namespace

void add_cart_routes(http::Router& router, Shop& shop) {
  router.add("GET", "/api/cart", [&shop](http::Request& request) {
    const auto user_id = require_user(*shop.stores.sessions, request);
    settle_cart_claims(shop, user_id, request.context.logger);
    return cart_response(shop, http::value_or_throw(shop.stores.carts->get(user_id)));
  });

  router.add("POST", "/api/cart/items", [&shop](http::Request& request) {
    const auto user_id = require_user(*shop.stores.sessions, request);
    const auto body = http::parse_json_object(request);
    const auto product_id = http::require_int(body, "product_id", 1, INT64_MAX);
    const auto quantity = http::require_int(body, "quantity", 1, shop.settings.max_cart_quantity);
    require_product(shop, product_id);
    auto cart =
        shop.stores.carts->add_item(user_id, product_id, quantity, shop.settings.max_cart_quantity);
    if (!cart.ok() && cart.error().kind == ErrorKind::conflict) {
      throw http::ClientError(
          fmt::format("a cart line holds at most {} units", shop.settings.max_cart_quantity),
          "quantity_limit");
    }
    return cart_response(shop, http::value_or_throw(std::move(cart)), 201);
  });

  router.add("PUT", "/api/cart/items/{product_id}", [&shop](http::Request& request) {
    const auto user_id = require_user(*shop.stores.sessions, request);
    const auto product_id = http::parse_id(request.path_param("product_id"), "product id");
    const auto body = http::parse_json_object(request);
    const auto quantity = http::require_int(body, "quantity", 0, shop.settings.max_cart_quantity);
    if (quantity > 0) require_product(shop, product_id);
    return cart_response(
        shop, http::value_or_throw(shop.stores.carts->set_quantity(user_id, product_id, quantity)));
  });

  router.add("DELETE", "/api/cart/items/{product_id}", [&shop](http::Request& request) {
    const auto user_id = require_user(*shop.stores.sessions, request);
    const auto product_id = http::parse_id(request.path_param("product_id"), "product id");
    auto cart = shop.stores.carts->remove_item(user_id, product_id);
    if (!cart.ok() && cart.error().kind == ErrorKind::not_found) {
      throw http::ResourceNotFound(fmt::format("product {} is not in the cart", product_id));
    }
    return cart_response(shop, http::value_or_throw(std::move(cart)));
  });
}

}  // namespace crest::storefront
