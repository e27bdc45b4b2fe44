// Why one item per user with a map, rather than one item per (user, product) with `ADD quantity`:
// a single item makes every mutation one atomic UpdateItem whose ALL_NEW result *is* the cart
// (no separate Query that could interleave with another writer), and clear() one DeleteItem
// instead of a non-atomic query-then-batch-delete. DynamoDB rejects ADD on a map element and a
// SET on a path whose parent map does not exist yet, so an add is
//   SET #items.#p = if_not_exists(#items.#p, :zero) + :q
// and, only when that fails because the item has no `items` map, a conditional-free
//   SET #items = if_not_exists(#items, :empty)
// (idempotent under races: whoever comes second keeps the first one's map) before trying again.
// Both are evaluated atomically by DynamoDB, so concurrent adds from any number of processes
// sum exactly (proven against dynalite in dynamodb_store_test.cpp). Carts are far below the
// 400 KB item limit.
#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "crest/store/dynamodb.hpp"

namespace crest::store {
namespace {

using aws::Json;
namespace attr = aws::attr;

Json key_of(std::int64_t user_id) {
  return Json{{"user_id", attr::N(user_id)}};
}

Cart cart_from(std::int64_t user_id, const Json& item) {
  Cart cart;
  cart.user_id = user_id;
  if (auto items = attr::get_m(item, "items")) {
    for (const auto& [product, value] : items->items()) {
      const auto quantity = attr::get_n(Json{{"q", value}}, "q");
      std::int64_t product_id = 0;
      try {
        product_id = std::stoll(product);
      } catch (const std::exception&) {
        continue;
      }
      if (quantity && *quantity > 0) cart.lines.push_back(CartLine{product_id, *quantity});
    }
  }
  std::sort(cart.lines.begin(), cart.lines.end(),
            [](const CartLine& a, const CartLine& b) { return a.product_id < b.product_id; });
  return cart;
}

bool missing_map(const aws::AwsError& e) {
  // "The document path provided in the update expression is invalid for update".
  return e.code == "ValidationException" && e.message.find("document path") != std::string::npos;
}

}  // namespace

DynamoDbCartStore::DynamoDbCartStore(std::shared_ptr<aws::DynamoDbClient> client, std::string table)
    : client_(std::move(client)), table_(std::move(table)) {}

Result<Cart> DynamoDbCartStore::get(std::int64_t user_id) {
  auto item = client_->get_item({table_, key_of(user_id), true, "", Json::object()});
  if (!item.ok()) return item.error().to_error();
  return cart_from(user_id, item.value());
}

Result<Cart> DynamoDbCartStore::update_line(std::int64_t user_id, aws::UpdateItemRequest request) {
  request.table = table_;
  request.key = key_of(user_id);
  request.return_values = "ALL_NEW";
  request.expressions.names["#items"] = "items";
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto updated = client_->update_item(request);
    if (updated.ok()) return cart_from(user_id, updated.value());
    if (attempt > 0 || !missing_map(updated.error())) return updated.error().to_error();
    aws::UpdateItemRequest create;
    create.table = table_;
    create.key = key_of(user_id);
    create.update_expression = "SET #items = if_not_exists(#items, :empty)";
    create.expressions.names = {{"#items", "items"}};
    create.expressions.values = {{":empty", attr::M(Json::object())}};
    if (auto made = client_->update_item(create); !made.ok()) return made.error().to_error();
  }
  return Error{ErrorKind::internal, "unreachable"};
}

Result<Cart> DynamoDbCartStore::add_item(std::int64_t user_id, std::int64_t product_id,
                                         std::int64_t quantity) {
  if (quantity <= 0) return Error{ErrorKind::invalid_argument, "quantity must be positive"};
  aws::UpdateItemRequest request;
  request.update_expression = "SET #items.#p = if_not_exists(#items.#p, :zero) + :q";
  request.expressions.names = {{"#p", std::to_string(product_id)}};
  request.expressions.values = {{":zero", attr::N(0)}, {":q", attr::N(quantity)}};
  return update_line(user_id, std::move(request));
}

Result<Cart> DynamoDbCartStore::set_quantity(std::int64_t user_id, std::int64_t product_id,
                                             std::int64_t quantity) {
  if (quantity < 0) return Error{ErrorKind::invalid_argument, "quantity must not be negative"};
  aws::UpdateItemRequest request;
  request.expressions.names = {{"#p", std::to_string(product_id)}};
  if (quantity == 0) {
    // Only if the line exists: a REMOVE on a cart without a map is a validation error.
    request.update_expression = "REMOVE #items.#p";
    request.expressions.condition = "attribute_exists(#items.#p)";
    request.table = table_;
    request.key = key_of(user_id);
    request.return_values = "ALL_NEW";
    request.expressions.names["#items"] = "items";
    auto updated = client_->update_item(request);
    if (updated.ok()) return cart_from(user_id, updated.value());
    if (updated.error().code == "ConditionalCheckFailedException") return get(user_id);
    return updated.error().to_error();
  }
  request.update_expression = "SET #items.#p = :q";
  request.expressions.values = {{":q", attr::N(quantity)}};
  return update_line(user_id, std::move(request));
}

Result<Cart> DynamoDbCartStore::remove_item(std::int64_t user_id, std::int64_t product_id) {
  aws::UpdateItemRequest request;
  request.table = table_;
  request.key = key_of(user_id);
  request.update_expression = "REMOVE #items.#p";
  request.expressions.condition = "attribute_exists(#items.#p)";
  request.expressions.names = {{"#items", "items"}, {"#p", std::to_string(product_id)}};
  request.return_values = "ALL_NEW";
  auto updated = client_->update_item(request);
  if (updated.ok()) return cart_from(user_id, updated.value());
  if (updated.error().code == "ConditionalCheckFailedException") {
    return Error{ErrorKind::not_found, fmt::format("the cart has no product {}", product_id)};
  }
  return updated.error().to_error();
}

Result<void> DynamoDbCartStore::clear(std::int64_t user_id) {
  auto deleted = client_->delete_item({table_, key_of(user_id), {}, ""});
  if (!deleted.ok()) return deleted.error().to_error();
  return {};
}

}  // namespace crest::store
