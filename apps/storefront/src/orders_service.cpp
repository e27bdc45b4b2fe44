// orders: checkout (202 Accepted; the worker completes the order), my orders, one order.
// Checkout claims exactly the cart lines it read (compare-and-delete) before writing the order;
// docs/api.md says what happens when the process dies between the two writes.
#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "auth.hpp"
#include "crest/core/error.hpp"
#include "crest/http/errors.hpp"
#include "crest/http/json_body.hpp"
#include "json_views.hpp"
#include "order_processor.hpp"
#include "services.hpp"

namespace crest::storefront {
namespace {

std::string idempotency_key(const http::Request& request) {
  const auto key = request.headers.get("Idempotency-Key");
  if (!key || key->empty()) {
    throw http::ClientError(
        "checkout needs an Idempotency-Key header (a unique value per order attempt)",
        "missing_idempotency_key");
  }
  if (key->size() > 128) {
    throw http::ClientError("the Idempotency-Key header must be at most 128 characters",
                            "invalid_idempotency_key");
  }
  for (char c : *key) {
    if (c < 0x21 || c > 0x7e) {
      throw http::ClientError("the Idempotency-Key header must be printable ASCII",
                              "invalid_idempotency_key");
    }
  }
  return std::string(*key);
}

// One shape in both checkout modes: 202 while the order is pending (the worker finishes it),
// 201 once it is confirmed or failed (checkout: sync).
http::Response checkout_response(const store::Order& order) {
  nlohmann::json body{{"order_id", order.id},
                      {"status", store::to_string(order.status)},
                      {"total_cents", order.total_cents}};
  if (order.status == store::OrderStatus::failed) body["failure_reason"] = order.failure_reason;
  auto response =
      http::Response::json(order.status == store::OrderStatus::pending ? 202 : 201, body);
  response.headers.set("Location", fmt::format("/api/orders/{}", order.id));
  return response;
}

bool same_lines(const std::vector<store::CartLine>& cart, const store::Order& order) {
  if (cart.size() != order.lines.size()) return false;
  for (std::size_t i = 0; i < cart.size(); ++i) {
    if (cart[i].product_id != order.lines[i].product_id ||
        cart[i].quantity != order.lines[i].quantity) {
      return false;
    }
  }
  return true;
}

// A key seen before: the order's lines are the key's fingerprint. A replay whose cart is empty
// or holds exactly those lines is a retry and gets the order; any other cart is a new purchase
// under an old key.
http::Response replay(Shop& shop, std::int64_t user_id, const store::Order& order) {
  const auto cart = http::value_or_throw(shop.stores.carts->get(user_id));
  if (!cart.lines.empty() && !same_lines(cart.lines, order)) {
    return http::Response::json(
        422, {{"error",
               {{"code", "idempotency_key_reused"},
                {"message", fmt::format("this Idempotency-Key already placed order {} with other "
                                        "lines; use a new key for a new order",
                                        order.id)},
                {"order_id", order.id}}}});
  }
  return checkout_response(order);
}

std::optional<store::Order> order_for_key(Shop& shop, std::int64_t user_id,
                                          const std::string& key) {
  auto existing = shop.stores.orders->order_by_idempotency_key(user_id, key);
  if (existing.ok()) return *existing;
  if (existing.error().kind != ErrorKind::not_found) http::throw_as_exception(existing.error());
  return std::nullopt;
}

// Claims left by checkouts that never finished (the process died between claiming the lines
// and committing the order): one whose order exists is dropped; one older than the claim
// timeout without an order gives its lines back to the cart. Returns the lines this request's
// own key claimed earlier, if any: the retry finishes that checkout.
std::optional<std::vector<store::CartLine>> settle_claims(Shop& shop, std::int64_t user_id,
                                                          const std::string& own_key,
                                                          const log::Logger& logger) {
  std::optional<std::vector<store::CartLine>> own;
  auto claims = shop.stores.carts->claims(user_id);
  if (!claims.ok()) {
    logger.warn("cart claims unreadable", {{"error", claims.error().message}});
    return own;
  }
  for (auto& claim : *claims) {
    if (order_for_key(shop, user_id, claim.idempotency_key)) {
      (void)shop.stores.carts->drop_claim(user_id, claim.idempotency_key);
    } else if (claim.idempotency_key == own_key) {
      own = std::move(claim.lines);
    } else if (shop.clock->wall_now() - claim.claimed_at > shop.settings.checkout_claim_timeout) {
      if (shop.stores.carts->return_claim(user_id, claim.idempotency_key).ok()) {
        logger.warn("an unfinished checkout's cart lines were given back",
                    {{"idempotency_key", claim.idempotency_key}});
      }
    }
  }
  return own;
}

}  // namespace

std::vector<ConfigOption> orders_config_schema() {
  using T = ConfigType;
  return {
      {"checkout", T::string, "outbox",
       "outbox (202, the worker completes the order) or sync (baseline)"},
      {"orders.claim_timeout", T::duration, "60s",
       "cart lines claimed by a checkout that died give themselves back after this"},
      {"outbox.poll_interval", T::duration, "50ms",
       "how often the relay looks for new outbox rows"},
      {"outbox.batch_size", T::integer, "100", "outbox rows per relay pass"},
      {"outbox.republish_after", T::duration, "5m",
       "at start, orders pending longer than this are published again (0: never)"},
  };
}

CheckoutMode checkout_mode(const Config& config) {
  return config.get_choice("checkout", {"outbox", "sync"}) == "sync" ? CheckoutMode::sync
                                                                     : CheckoutMode::outbox;
}

void settle_cart_claims(Shop& shop, std::int64_t user_id, const log::Logger& logger) {
  (void)settle_claims(shop, user_id, "", logger);
}

void add_orders_routes(http::Router& router, Shop& shop, OrderProcessor* sync_processor) {
  auto& accepted_total =
      shop.metrics->counter("crest_orders_accepted_total", "Orders accepted by checkout.");
  router.add(
      "POST", "/api/checkout", [&shop, &accepted_total, sync_processor](http::Request& request) {
        const auto user_id = require_user(*shop.stores.sessions, request);
        const std::string key = idempotency_key(request);
        const auto& logger = request.context.logger;

        if (const auto existing = order_for_key(shop, user_id, key)) {
          (void)shop.stores.carts->drop_claim(user_id, key);
          return replay(shop, user_id, *existing);
        }
        // Lines this key claimed before its process died, or the cart as it is now.
        auto resumed = settle_claims(shop, user_id, key, logger);
        std::vector<store::CartLine> lines;
        if (resumed) {
          lines = *resumed;
        } else {
          lines = http::value_or_throw(shop.stores.carts->get(user_id)).lines;
          if (lines.empty()) throw http::ClientError("the cart is empty", "empty_cart");
        }
        std::vector<std::int64_t> ids;
        for (const auto& line : lines) ids.push_back(line.product_id);
        const auto products = http::value_or_throw(shop.stores.catalog->products(ids));

        store::NewOrder order{user_id, key, {}, 0, std::string(request.context.trace_id())};
        for (const auto& line : lines) {
          const auto product = std::find_if(products.begin(), products.end(),
                                            [&](const auto& p) { return p.id == line.product_id; });
          const auto refuse = [&](const std::string& why) {
            // A resumed claim that cannot become an order goes back to the cart.
            if (resumed) (void)shop.stores.carts->return_claim(user_id, key);
            throw http::ConflictError(why);
          };
          if (product == products.end()) {
            refuse(fmt::format("product {} is no longer sold; remove it from the cart",
                               line.product_id));
          }
          // Fail fast on what is visibly out of stock; the worker's reservation is the real check.
          if (product->stock < line.quantity) {
            refuse(fmt::format("only {} of product {} left in stock", product->stock, product->id));
          }
          order.lines.push_back({line.product_id, line.quantity, product->price_cents});
          order.total_cents += line.quantity * product->price_cents;
        }

        if (!resumed) {
          // Compare-and-delete: exactly the lines read leave the cart, or none do.
          auto claimed =
              shop.stores.carts->claim_lines(user_id, key, lines, shop.clock->wall_now());
          if (!claimed.ok()) {
            if (claimed.error().kind != ErrorKind::conflict)
              http::throw_as_exception(claimed.error());
            // The same key racing itself: the winner's order appears in a moment.
            for (int i = 0; i < 40; ++i) {
              if (const auto existing = order_for_key(shop, user_id, key))
                return checkout_response(*existing);
              bool own_claim = false;
              for (const auto& c : http::value_or_throw(shop.stores.carts->claims(user_id))) {
                own_claim = own_claim || c.idempotency_key == key;
              }
              if (!own_claim) break;
              std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            if (http::value_or_throw(shop.stores.carts->get(user_id)).lines.empty()) {
              throw http::ClientError("the cart is empty", "empty_cart");
            }
            throw http::HttpError(409, "cart_changed",
                                  "the cart changed while checking out (another checkout took some "
                                  "of its lines); look at the cart and check out again");
          }
        }
        if (shop.settings.crash_after_cart_claim) {
          // Fault injection for the crash test: die between the two writes.
          logger.error(
              "fault injection: exiting between claiming cart lines and committing the order");
          std::_Exit(70);
        }
        auto created_result = shop.stores.orders->create_order(order);
        if (!created_result.ok()) {
          // The order was not written: the lines go back to the cart (or, if this fails too, the
          // claim does it after the claim timeout).
          (void)shop.stores.carts->return_claim(user_id, key);
          http::throw_as_exception(created_result.error());
        }
        const auto created = std::move(created_result).value();
        if (auto dropped = shop.stores.carts->drop_claim(user_id, key); !dropped.ok()) {
          logger.warn("cart claim not dropped after checkout; the next checkout drops it",
                      {{"order_id", created.order.id}, {"error", dropped.error().message}});
        }
        if (created.created) {
          accepted_total.inc();
          logger.info("order accepted",
                      {{"order_id", created.order.id}, {"total_cents", created.order.total_cents}});
        }
        if (sync_processor == nullptr) return checkout_response(created.order);
        // The baseline: the shopper waits for stock, payment and confirmation.
        if (created.created)
          sync_processor->process(
              created.order.id, [] {}, std::string(request.context.trace_id()));
        return checkout_response(http::value_or_throw(
            shop.stores.orders->order(created.order.id, store::Consistency::strong)));
      });

  router.add("GET", "/api/orders", [&shop](http::Request& request) {
    const auto user_id = require_user(*shop.stores.sessions, request);
    int limit = 20;
    if (const auto text = request.query("limit"); text && !text->empty()) {
      limit = static_cast<int>(http::parse_id(*text, "query parameter 'limit'"));
      if (limit > 100)
        throw http::ClientError("query parameter 'limit' must be at most 100", "invalid_query");
    }
    nlohmann::json items = nlohmann::json::array();
    for (const auto& order :
         http::value_or_throw(shop.stores.orders->orders_for_user(user_id, limit))) {
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
      throw http::ResourceNotFound(fmt::format("order {} does not exist", id));
    }
    return http::Response::json(200, to_json(http::value_or_throw(std::move(order))));
  });
}

}  // namespace crest::storefront
