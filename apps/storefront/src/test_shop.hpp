#pragma once
// A Shop over in-memory embedded stores, for unit tests.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "auth.hpp"
#include "crest/http/middleware.hpp"
#include "crest/http/router.hpp"
#include "crest/store/embedded.hpp"
#include "shop.hpp"

namespace crest::storefront {

struct TestShop {
  TestShop() {
    store::EmbeddedOptions options;
    options.metrics = &registry;
    options.clock = &clock;
    options.queue_visibility_timeout = std::chrono::seconds(30);
    options.max_receive_count = 3;
    auto opened = store::open_embedded_stores(options);
    if (!opened.ok()) throw std::runtime_error(opened.error().message);
    stores = std::move(opened).value();
    shop.stores = {stores.catalog.get(),   stores.users.get(),  stores.sessions.get(),
                   stores.carts.get(),     stores.orders.get(), stores.orders_queue.get(),
                   stores.orders_dlq.get()};
    shop.metrics = &registry;
    shop.clock = &clock;
    shop.settings.argon2_ops = 1;
    shop.settings.argon2_memory_bytes = 8 * 1024;
  }

  // A category and a product with the given stock and price; returns the product id.
  std::int64_t add_product(std::int64_t stock, std::int64_t price_cents = 1000) {
    if (category_id == 0) {
      category_id = stores.catalog->insert_category({0, "test", "Test"}).value();
    }
    store::Product product;
    product.category_id = category_id;
    product.sku = "SKU-" + std::to_string(++products);
    product.name = "Product " + std::to_string(products);
    product.price_cents = price_cents;
    product.stock = stock;
    return stores.catalog->insert_product(product).value();
  }

  std::int64_t place_order(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity,
                           const std::string& key) {
    store::NewOrder order{user_id, key, {{product_id, quantity, 1000}}, 1000 * quantity, {}};
    return stores.orders->create_order(order).value().order.id;
  }

  // A user with a session; returns the bearer token.
  std::string sign_in(const std::string& email = "shopper@example.com") {
    const auto user = stores.users->create_user(email, "Shopper", "not-a-hash").value();
    const std::string token = new_session_token();
    EXPECT_TRUE(stores.sessions
                    ->put({session_key(token), user.id, clock.wall_now() + std::chrono::hours(1)})
                    .ok());
    return token;
  }

  metrics::Registry registry;
  ManualClock clock;
  store::EmbeddedStores stores;
  Shop shop;
  std::int64_t category_id = 0;
  int products = 0;
};

// A service's routes behind the error-mapping middleware, called in-process as the server calls
// them (no network): the status, headers and body a client would get.
class RouteCaller {
 public:
  explicit RouteCaller(http::Router routes)
      : routes_(std::move(routes)),
        handler_(http::compose({http::error_mapping()}, [this](http::Request& request) {
          return routes_.dispatch(request);
        })) {}
  RouteCaller(const RouteCaller&) = delete;
  RouteCaller& operator=(const RouteCaller&) = delete;

  http::Response call(std::string method, const std::string& target, std::string body = {},
                      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::Request request;
    request.method = std::move(method);
    request.target = target;
    const auto question = target.find('?');
    request.path = target.substr(0, question);
    if (question != std::string::npos) request.query_string = target.substr(question + 1);
    request.body = std::move(body);
    if (!request.body.empty()) request.headers.set("Content-Type", "application/json");
    for (const auto& [name, value] : headers) request.headers.set(name, value);
    request.remote_address = "127.0.0.1";
    return handler_(request);
  }

  // The same with "Authorization: Bearer TOKEN" added.
  http::Response call_as(const std::string& token, std::string method, const std::string& target,
                         std::string body = {},
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Authorization", "Bearer " + token);
    return call(std::move(method), target, std::move(body), headers);
  }

 private:
  http::Router routes_;
  http::Handler handler_;
};

inline nlohmann::json json_of(const http::Response& response) {
  return nlohmann::json::parse(response.body);
}

// The error code of a JSON error body ({"error": {"code": ...}}).
inline std::string error_code(const http::Response& response) {
  return json_of(response).at("error").at("code").get<std::string>();
}

}  // namespace crest::storefront
