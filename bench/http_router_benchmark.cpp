// The router and the standard middleware chain, without sockets.
#include <benchmark/benchmark.h>

#include "crest/http/middleware.hpp"
#include "crest/metrics/registry.hpp"

namespace {

using crest::http::Request;
using crest::http::Response;

crest::http::Router storefront_like_router() {
  crest::http::Router router;
  const auto ok = [](Request&) { return Response::text(200, "ok"); };
  for (const char* pattern :
       {"/api/users", "/api/login", "/api/logout", "/api/me", "/api/categories", "/api/products",
        "/api/products/{id}", "/api/cart", "/api/cart/items", "/api/cart/items/{product_id}",
        "/api/checkout", "/api/orders", "/api/orders/{id}", "/healthz", "/readyz", "/metrics"}) {
    router.add("GET", pattern, ok);
  }
  return router;
}

void BM_RouterDispatchParameter(benchmark::State& state) {
  const auto router = storefront_like_router();
  Request request;
  request.method = "GET";
  request.path = "/api/products/12345";
  for (auto _ : state) {
    request.path_params.clear();
    benchmark::DoNotOptimize(router.dispatch(request));
  }
}
BENCHMARK(BM_RouterDispatchParameter);

void BM_RouterDispatchNotFound(benchmark::State& state) {
  const auto router = storefront_like_router();
  Request request;
  request.method = "GET";
  request.path = "/api/nothing/here";
  for (auto _ : state) benchmark::DoNotOptimize(router.dispatch(request));
}
BENCHMARK(BM_RouterDispatchNotFound);

void BM_StandardMiddlewareChain(benchmark::State& state) {
  crest::metrics::Registry registry;
  crest::log::set_level(crest::log::Level::warn);  // access log lines are measured elsewhere
  auto router = std::make_shared<crest::http::Router>(storefront_like_router());
  const auto handler =
      crest::http::compose(crest::http::standard_middleware(crest::log::Logger("bench"), registry),
                           [router](Request& r) { return router->dispatch(r); });
  for (auto _ : state) {
    Request request;
    request.method = "GET";
    request.path = "/api/products/12345";
    benchmark::DoNotOptimize(handler(request));
  }
}
BENCHMARK(BM_StandardMiddlewareChain);

}  // namespace

BENCHMARK_MAIN();
