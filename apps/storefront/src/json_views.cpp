#include "json_views.hpp"

#include <ctime>

#include <fmt/format.h>

namespace crest::storefront {

std::string iso8601(store::WallTime time) {
  const auto seconds = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::system_clock::duration>(time));
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

nlohmann::json to_json(const store::User& user) {
  return {{"id", user.id},
          {"email", user.email},
          {"name", user.name},
          {"created_at", iso8601(user.created_at)}};
}

nlohmann::json to_json(const store::Category& category) {
  return {{"id", category.id}, {"slug", category.slug}, {"name", category.name}};
}

nlohmann::json to_json(const store::Product& product) {
  return {{"id", product.id},
          {"category_id", product.category_id},
          {"sku", product.sku},
          {"name", product.name},
          {"description", product.description},
          {"price_cents", product.price_cents},
          {"stock", product.stock},
          {"in_stock", product.stock > 0}};
}

nlohmann::json to_json(const store::Order& order) {
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& line : order.lines) {
    lines.push_back({{"product_id", line.product_id},
                     {"quantity", line.quantity},
                     {"unit_price_cents", line.unit_price_cents}});
  }
  nlohmann::json out{{"id", order.id},
                     {"status", store::to_string(order.status)},
                     {"lines", std::move(lines)},
                     {"total_cents", order.total_cents},
                     {"created_at", iso8601(order.created_at)},
                     {"updated_at", iso8601(order.updated_at)}};
  if (!order.failure_reason.empty()) out["failure_reason"] = order.failure_reason;
  return out;
}

nlohmann::json to_json(const store::Cart& cart, const std::vector<store::Product>& products) {
  nlohmann::json items = nlohmann::json::array();
  std::int64_t total = 0;
  for (const auto& line : cart.lines) {
    const auto it = std::find_if(products.begin(), products.end(),
                                 [&](const auto& p) { return p.id == line.product_id; });
    nlohmann::json item{{"product_id", line.product_id}, {"quantity", line.quantity}};
    if (it == products.end()) {
      item["available"] = false;
    } else {
      item["available"] = true;
      item["name"] = it->name;
      item["unit_price_cents"] = it->price_cents;
      item["line_total_cents"] = it->price_cents * line.quantity;
      total += it->price_cents * line.quantity;
    }
    items.push_back(std::move(item));
  }
  return {{"items", std::move(items)}, {"total_cents", total}};
}

}  // namespace crest::storefront
