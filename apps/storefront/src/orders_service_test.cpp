#include <gtest/gtest.h>

#include "order_processor.hpp"
#include "services.hpp"
#include "test_shop.hpp"

namespace crest::storefront {
namespace {

// The orders service over the cart service (a checkout needs a cart), in outbox mode unless a
// test builds it with a processor (checkout: sync).
struct OrdersService : ::testing::Test {
  void open(OrderProcessor* sync_processor = nullptr) {
    http::Router router;
    add_cart_routes(router, t.shop);
    add_orders_routes(router, t.shop, sync_processor);
    api = std::make_unique<RouteCaller>(std::move(router));
    token = t.sign_in();
  }
  http::Response add_to_cart(std::int64_t product, int quantity) {
    return api->call_as(token, "POST", "/api/cart/items",
                        R"({"product_id": )" + std::to_string(product) + R"(, "quantity": )" +
                            std::to_string(quantity) + "}");
  }
  http::Response checkout(const std::string& key) {
    return api->call_as(token, "POST", "/api/checkout", "{}", {{"Idempotency-Key", key}});
  }
  double accepted() {
    return t.registry.counter("crest_orders_accepted_total", "read back by the test").value();
  }

  TestShop t;
  std::unique_ptr<RouteCaller> api;
  std::string token;
};

TEST_F(OrdersService, CheckoutAcceptsThePendingOrderAndEmptiesTheCart) {
  open();
  const auto product = t.add_product(10, 400);
  ASSERT_EQ(add_to_cart(product, 2).status, 201);
  auto accepted_response = checkout("order-1");
  ASSERT_EQ(accepted_response.status, 202) << accepted_response.body;
  const auto body = json_of(accepted_response);
  EXPECT_EQ(body["status"], "pending");
  EXPECT_EQ(body["total_cents"], 800);
  const auto order_id = body["order_id"].get<std::int64_t>();
  EXPECT_EQ(accepted_response.headers.get("Location"), "/api/orders/" + std::to_string(order_id));
  EXPECT_TRUE(json_of(api->call_as(token, "GET", "/api/cart"))["items"].empty());
  EXPECT_EQ(accepted(), 1);
  // The stock is the worker's to reserve: untouched by an accepted order.
  EXPECT_EQ(t.stores.catalog->product(product).value().stock, 10);
  const auto mine = json_of(api->call_as(token, "GET", "/api/orders"));
  ASSERT_EQ(mine["items"].size(), 1u);
  EXPECT_EQ(mine["items"][0]["id"], order_id);
}

TEST_F(OrdersService, ARetryWithTheSameKeyGetsTheSameOrderAndANewCartNeedsANewKey) {
  open();
  const auto product = t.add_product(10);
  ASSERT_EQ(add_to_cart(product, 1).status, 201);
  const auto first = json_of(checkout("key-a"));
  auto retry = checkout("key-a");  // the cart is empty now: a retry of the same purchase
  ASSERT_EQ(retry.status, 202) << retry.body;
  EXPECT_EQ(json_of(retry)["order_id"], first["order_id"]);
  EXPECT_EQ(accepted(), 1);  // counted once

  ASSERT_EQ(add_to_cart(product, 3).status, 201);
  auto reused = checkout("key-a");
  EXPECT_EQ(reused.status, 422);
  EXPECT_EQ(error_code(reused), "idempotency_key_reused");
  EXPECT_EQ(json_of(api->call_as(token, "GET", "/api/cart"))["items"].size(), 1u);  // kept
}

TEST_F(OrdersService, RefusesWithoutAKeyAnEmptyCartAndVisiblyMissingStock) {
  open();
  auto no_key = api->call_as(token, "POST", "/api/checkout", "{}");
  EXPECT_EQ(no_key.status, 400);
  EXPECT_EQ(error_code(no_key), "missing_idempotency_key");
  EXPECT_EQ(error_code(checkout(std::string(129, 'k'))), "invalid_idempotency_key");
  EXPECT_EQ(error_code(checkout("has space")), "invalid_idempotency_key");
  EXPECT_EQ(error_code(checkout("empty")), "empty_cart");

  const auto product = t.add_product(2);
  ASSERT_EQ(add_to_cart(product, 3).status, 201);
  auto short_stock = checkout("too-many");
  EXPECT_EQ(short_stock.status, 409) << short_stock.body;
  EXPECT_EQ(json_of(api->call_as(token, "GET", "/api/cart"))["items"].size(), 1u);
  EXPECT_EQ(accepted(), 0);
}

TEST_F(OrdersService, SyncCheckoutAnswers201WithTheFinalStatus) {
  OrderProcessor processor(t.shop, PaymentSimulator(std::chrono::milliseconds(0), 0.0));
  open(&processor);
  const auto product = t.add_product(5);
  ASSERT_EQ(add_to_cart(product, 2).status, 201);
  auto confirmed = checkout("sync-1");
  ASSERT_EQ(confirmed.status, 201) << confirmed.body;
  EXPECT_EQ(json_of(confirmed)["status"], "confirmed");
  EXPECT_EQ(t.stores.catalog->product(product).value().stock, 3);
}

TEST_F(OrdersService, AnotherShoppersOrderIsReportedAsMissing) {
  open();
  const auto product = t.add_product(5);
  ASSERT_EQ(add_to_cart(product, 1).status, 201);
  const auto order_id = json_of(checkout("mine"))["order_id"].get<std::int64_t>();
  const auto path = "/api/orders/" + std::to_string(order_id);
  EXPECT_EQ(api->call_as(token, "GET", path).status, 200);
  const auto stranger = t.sign_in("other@example.com");
  EXPECT_EQ(api->call_as(stranger, "GET", path).status, 404);
  EXPECT_EQ(api->call_as(stranger, "GET", "/api/orders/999999").status, 404);
  EXPECT_EQ(api->call_as(token, "GET", "/api/orders?limit=101").status, 400);
}

TEST_F(OrdersService, LinesClaimedByACheckoutThatDiedReturnAfterTheClaimTimeout) {
  open();
  const auto product = t.add_product(5);
  ASSERT_EQ(add_to_cart(product, 2).status, 201);
  const auto user = t.stores.sessions->get(session_key(token)).value().user_id;
  const auto lines = t.stores.carts->get(user).value().lines;
  ASSERT_TRUE(t.stores.carts->claim_lines(user, "died", lines, t.clock.wall_now()).ok());
  EXPECT_TRUE(json_of(api->call_as(token, "GET", "/api/cart"))["items"].empty());
  t.clock.advance(t.shop.settings.checkout_claim_timeout + std::chrono::seconds(1));
  const auto cart = json_of(api->call_as(token, "GET", "/api/cart"));
  ASSERT_EQ(cart["items"].size(), 1u);
  EXPECT_EQ(cart["items"][0]["quantity"], 2);
}

}  // namespace
}  // namespace crest::storefront

namespace crest::storefront {
namespace {

TEST(OrdersSettings, CheckoutModeIsDeclaredWithTheServiceAndChecked) {
  Config config(orders_config_schema());
  EXPECT_EQ(checkout_mode(config), CheckoutMode::outbox);  // the default
  config.set("checkout", "sync", "--set");
  EXPECT_EQ(checkout_mode(config), CheckoutMode::sync);
  config.set("checkout", "later", "--set");
  try {
    checkout_mode(config);
    FAIL() << "an unknown checkout mode was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("checkout"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace crest::storefront
