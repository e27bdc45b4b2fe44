#pragma once
// The DynamoDB table definitions (names, hash keys, TTL attributes), read from the one file that
// Terraform and the local stack also read: deploy/dynamodb/tables.json, compiled into the library
// at configure time. Parsing is strict: an unknown or missing field, a key type other than S/N/B
// or a malformed document is an invalid_argument error naming the file and the field.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/error.hpp"

namespace crest::store {

struct DynamoDbTableDefinition {
  std::string id;          // "carts", "sessions"; the AWS name is <name_prefix>-<id>
  std::string local_name;  // the default name for local runs ("crest_carts")
  std::string hash_key;    // partition key attribute
  std::string key_type;    // "S", "N" or "B"
  std::optional<std::string> ttl_attribute;  // epoch seconds, deleted by DynamoDB's TTL
};

// Parses a document of the tables.json format; `source` names it in errors.
Result<std::vector<DynamoDbTableDefinition>> parse_dynamodb_table_definitions(
    std::string_view json_text, std::string_view source);

// The definitions compiled in (sorted by id). The embedded file is validated by the unit tests,
// so this never fails at run time.
const std::vector<DynamoDbTableDefinition>& dynamodb_table_definitions();

// The compiled-in definition with this id ("carts", "sessions"); not_found otherwise.
Result<DynamoDbTableDefinition> dynamodb_table_definition(std::string_view id);

// The text compiled in, and the path it came from (for messages).
std::string_view dynamodb_table_definitions_text();
std::string_view dynamodb_table_definitions_source();

}  // namespace crest::store
