#pragma once
// The JSON shapes of the API (docs/api.md), in one place.
#include <vector>

#include <nlohmann/json.hpp>

#include "crest/store/model.hpp"

namespace crest::storefront {

std::string iso8601(store::WallTime time);

nlohmann::json to_json(const store::User& user);
nlohmann::json to_json(const store::Category& category);
nlohmann::json to_json(const store::Product& product);
nlohmann::json to_json(const store::Order& order);
// Cart lines with the product's current name and price; lines whose product is gone are kept
// with "available": false so the shopper sees why the total changed.
nlohmann::json to_json(const store::Cart& cart, const std::vector<store::Product>& products);

}  // namespace crest::storefront
