#pragma once
// DynamoDB adapters: carts and sessions (dynalite locally, DynamoDB on-demand on AWS).
//
// Carts: one item per user {user_id N (hash key), items M {"<product_id>": N quantity}}. Every
// change is one UpdateItem evaluated atomically by DynamoDB, returning the whole cart (ALL_NEW),
// so concurrent adds from many instances never lose an update and the cart returned is a
// consistent snapshot. Reads are strongly consistent.
//
// Sessions: one item per token {token S, user_id N, expires_at N (epoch seconds: the table's TTL
// attribute on AWS), expires_at_ns N (exact)}; get() re-checks expiry against the injected
// clock because TTL deletes lazily (and dynalite has no TTL at all).
//
// Errors: throttling that survives the client's retries -> unavailable ("DynamoDB throttled:
// ..."), which the storefront answers with 503 + Retry-After.
#include <chrono>
#include <memory>
#include <string>

#include "crest/aws/dynamodb.hpp"
#include "crest/core/clock.hpp"
#include "crest/store/cart_store.hpp"
#include "crest/store/session_store.hpp"

namespace crest::store {

struct DynamoDbTables {
  std::string carts = "crest_carts";
  std::string sessions = "crest_sessions";
};

// Creates the tables if absent (PAY_PER_REQUEST) and waits until they are ACTIVE. For local runs
// and tests; on AWS, Terraform owns them (with TTL on sessions.expires_at).
Result<void> ensure_tables(aws::DynamoDbClient& client, const DynamoDbTables& tables = {},
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

class DynamoDbCartStore final : public CartStore {
 public:
  explicit DynamoDbCartStore(std::shared_ptr<aws::DynamoDbClient> client,
                             std::string table = DynamoDbTables{}.carts);

  Result<Cart> get(std::int64_t user_id) override;
  Result<Cart> add_item(std::int64_t user_id, std::int64_t product_id, std::int64_t quantity,
                        std::int64_t max_line_quantity = INT64_MAX) override;
  Result<Cart> set_quantity(std::int64_t user_id, std::int64_t product_id,
                            std::int64_t quantity) override;
  Result<Cart> remove_item(std::int64_t user_id, std::int64_t product_id) override;
  Result<void> clear(std::int64_t user_id) override;
  Result<void> claim_lines(std::int64_t user_id, const std::string& idempotency_key,
                           const std::vector<CartLine>& lines, WallTime now) override;
  Result<std::vector<CartClaim>> claims(std::int64_t user_id) override;
  Result<void> drop_claim(std::int64_t user_id, const std::string& idempotency_key) override;
  Result<void> return_claim(std::int64_t user_id, const std::string& idempotency_key) override;

 private:
  // Runs an update on one map element, creating the (empty) map first if the item has none.
  Result<Cart> update_line(std::int64_t user_id, aws::UpdateItemRequest request);

  std::shared_ptr<aws::DynamoDbClient> client_;
  std::string table_;
};

class DynamoDbSessionStore final : public SessionStore {
 public:
  explicit DynamoDbSessionStore(std::shared_ptr<aws::DynamoDbClient> client,
                                std::string table = DynamoDbTables{}.sessions,
                                Clock& clock = Clock::system());

  Result<void> put(const Session& session) override;
  Result<Session> get(std::string_view token) override;
  Result<void> erase(std::string_view token) override;

 private:
  std::shared_ptr<aws::DynamoDbClient> client_;
  std::string table_;
  Clock& clock_;
};

}  // namespace crest::store
