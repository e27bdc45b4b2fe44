#include <gtest/gtest.h>

#include "services.hpp"
#include "test_shop.hpp"

namespace crest::storefront {
namespace {

struct CartService : ::testing::Test {
  CartService() {
    http::Router router;
    add_cart_routes(router, t.shop);
    api = std::make_unique<RouteCaller>(std::move(router));
    token = t.sign_in();
  }
  TestShop t;
  std::unique_ptr<RouteCaller> api;
  std::string token;
};

TEST_F(CartService, AddsLinesAndPricesTheCartFromTheCatalogue) {
  const auto product = t.add_product(10, 250);
  auto added = api->call_as(token, "POST", "/api/cart/items",
                            R"({"product_id": )" + std::to_string(product) + R"(, "quantity": 3})");
  ASSERT_EQ(added.status, 201) << added.body;
  const auto cart = json_of(api->call_as(token, "GET", "/api/cart"));
  ASSERT_EQ(cart["items"].size(), 1u);
  EXPECT_EQ(cart["items"][0]["quantity"], 3);
  EXPECT_EQ(cart["items"][0]["line_total_cents"], 750);
  EXPECT_EQ(cart["total_cents"], 750);
}

TEST_F(CartService, RefusesUnknownProductsBadQuantitiesAndStrangers) {
  const auto product = t.add_product(10);
  EXPECT_EQ(api->call_as(token, "POST", "/api/cart/items", R"({"product_id": 999, "quantity": 1})")
                .status,
            404);
  auto zero = api->call_as(token, "POST", "/api/cart/items",
                           R"({"product_id": )" + std::to_string(product) + R"(, "quantity": 0})");
  EXPECT_EQ(zero.status, 400) << zero.body;
  auto too_many =
      api->call_as(token, "POST", "/api/cart/items",
                   R"({"product_id": )" + std::to_string(product) + R"(, "quantity": 100})");
  EXPECT_EQ(too_many.status, 400) << too_many.body;
  EXPECT_EQ(api->call_as(token, "POST", "/api/cart/items", "not json").status, 400);
  auto stranger = api->call("GET", "/api/cart");
  EXPECT_EQ(stranger.status, 401);
  EXPECT_EQ(error_code(stranger), "unauthorized");
  EXPECT_EQ(api->call_as("0123456789abcdef0123456789abcdef", "GET", "/api/cart").status, 401);
}

TEST_F(CartService, ALineHoldsAtMostTheLimitAcrossAdds) {
  const auto product = t.add_product(500);
  const std::string body = R"({"product_id": )" + std::to_string(product) + R"(, "quantity": 60})";
  ASSERT_EQ(api->call_as(token, "POST", "/api/cart/items", body).status, 201);
  auto second = api->call_as(token, "POST", "/api/cart/items", body);
  EXPECT_EQ(second.status, 400);
  EXPECT_EQ(error_code(second), "quantity_limit");
}

TEST_F(CartService, SetsAndRemovesLines) {
  const auto product = t.add_product(10);
  const auto path = "/api/cart/items/" + std::to_string(product);
  ASSERT_EQ(api->call_as(token, "POST", "/api/cart/items",
                         R"({"product_id": )" + std::to_string(product) + R"(, "quantity": 1})")
                .status,
            201);
  auto set = api->call_as(token, "PUT", path, R"({"quantity": 4})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json_of(set)["items"][0]["quantity"], 4);
  auto removed = api->call_as(token, "DELETE", path);
  ASSERT_EQ(removed.status, 200) << removed.body;
  EXPECT_TRUE(json_of(removed)["items"].empty());
  EXPECT_EQ(api->call_as(token, "DELETE", path).status, 404);  // not in the cart any more
}

TEST_F(CartService, ACookieSessionMustSendJsonToChangeTheCart) {
  const auto product = t.add_product(10);
  const std::string body = R"({"product_id": )" + std::to_string(product) + R"(, "quantity": 1})";
  auto form = api->call("POST", "/api/cart/items", body,
                        {{"Cookie", "session=" + token}, {"Content-Type", "text/plain"}});
  EXPECT_EQ(form.status, 403);
  EXPECT_EQ(error_code(form), "csrf_rejected");
  EXPECT_EQ(api->call("POST", "/api/cart/items", body, {{"Cookie", "session=" + token}}).status,
            201);
}

}  // namespace
}  // namespace crest::storefront
