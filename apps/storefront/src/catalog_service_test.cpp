#include <gtest/gtest.h>

#include "services.hpp"
#include "test_shop.hpp"

namespace crest::storefront {
namespace {

struct CatalogService : ::testing::Test {
  CatalogService() {
    http::Router router;
    add_catalog_routes(router, t.shop);
    api = std::make_unique<RouteCaller>(std::move(router));
  }
  TestShop t;
  std::unique_ptr<RouteCaller> api;
};

TEST_F(CatalogService, ListsPagesOfProducts) {
  for (int i = 0; i < 5; ++i) t.add_product(10, 100 * (i + 1));
  auto page = api->call("GET", "/api/products?page=2&page_size=2&sort=price_desc");
  ASSERT_EQ(page.status, 200) << page.body;
  const auto body = json_of(page);
  EXPECT_EQ(body["total"], 5);
  EXPECT_EQ(body["page"], 2);
  ASSERT_EQ(body["items"].size(), 2u);
  EXPECT_EQ(body["items"][0]["price_cents"], 300);
  EXPECT_EQ(body["items"][1]["price_cents"], 200);
  EXPECT_EQ(json_of(api->call("GET", "/api/categories"))["items"].size(), 1u);
}

TEST_F(CatalogService, AProductByIdWithAnETagThatRevalidates) {
  const auto id = t.add_product(0, 999);
  auto first = api->call("GET", "/api/products/" + std::to_string(id));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(json_of(first)["price_cents"], 999);
  EXPECT_EQ(json_of(first)["in_stock"], false);
  const auto etag = first.headers.get("ETag");
  ASSERT_TRUE(etag.has_value());
  auto again = api->call("GET", "/api/products/" + std::to_string(id), {},
                         {{"If-None-Match", std::string(*etag)}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
}

TEST_F(CatalogService, BadQueriesAre400AndMissingProducts404) {
  EXPECT_EQ(api->call("GET", "/api/products/12345").status, 404);
  EXPECT_EQ(api->call("GET", "/api/products/abc").status, 400);
  EXPECT_EQ(error_code(api->call("GET", "/api/products?sort=random")), "invalid_query");
  EXPECT_EQ(api->call("GET", "/api/products?page_size=100000").status, 400);
  EXPECT_EQ(api->call("GET", "/api/products?q=" + std::string(101, 'x')).status, 400);
  EXPECT_EQ(api->call("GET", "/api/products?category=-1").status, 400);
}

}  // namespace
}  // namespace crest::storefront
