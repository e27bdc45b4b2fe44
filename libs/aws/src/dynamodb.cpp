#include "crest/aws/dynamodb.hpp"

#include <random>
#include <thread>

#include <fmt/format.h>

namespace crest::aws {

namespace attr {
Json S(std::string_view value) {
  return Json{{"S", std::string(value)}};
}
Json N(std::int64_t value) {
  return Json{{"N", std::to_string(value)}};
}
Json N(std::string_view decimal) {
  return Json{{"N", std::string(decimal)}};
}
Json BOOL(bool value) {
  return Json{{"BOOL", value}};
}
Json M(Json map_of_attribute_values) {
  return Json{{"M", std::move(map_of_attribute_values)}};
}
Json Null() {
  return Json{{"NULL", true}};
}

std::optional<std::string> get_s(const Json& item, std::string_view name) {
  if (!item.is_object()) return std::nullopt;
  const auto it = item.find(name);
  if (it == item.end() || !it->is_object() || !it->contains("S")) return std::nullopt;
  return (*it)["S"].get<std::string>();
}

std::optional<std::int64_t> get_n(const Json& item, std::string_view name) {
  if (!item.is_object()) return std::nullopt;
  const auto it = item.find(name);
  if (it == item.end() || !it->is_object() || !it->contains("N")) return std::nullopt;
  try {
    return std::stoll((*it)["N"].get<std::string>());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<Json> get_m(const Json& item, std::string_view name) {
  if (!item.is_object()) return std::nullopt;
  const auto it = item.find(name);
  if (it == item.end() || !it->is_object() || !it->contains("M")) return std::nullopt;
  return (*it)["M"];
}
}  // namespace attr

namespace {

void add_expressions(Json& body, const Expressions& e) {
  if (!e.condition.empty()) body["ConditionExpression"] = e.condition;
  if (e.names.is_object() && !e.names.empty()) body["ExpressionAttributeNames"] = e.names;
  if (e.values.is_object() && !e.values.empty()) body["ExpressionAttributeValues"] = e.values;
}

Outcome<Json> attributes_of(Outcome<Json> response) {
  if (!response.ok()) return response;
  auto it = response->find("Attributes");
  return it == response->end() ? Json::object() : *it;
}

}  // namespace

Credentials credentials_or_local(const Credentials& given) {
  if (!given.access_key_id.empty()) return given;
  auto resolved = resolve_credentials(process_environment());
  if (resolved.ok()) return resolved.value();
  return Credentials{"crest-local", "crest-local-secret", ""};
}

Result<std::unique_ptr<DynamoDbClient>> DynamoDbClient::create(DynamoDbOptions options,
                                                               ClientHooks hooks) {
  ClientConfig config;
  static_cast<ServiceOptions&>(config) = options;
  config.service_name = "DynamoDB";
  config.signing_name = "dynamodb";
  config.target_prefix = "DynamoDB_20120810";
  ClientHooks for_client = hooks;
  auto client = JsonClient::create(std::move(config), std::move(for_client));
  if (!client.ok()) return client.error();
  return std::unique_ptr<DynamoDbClient>(
      new DynamoDbClient(std::move(client.value()), std::move(options), std::move(hooks)));
}

Outcome<Json> DynamoDbClient::get_item(const GetItemRequest& r) {
  Json body{{"TableName", r.table}, {"Key", r.key}};
  if (r.consistent_read) body["ConsistentRead"] = true;
  if (!r.projection.empty()) body["ProjectionExpression"] = r.projection;
  if (r.names.is_object() && !r.names.empty()) body["ExpressionAttributeNames"] = r.names;
  auto response = client_->call("GetItem", body);
  if (!response.ok()) return response;
  auto it = response->find("Item");
  return it == response->end() ? Json() : *it;
}

Outcome<Json> DynamoDbClient::put_item(const PutItemRequest& r) {
  Json body{{"TableName", r.table}, {"Item", r.item}};
  add_expressions(body, r.expressions);
  if (!r.return_values.empty()) body["ReturnValues"] = r.return_values;
  return attributes_of(client_->call("PutItem", body));
}

Outcome<Json> DynamoDbClient::update_item(const UpdateItemRequest& r) {
  Json body{{"TableName", r.table}, {"Key", r.key}, {"UpdateExpression", r.update_expression}};
  add_expressions(body, r.expressions);
  if (!r.return_values.empty()) body["ReturnValues"] = r.return_values;
  return attributes_of(client_->call("UpdateItem", body));
}

Outcome<Json> DynamoDbClient::delete_item(const DeleteItemRequest& r) {
  Json body{{"TableName", r.table}, {"Key", r.key}};
  add_expressions(body, r.expressions);
  if (!r.return_values.empty()) body["ReturnValues"] = r.return_values;
  return attributes_of(client_->call("DeleteItem", body));
}

Outcome<QueryResult> DynamoDbClient::query(const QueryRequest& r) {
  Json body{{"TableName", r.table}, {"KeyConditionExpression", r.key_condition}};
  if (!r.index.empty()) body["IndexName"] = r.index;
  if (!r.filter.empty()) body["FilterExpression"] = r.filter;
  if (r.names.is_object() && !r.names.empty()) body["ExpressionAttributeNames"] = r.names;
  if (r.values.is_object() && !r.values.empty()) body["ExpressionAttributeValues"] = r.values;
  if (r.limit > 0) body["Limit"] = r.limit;
  if (!r.exclusive_start_key.is_null()) body["ExclusiveStartKey"] = r.exclusive_start_key;
  if (r.consistent_read) body["ConsistentRead"] = true;
  if (!r.scan_forward) body["ScanIndexForward"] = false;
  auto response = client_->call("Query", body);
  if (!response.ok()) return response.error();
  QueryResult result;
  if (auto it = response->find("Items"); it != response->end() && it->is_array()) {
    for (auto& item : *it) result.items.push_back(std::move(item));
  }
  if (auto it = response->find("LastEvaluatedKey"); it != response->end()) {
    result.last_evaluated_key = *it;
  }
  return result;
}

Outcome<Json> DynamoDbClient::batch_write_item(const std::string& table,
                                               const std::vector<WriteRequest>& writes) {
  Json requests = Json::array();
  for (const auto& w : writes) {
    if (!w.put_item.is_null()) {
      requests.push_back({{"PutRequest", {{"Item", w.put_item}}}});
    } else {
      requests.push_back({{"DeleteRequest", {{"Key", w.delete_key}}}});
    }
  }
  Json pending{{table, requests}};
  std::function<double()> random = hooks_.random;
  if (!random)
    random = [] {
      thread_local std::mt19937_64 engine{std::random_device{}()};
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  std::function<void(std::chrono::nanoseconds)> sleep = hooks_.sleep;
  if (!sleep) sleep = [](std::chrono::nanoseconds d) { std::this_thread::sleep_for(d); };
  for (int round = 1;; ++round) {
    auto response = client_->call("BatchWriteItem", Json{{"RequestItems", pending}});
    if (!response.ok()) return response;
    auto it = response->find("UnprocessedItems");
    if (it == response->end() || !it->is_object() || it->empty()) return Json::object();
    pending = *it;
    if (round >= options_.batch_write_rounds) {
      std::size_t left = 0;
      for (const auto& [name, list] : pending.items()) left += list.size();
      AwsError e;
      e.kind = ErrorKind::unavailable;
      e.retry_class = RetryClass::throttling;
      e.code = "UnprocessedItems";
      e.message = fmt::format("{} writes still unprocessed after {} rounds", left, round);
      e.service = "DynamoDB";
      e.operation = "BatchWriteItem";
      e.attempts = round;
      return e;
    }
    sleep(backoff_delay(options_.retry, round, random()));
  }
}

Outcome<Json> DynamoDbClient::create_table(const CreateTableRequest& r) {
  Json defs =
      Json::array({{{"AttributeName", r.hash_key.name}, {"AttributeType", r.hash_key.type}}});
  Json schema = Json::array({{{"AttributeName", r.hash_key.name}, {"KeyType", "HASH"}}});
  if (r.range_key) {
    defs.push_back({{"AttributeName", r.range_key->name}, {"AttributeType", r.range_key->type}});
    schema.push_back({{"AttributeName", r.range_key->name}, {"KeyType", "RANGE"}});
  }
  Json body{{"TableName", r.table},
            {"AttributeDefinitions", defs},
            {"KeySchema", schema},
            {"BillingMode", "PAY_PER_REQUEST"}};
  auto response = client_->call("CreateTable", body);
  if (!response.ok() && response.error().code == "ResourceInUseException") return Json::object();
  return response;
}

Outcome<std::string> DynamoDbClient::describe_table(const std::string& table) {
  auto response = client_->call("DescribeTable", Json{{"TableName", table}});
  if (!response.ok()) return response.error();
  return response->value(Json::json_pointer("/Table/TableStatus"), std::string());
}

}  // namespace crest::aws
