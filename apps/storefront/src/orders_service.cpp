// orders: checkout (202 Accepted; the worker completes the order), my orders, one order.
#include <fmt/format.h>

#include "auth.hpp"
#include "crest/core/error.hpp"
#include "crest/http/json_body.hpp"
#include "json_views.hpp"
#include "order_processor.hpp"
#include "services.hpp"

namespace crest::storefront {
namespace {

std::string idempotency_key(const http::Request& request) {
  const auto key = request.headers.get("Idempotency-Key");
  if (!key || key->empty()) {
    throw ClientError("checkout needs an Idempotency-Key header (a unique value per order attempt)",
                      "missing_idempotency_key");
  }
  if (key->size() > 128) {
    throw ClientError("the Idempotency-Key header must be at most 128 characters", "invalid_idempotency_key");
  }
  for (char c : *key) {
    if (c < 0x21 || c > 0x7e) {
      throw ClientError("the Idempotency-Key header must be printable ASCII", "invalid_idempotency_key");
    }
  }
  return std::string(*key);
}

http::Response accepted(const store::Order& order) {
  auto response = http::Response::json(
      202, {{"order_id", order.id}, {"status", store::to_string(order.status)},
            {"total_cents", order.total_cents}});
  response.headers.set("Location", fmt::format("/api/orders/{}", order.id));
  return response;
}

}  // namespace

void add_orders_routes(http::Router& router, Shop& shop, OrderProcessor* sync_processor) {
  auto& accepted_total = shop.metrics->counter("crest_orders_accepted_total",
                                               "Orders accepted by checkout.");
  router.add("POST", "/api/checkout", [&shop, &accepted_total, sync_processor](http::Request& request) {
    const auto user_id = require_user(*shop.stores.sessions, request);
    const std::string key = idempotency_key(request);

    const auto cart = shop.stores.carts->get(user_id).value_or_throw();
    if (cart.lines.empty()) {
      // A retry after the first attempt emptied the cart gets the order it created.
      auto existing = shop.stores.orders->order_by_idempotency_key(user_id, key);
      if (existing.ok()) return accepted(*existing);
      if (existing.error().kind != ErrorKind::not_found) throw_as_exception(existing.error());
      throw ClientError("the cart is empty", "empty_cart");
    }
    std::vector<std::int64_t> ids;
    for (const auto& line : cart.lines) ids.push_back(line.product_id);
    const auto products = shop.stores.catalog->products(ids).value_or_throw();

    store::NewOrder order{user_id, key, {}, 0};
    for (const auto& line : cart.lines) {
      const auto product = std::find_if(products.begin(), products.end(),
                                        [&](const auto& p) { return p.id == line.product_id; });
      if (product == products.end()) {
        throw ConflictError(fmt::format("product {} is no longer sold; remove it from the cart",
                                        line.product_id));
      }
      // Fail fast on what is visibly out of stock; the worker's reservation is the real check.
      if (product->stock < line.quantity) {
        throw ConflictError(fmt::format("only {} of product {} left in stock", product->stock,
                                        product->id));
      }
      order.lines.push_back({line.product_id, line.quantity, product->price_cents});
      order.total_cents += line.quantity * product->price_cents;
    }
    const auto created = shop.stores.orders->create_order(order).value_or_throw();
    if (created.created) {
      accepted_total.inc();
      request.context.logger.info("order accepted", {{"order_id", created.order.id},
                                                     {"total_cents", created.order.total_cents}});
      // The order is safe in the store; an uncleared cart only costs the shopper a click.
      if (auto cleared = shop.stores.carts->clear(user_id); !cleared.ok()) {
        request.context.logger.warn("cart not cleared after checkout",
                                    {{"order_id", created.order.id}, {"error", cleared.error().message}});
      }
    }
    if (sync_processor == nullptr) return accepted(created.order);
    // The baseline: the shopper waits for stock, payment and confirmation.
    if (created.created) sync_processor->process(created.order.id, [] {});
    auto done = shop.stores.orders->order(created.order.id, store::Consistency::strong).value_or_throw();
    if (done.status == store::OrderStatus::pending) return accepted(done);  // the worker finishes it
    auto response = http::Response::json(201, to_json(done));
    response.headers.set("Location", fmt::format("/api/orders/{}", done.id));
    return response;
  });

  router.add("GET", "/api/orders", [&shop](http::Request& request) {
    const auto user_id = require_user(*shop.stores.sessions, request);
    int limit = 20;
    if (const auto text = request.query("limit"); text && !text->empty()) {
      limit = static_cast<int>(http::parse_id(*text, "query parameter 'limit'"));
      if (limit > 100) throw ClientError("query parameter 'limit' must be at most 100", "invalid_query");
    }
    nlohmann::json items = nlohmann::json::array();
    for (const auto& order : shop.stores.orders->orders_for_user(user_id, limit).value_or_throw()) {
      items.push_back(to_json(order));
    }
    return http::Response::json(200, {{"items", std::move(items)}});
  });

  router.add("GET", "/api/orders/{id}", [&shop](http::Request& request) {
    const auto user_id = require_user(*shop.stores.sessions, request);
    const auto id = http::parse_id(request.path_param("id"), "order id");
    auto order = shop.stores.orders->order(id, store::Consistency::strong);
    // Someone else's order is reported exactly like a missing one.
    if ((!order.ok() && order.error().kind == ErrorKind::not_found) ||
        (order.ok() && order->user_id != user_id)) {
      throw ResourceNotFound(fmt::format("order {} does not exist", id));
    }
    return http::Response::json(200, to_json(std::move(order).value_or_throw()));
  });
}

}  // namespace crest::storefront
