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
//
// A checkout's claim is a top-level attribute "claim:<idempotency key>" = {lines: M, at: N} on
// the same item, so taking the lines out of `items` and recording the claim is one UpdateItem
// whose condition expression is the compare of compare-and-delete:
//   SET #items.#p0 = #items.#p0 - :q0, ..., #claim = :claim
//   IF #items.#p0 >= :q0 AND ... AND attribute_not_exists(#claim)
// A line brought to 0 is left as 0 (cart_from() skips it) and removed by a follow-up
// conditional REMOVE, which another writer may pre-empt harmlessly.
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
                                         std::int64_t quantity, std::int64_t max_line_quantity) {
  if (quantity <= 0) return Error{ErrorKind::invalid_argument, "quantity must be positive"};
  const auto limit_error = Error{
      ErrorKind::conflict, fmt::format("a cart line holds at most {} units", max_line_quantity)};
  if (quantity > max_line_quantity) return limit_error;
  aws::UpdateItemRequest request;
  request.update_expression = "SET #items.#p = if_not_exists(#items.#p, :zero) + :q";
  request.expressions.names = {{"#p", std::to_string(product_id)}};
  request.expressions.values = {{":zero", attr::N(0)}, {":q", attr::N(quantity)}};
  if (max_line_quantity != INT64_MAX) {
    request.expressions.condition = "attribute_not_exists(#items.#p) OR #items.#p <= :room";
    request.expressions.values[":room"] = attr::N(max_line_quantity - quantity);
  }
  auto cart = update_line(user_id, std::move(request));
  if (!cart.ok() && cart.error().message.find("ConditionalCheckFailed") != std::string::npos) {
    return limit_error;
  }
  return cart;
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

namespace {

constexpr std::string_view kClaimPrefix = "claim:";

}  // namespace

Result<void> DynamoDbCartStore::claim_lines(std::int64_t user_id,
                                            const std::string& idempotency_key,
                                            const std::vector<CartLine>& lines, WallTime now) {
  if (lines.empty()) return Error{ErrorKind::invalid_argument, "a claim needs at least one line"};
  aws::UpdateItemRequest request;
  request.table = table_;
  request.key = key_of(user_id);
  request.return_values = "ALL_NEW";
  request.expressions.names = {{"#items", "items"},
                               {"#claim", std::string(kClaimPrefix) + idempotency_key}};
  std::string set;
  std::string condition = "attribute_not_exists(#claim)";
  Json claimed = Json::object();
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto p = fmt::format("#p{}", i);
    const auto q = fmt::format(":q{}", i);
    request.expressions.names[p] = std::to_string(lines[i].product_id);
    request.expressions.values[q] = attr::N(lines[i].quantity);
    set += fmt::format("#items.{0} = #items.{0} - {1}, ", p, q);
    condition += fmt::format(" AND #items.{0} >= {1}", p, q);
    claimed[std::to_string(lines[i].product_id)] = attr::N(lines[i].quantity);
  }
  request.update_expression = "SET " + set + "#claim = :claim";
  request.expressions.condition = condition;
  request.expressions.values[":claim"] =
      attr::M(Json{{"lines", attr::M(claimed)}, {"at", attr::N(to_ns(now))}});
  auto updated = client_->update_item(request);
  if (!updated.ok()) {
    if (updated.error().code == "ConditionalCheckFailedException" || missing_map(updated.error())) {
      return Error{ErrorKind::conflict, "cart_changed: the cart no longer holds these lines"};
    }
    return updated.error().to_error();
  }
  // Tidy the lines the claim emptied; a 0 left behind is invisible, so failures are ignored.
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const auto left = attr::get_m(updated.value(), "items");
    const auto name = std::to_string(lines[i].product_id);
    if (!left || !left->contains(name) ||
        attr::get_n(Json{{"q", (*left)[name]}}, "q").value_or(1) != 0) {
      continue;
    }
    aws::UpdateItemRequest tidy;
    tidy.table = table_;
    tidy.key = key_of(user_id);
    tidy.update_expression = "REMOVE #items.#p";
    tidy.expressions.condition = "#items.#p = :zero";
    tidy.expressions.names = {{"#items", "items"}, {"#p", name}};
    tidy.expressions.values = {{":zero", attr::N(0)}};
    (void)client_->update_item(tidy);
  }
  return {};
}

Result<std::vector<CartClaim>> DynamoDbCartStore::claims(std::int64_t user_id) {
  auto item = client_->get_item({table_, key_of(user_id), true, "", Json::object()});
  if (!item.ok()) return item.error().to_error();
  std::vector<CartClaim> out;
  for (const auto& [name, value] : item.value().items()) {
    if (!name.starts_with(kClaimPrefix)) continue;
    const Json wrapped{{"c", value}};
    const auto claim = attr::get_m(wrapped, "c");
    if (!claim) continue;
    CartClaim c;
    c.idempotency_key = name.substr(kClaimPrefix.size());
    c.claimed_at = from_ns(attr::get_n(*claim, "at").value_or(0));
    c.lines = cart_from(user_id, Json{{"items", claim->value("lines", Json::object())}}).lines;
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(),
            [](const CartClaim& a, const CartClaim& b) { return a.claimed_at < b.claimed_at; });
  return out;
}

Result<void> DynamoDbCartStore::drop_claim(std::int64_t user_id,
                                           const std::string& idempotency_key) {
  aws::UpdateItemRequest request;
  request.table = table_;
  request.key = key_of(user_id);
  request.update_expression = "REMOVE #claim";
  request.expressions.names = {{"#claim", std::string(kClaimPrefix) + idempotency_key}};
  auto updated = client_->update_item(request);
  if (!updated.ok()) return updated.error().to_error();
  return {};
}

Result<void> DynamoDbCartStore::return_claim(std::int64_t user_id,
                                             const std::string& idempotency_key) {
  auto all = claims(user_id);
  if (!all.ok()) return all.error();
  const auto claim = std::find_if(all->begin(), all->end(), [&](const CartClaim& c) {
    return c.idempotency_key == idempotency_key;
  });
  if (claim == all->end()) return Error{ErrorKind::not_found, "no such claim on the cart"};
  // Conditional on the claim: of two processes returning it, one puts the lines back.
  aws::UpdateItemRequest request;
  request.table = table_;
  request.key = key_of(user_id);
  request.expressions.names = {{"#items", "items"},
                               {"#claim", std::string(kClaimPrefix) + idempotency_key}};
  request.expressions.condition = "attribute_exists(#claim)";
  std::string set;
  for (std::size_t i = 0; i < claim->lines.size(); ++i) {
    const auto p = fmt::format("#p{}", i);
    const auto q = fmt::format(":q{}", i);
    request.expressions.names[p] = std::to_string(claim->lines[i].product_id);
    request.expressions.values[q] = attr::N(claim->lines[i].quantity);
    set += fmt::format("#items.{0} = if_not_exists(#items.{0}, :zero) + {1}, ", p, q);
  }
  request.expressions.values[":zero"] = attr::N(0);
  request.update_expression = "SET " + set.substr(0, set.size() - 2) + " REMOVE #claim";
  auto updated = client_->update_item(request);
  if (!updated.ok()) {
    if (updated.error().code == "ConditionalCheckFailedException") {
      return Error{ErrorKind::not_found, "no such claim on the cart"};
    }
    return updated.error().to_error();
  }
  return {};
}

}  // namespace crest::store
