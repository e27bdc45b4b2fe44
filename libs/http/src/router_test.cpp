#include "crest/http/router.hpp"

#include <gtest/gtest.h>

namespace crest::http {
namespace {

Request make(std::string method, std::string path) {
  Request r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

Router make_router() {
  Router router;
  router.add("GET", "/api/products", [](Request&) { return Response::text(200, "list"); });
  router.add("GET", "/api/products/{id}", [](Request& r) {
    return Response::text(200, "product " + std::string(r.path_param("id")));
  });
  router.add("GET", "/api/products/featured",
             [](Request&) { return Response::text(200, "featured"); });
  router.add("PUT", "/api/cart/items/{product_id}", [](Request& r) {
    return Response::text(200, "put " + std::string(r.path_param("product_id")));
  });
  router.add("DELETE", "/api/cart/items/{product_id}",
             [](Request&) { return Response::text(204, ""); });
  return router;
}

TEST(Router, MatchesLiteralAndParameterRoutes) {
  const Router router = make_router();
  auto r = make("GET", "/api/products");
  EXPECT_EQ(router.dispatch(r).body, "list");
  auto p = make("GET", "/api/products/42");
  EXPECT_EQ(router.dispatch(p).body, "product 42");
  EXPECT_EQ(p.context.route, "/api/products/{id}");
}

TEST(Router, LiteralSegmentWinsOverParameter) {
  const Router router = make_router();
  auto r = make("GET", "/api/products/featured");
  EXPECT_EQ(router.dispatch(r).body, "featured");
  EXPECT_EQ(r.context.route, "/api/products/featured");
}

TEST(Router, DecodesParameters) {
  const Router router = make_router();
  auto r = make("PUT", "/api/cart/items/a%20b");
  EXPECT_EQ(router.dispatch(r).body, "put a b");
}

TEST(Router, UnknownPathIs404) {
  const Router router = make_router();
  for (const char* path :
       {"/", "/api", "/api/products/1/extra", "/api/productsx", "/api/products/"}) {
    auto r = make("GET", path);
    EXPECT_EQ(router.dispatch(r).status, 404) << path;
  }
}

TEST(Router, WrongMethodIs405WithAllow) {
  const Router router = make_router();
  auto r = make("POST", "/api/cart/items/3");
  const Response response = router.dispatch(r);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers.get("Allow").value_or(""), "DELETE, PUT");
}

TEST(Router, RejectsBadPatternsAndDuplicates) {
  Router router;
  EXPECT_THROW(router.add("GET", "no-slash", {}), std::invalid_argument);
  EXPECT_THROW(router.add("GET", "/a/{b", {}), std::invalid_argument);
  router.add("GET", "/a/{id}", [](Request&) { return Response{}; });
  EXPECT_THROW(router.add("GET", "/a/{id}", {}), std::invalid_argument);
  EXPECT_THROW(router.add("PUT", "/a/{other}", {}), std::invalid_argument);
}

}  // namespace
}  // namespace crest::http
