// catalog: categories, product search and product detail.
#include <fmt/format.h>

#include "crest/core/error.hpp"
#include "crest/http/json_body.hpp"
#include "json_views.hpp"
#include "services.hpp"

namespace crest::storefront {
namespace {

std::int64_t bounded_query_int(const http::Request& request, std::string_view name,
                               std::int64_t fallback, std::int64_t max) {
  const auto text = request.query(name);
  if (!text || text->empty()) return fallback;
  const auto value = http::parse_id(*text, fmt::format("query parameter '{}'", name));
  if (value > max) {
    throw ClientError(fmt::format("query parameter '{}' must be at most {}", name, max), "invalid_query");
  }
  return value;
}

store::ProductSort parse_sort(const std::optional<std::string>& text) {
  if (!text || text->empty() || *text == "id") return store::ProductSort::relevance_or_id;
  if (*text == "price_asc") return store::ProductSort::price_asc;
  if (*text == "price_desc") return store::ProductSort::price_desc;
  if (*text == "name") return store::ProductSort::name_asc;
  if (*text == "newest") return store::ProductSort::newest;
  throw ClientError("query parameter 'sort' must be one of id, price_asc, price_desc, name, newest",
                    "invalid_query");
}

}  // namespace

void add_catalog_routes(http::Router& router, Shop& shop) {
  router.add("GET", "/api/categories", [&shop](http::Request&) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& category : shop.stores.catalog->categories().value_or_throw()) {
      items.push_back(to_json(category));
    }
    return http::Response::json(200, {{"items", std::move(items)}});
  });

  router.add("GET", "/api/products", [&shop](http::Request& request) {
    store::ProductQuery query;
    if (const auto category = request.query("category"); category && !category->empty()) {
      query.category_id = http::parse_id(*category, "query parameter 'category'");
    }
    query.text = request.query("q").value_or("");
    if (query.text.size() > 100) {
      throw ClientError("query parameter 'q' must be at most 100 characters", "invalid_query");
    }
    query.page = static_cast<int>(bounded_query_int(request, "page", 1, 10'000));
    query.page_size = static_cast<int>(
        bounded_query_int(request, "page_size", 20, store::ProductQuery::max_page_size));
    query.sort = parse_sort(request.query("sort"));
    const auto page = shop.stores.catalog->list_products(query).value_or_throw();
    nlohmann::json items = nlohmann::json::array();
    for (const auto& product : page.items) items.push_back(to_json(product));
    return http::Response::json(200, {{"items", std::move(items)},
                                      {"total", page.total},
                                      {"page", page.page},
                                      {"page_size", page.page_size}});
  });

  router.add("GET", "/api/products/{id}", [&shop](http::Request& request) {
    const auto id = http::parse_id(request.path_param("id"), "product id");
    auto product = shop.stores.catalog->product(id);
    if (!product.ok() && product.error().kind == ErrorKind::not_found) {
      throw ResourceNotFound(fmt::format("product {} does not exist", id));
    }
    return http::Response::json(200, to_json(std::move(product).value_or_throw()));
  });
}

}  // namespace crest::storefront
