#include <thread>
#include <vector>

#include <fmt/format.h>

#include "crest/store/dynamodb.hpp"
#include "crest/store/dynamodb_tables.hpp"

namespace crest::store {
namespace {

using aws::Json;
namespace attr = aws::attr;

}  // namespace

DynamoDbSessionStore::DynamoDbSessionStore(std::shared_ptr<aws::DynamoDbClient> client,
                                           std::string table, Clock& clock)
    : client_(std::move(client)), table_(std::move(table)), clock_(clock) {}

Result<void> DynamoDbSessionStore::put(const Session& session) {
  if (session.token.empty()) return Error{ErrorKind::invalid_argument, "session token is empty"};
  const std::int64_t ns = to_ns(session.expires_at);
  Json item{{"token", attr::S(session.token)},
            {"user_id", attr::N(session.user_id)},
            {"expires_at", attr::N(ns / 1'000'000'000)},
            {"expires_at_ns", attr::N(ns)}};
  auto put = client_->put_item({table_, item, {}, ""});
  if (!put.ok()) return put.error().to_error();
  return {};
}

Result<Session> DynamoDbSessionStore::get(std::string_view token) {
  if (token.empty()) return Error{ErrorKind::not_found, "no session"};
  auto item =
      client_->get_item({table_, Json{{"token", attr::S(token)}}, true, "", Json::object()});
  if (!item.ok()) return item.error().to_error();
  const auto& found = item.value();
  const auto user_id = attr::get_n(found, "user_id");
  const auto expires_ns = attr::get_n(found, "expires_at_ns");
  if (found.is_null() || !user_id || !expires_ns) {
    return Error{ErrorKind::not_found, "no such session"};
  }
  Session session;
  session.token = std::string(token);
  session.user_id = *user_id;
  session.expires_at = WallTime(
      std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(*expires_ns)));
  if (session.expires_at <= clock_.wall_now()) {
    return Error{ErrorKind::not_found, "session expired"};
  }
  return session;
}

Result<void> DynamoDbSessionStore::erase(std::string_view token) {
  if (token.empty()) return {};
  auto deleted = client_->delete_item({table_, Json{{"token", attr::S(token)}}, {}, ""});
  if (!deleted.ok()) return deleted.error().to_error();
  return {};
}

Result<void> ensure_tables(aws::DynamoDbClient& client, const DynamoDbTables& tables,
                           std::chrono::milliseconds timeout) {
  // Keys from deploy/dynamodb/tables.json, the file Terraform reads too.
  std::vector<aws::CreateTableRequest> specs;
  for (const auto& def : dynamodb_table_definitions()) {
    std::string name = def.local_name;
    if (def.id == "carts") name = tables.carts;
    if (def.id == "sessions") name = tables.sessions;
    specs.push_back({std::move(name), {def.hash_key, def.key_type}, std::nullopt});
  }
  for (const auto& spec : specs) {
    if (auto made = client.create_table(spec); !made.ok()) return made.error().to_error();
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& spec : specs) {
    for (;;) {
      auto status = client.describe_table(spec.table);
      if (!status.ok()) return status.error().to_error();
      if (status.value() == "ACTIVE") break;
      if (std::chrono::steady_clock::now() >= deadline) {
        return Error{ErrorKind::timeout, fmt::format("DynamoDB table {} is {} after {} ms",
                                                     spec.table, status.value(), timeout.count())};
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return {};
}

}  // namespace crest::store
