#pragma once
// DynamoDB operations over the JSON 1.0 protocol. Items and keys are JSON objects of
// AttributeValues ({"pk": {"S": "x"}, "n": {"N": "3"}}); the attr:: helpers build and read them.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crest/aws/config.hpp"
#include "crest/aws/json_client.hpp"

namespace crest::aws {

using Json = nlohmann::json;

namespace attr {
Json S(std::string_view value);
Json N(std::int64_t value);
Json N(std::string_view decimal);
Json BOOL(bool value);
Json M(Json map_of_attribute_values);
Json Null();
// Values out of an item; nullopt when absent or of another type.
std::optional<std::string> get_s(const Json& item, std::string_view name);
std::optional<std::int64_t> get_n(const Json& item, std::string_view name);
std::optional<Json> get_m(const Json& item, std::string_view name);  // the inner map
}  // namespace attr

// The expression parts shared by several operations; empty members are left out.
struct Expressions {
  std::string condition;         // ConditionExpression
  Json names = Json::object();   // ExpressionAttributeNames {"#n": "name"}
  Json values = Json::object();  // ExpressionAttributeValues {":v": {"N": "1"}}
};

struct GetItemRequest {
  std::string table;
  Json key;
  bool consistent_read = false;
  std::string projection;
  Json names = Json::object();
};
struct PutItemRequest {
  std::string table;
  Json item;
  Expressions expressions;
  std::string return_values;  // "", "NONE", "ALL_OLD"
};
struct UpdateItemRequest {
  std::string table;
  Json key;
  std::string update_expression;
  Expressions expressions;
  std::string return_values;  // "", "NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"
};
struct DeleteItemRequest {
  std::string table;
  Json key;
  Expressions expressions;
  std::string return_values;
};
struct QueryRequest {
  std::string table;
  std::string index;
  std::string key_condition;
  std::string filter;
  Json names = Json::object();
  Json values = Json::object();
  int limit = 0;             // 0: no limit
  Json exclusive_start_key;  // null: from the start
  bool consistent_read = false;
  bool scan_forward = true;
};
struct QueryResult {
  std::vector<Json> items;
  Json last_evaluated_key;  // null when there are no more pages
};
// One entry of BatchWriteItem: put `item`, or delete `key`.
struct WriteRequest {
  Json put_item;    // non-null: PutRequest
  Json delete_key;  // non-null: DeleteRequest
};
struct KeyAttribute {
  std::string name;
  std::string type = "S";  // S, N or B
};
struct CreateTableRequest {
  std::string table;
  KeyAttribute hash_key;
  std::optional<KeyAttribute> range_key;  // billing mode is PAY_PER_REQUEST
};

// endpoint "http://127.0.0.1:8000"; empty: AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL, else
// https://dynamodb.<region>.amazonaws.com (the rest as ServiceOptions says).
struct DynamoDbOptions : ServiceOptions {
  // BatchWriteItem re-sends UnprocessedItems up to this many times, with backoff.
  int batch_write_rounds = 5;
};

class DynamoDbClient {
 public:
  // Credentials left empty come from the default chain; for a loopback endpoint with none
  // anywhere a placeholder pair is used (dynalite checks only that a signature is present).
  static Result<std::unique_ptr<DynamoDbClient>> create(DynamoDbOptions options,
                                                        ClientHooks hooks = {});

  // item: the item, or null when there is none.
  Outcome<Json> get_item(const GetItemRequest& request);
  // Attributes (per ReturnValues) or an empty object.
  Outcome<Json> put_item(const PutItemRequest& request);
  Outcome<Json> update_item(const UpdateItemRequest& request);
  Outcome<Json> delete_item(const DeleteItemRequest& request);
  Outcome<QueryResult> query(const QueryRequest& request);
  // Up to 25 writes to one table; UnprocessedItems are retried (backoff) until none remain or
  // batch_write_rounds pass, then an unavailable error naming how many are left.
  Outcome<Json> batch_write_item(const std::string& table, const std::vector<WriteRequest>& writes);
  // Creates the table if absent (PAY_PER_REQUEST); ResourceInUseException counts as success.
  Outcome<Json> create_table(const CreateTableRequest& request);
  // TableStatus ("ACTIVE", "CREATING"...); not_found error if absent.
  Outcome<std::string> describe_table(const std::string& table);

  JsonClient& client() noexcept { return *client_; }

 private:
  DynamoDbClient(std::unique_ptr<JsonClient> client, DynamoDbOptions options, ClientHooks hooks)
      : client_(std::move(client)), options_(std::move(options)), hooks_(std::move(hooks)) {}
  std::unique_ptr<JsonClient> client_;
  DynamoDbOptions options_;
  ClientHooks hooks_;
};

// Used by create(): explicit credentials, else the environment, else a local placeholder.
Credentials credentials_or_local(const Credentials& given);

}  // namespace crest::aws
