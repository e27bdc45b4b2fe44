// catalog: categories, product search and product detail.
#include <fmt/format.h>

#include "crest/core/error.hpp"
#include "crest/http/errors.hpp"
#include "crest/http/json_body.hpp"
#include "crest/store/caching_catalog_store.hpp"
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
    throw http::ClientError(fmt::format("query parameter '{}' must be at most {}", name, max),
                            "invalid_query");
  }
  return value;
}

store::ProductSort parse_sort(const std::optional<std::string>& text) {
  if (!text || text->empty() || *text == "id") return store::ProductSort::relevance_or_id;
  if (*text == "price_asc") return store::ProductSort::price_asc;
  if (*text == "price_desc") return store::ProductSort::price_desc;
  if (*text == "name") return store::ProductSort::name_asc;
  if (*text == "newest") return store::ProductSort::newest;
  throw http::ClientError(
      "query parameter 'sort' must be one of id, price_asc, price_desc, name, newest",
      "invalid_query");
}

// A cached view entry ("ETAG\nBODY") as a response; 304 when the client already has it.
http::Response from_view(const http::Request& request, std::string entry) {
  const auto newline = entry.find('\n');
  std::string etag = entry.substr(0, newline);
  http::Response response;
  response.headers.add("Content-Type", "application/json");
  if (const auto known = request.headers.get("If-None-Match"); known && *known == etag) {
    response.status = 304;
  } else {
    response.body.assign(entry, newline + 1, std::string::npos);
  }
  response.headers.add("ETag", std::move(etag));
  return response;
}

[[noreturn]] void product_not_found(std::int64_t id) {
  throw http::ResourceNotFound(fmt::format("product {} does not exist", id));
}

std::string render_product(const store::Product& product) {
  return to_json(product).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string render_page(const store::ProductPage& page) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& product : page.items) items.push_back(to_json(product));
  return nlohmann::json{{"items", std::move(items)},
                        {"total", page.total},
                        {"page", page.page},
                        {"page_size", page.page_size}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

store::ProductQuery parse_product_query(const http::Request& request) {
  store::ProductQuery query;
  if (const auto category = request.query("category"); category && !category->empty()) {
    query.category_id = http::parse_id(*category, "query parameter 'category'");
  }
  query.text = request.query("q").value_or("");
  if (query.text.size() > 100) {
    throw http::ClientError("query parameter 'q' must be at most 100 characters", "invalid_query");
  }
  query.page = static_cast<int>(bounded_query_int(request, "page", 1, 10'000));
  query.page_size = static_cast<int>(
      bounded_query_int(request, "page_size", 20, store::ProductQuery::max_page_size));
  query.sort = parse_sort(request.query("sort"));
  return query;
}

}  // namespace

void add_catalog_routes(http::Router& router, Shop& shop) {
  router.add("GET", "/api/categories", [&shop](http::Request&) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& category : http::value_or_throw(shop.stores.catalog->categories())) {
      items.push_back(to_json(category));
    }
    return http::Response::json(200, {{"items", std::move(items)}});
  });

  auto* caching = dynamic_cast<store::CachingCatalogStore*>(shop.stores.catalog);
  http::RouteOptions list;
  list.blocking = true;
  if (caching != nullptr && caching->cache_in_process()) {
    list.without_blocking = [caching](http::Request& request) -> std::optional<http::Response> {
      auto entry = caching->cached_list_view(parse_product_query(request));
      if (!entry) return std::nullopt;
      return from_view(request, std::move(*entry));
    };
  }
  router.add(
      "GET", "/api/products",
      [&shop, caching](http::Request& request) {
        const store::ProductQuery query = parse_product_query(request);
        if (caching != nullptr) {
          return from_view(request, http::value_or_throw(caching->list_view(query, render_page)));
        }
        const auto page = http::value_or_throw(shop.stores.catalog->list_products(query));
        return from_view(request, store::CachingCatalogStore::view_entry(render_page(page)));
      },
      std::move(list));

  // A cache hit is answered on the event loop (the in-process cache never blocks); a miss, or a
  // Redis cache, goes to the blocking pool.
  http::RouteOptions detail;
  detail.blocking = true;
  if (caching != nullptr && caching->cache_in_process()) {
    detail.without_blocking = [caching](http::Request& request) -> std::optional<http::Response> {
      const auto id = http::parse_id(request.path_param("id"), "product id");
      auto entry = caching->cached_product_view(id);
      if (!entry) return std::nullopt;
      return from_view(request, std::move(*entry));
    };
  }
  router.add(
      "GET", "/api/products/{id}",
      [&shop, caching](http::Request& request) {
        const auto id = http::parse_id(request.path_param("id"), "product id");
        if (caching != nullptr) {
          auto entry = caching->product_view(id, render_product);
          if (!entry.ok() && entry.error().kind == ErrorKind::not_found) product_not_found(id);
          return from_view(request, http::value_or_throw(std::move(entry)));
        }
        auto product = shop.stores.catalog->product(id);
        if (!product.ok() && product.error().kind == ErrorKind::not_found) product_not_found(id);
        return from_view(request, store::CachingCatalogStore::view_entry(
                                      render_product(http::value_or_throw(std::move(product)))));
      },
      std::move(detail));
}

}  // namespace crest::storefront
