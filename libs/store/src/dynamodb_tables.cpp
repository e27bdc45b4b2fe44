#include "crest/store/dynamodb_tables.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dynamodb_tables_embedded.hpp"

namespace crest::store {
namespace {

using nlohmann::json;

Error bad(std::string_view source, const std::string& what) {
  return Error{ErrorKind::invalid_argument, fmt::format("{}: {}", source, what)};
}

Result<std::string> required_string(const json& table, std::string_view source,
                                    const std::string& where, const char* field) {
  const auto it = table.find(field);
  if (it == table.end() || !it->is_string() || it->get<std::string>().empty()) {
    return bad(source, fmt::format("{}.{}: a non-empty string is required", where, field));
  }
  return it->get<std::string>();
}

}  // namespace

Result<std::vector<DynamoDbTableDefinition>> parse_dynamodb_table_definitions(
    std::string_view json_text, std::string_view source) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return bad(source, fmt::format("not valid JSON: {}", e.what()));
  }
  if (!doc.is_object()) return bad(source, "the document must be an object");
  for (const auto& [key, value] : doc.items()) {
    if (key != "comment" && key != "tables") {
      return bad(source, fmt::format("unknown field '{}' (expected comment, tables)", key));
    }
  }
  const auto tables = doc.find("tables");
  if (tables == doc.end() || !tables->is_object() || tables->empty()) {
    return bad(source, "'tables' must be a non-empty object {id: definition}");
  }
  static const std::set<std::string, std::less<>> known{"local_name", "hash_key", "key_type",
                                                        "ttl_attribute"};
  std::vector<DynamoDbTableDefinition> out;
  for (const auto& [id, table] : tables->items()) {
    const std::string where = "tables." + id;
    if (!table.is_object()) return bad(source, where + ": must be an object");
    for (const auto& [key, value] : table.items()) {
      if (!known.contains(key)) {
        return bad(source, fmt::format("{}: unknown field '{}' (expected local_name, hash_key, "
                                       "key_type, ttl_attribute)",
                                       where, key));
      }
    }
    DynamoDbTableDefinition def;
    def.id = id;
    auto local_name = required_string(table, source, where, "local_name");
    if (!local_name.ok()) return local_name.error();
    auto hash_key = required_string(table, source, where, "hash_key");
    if (!hash_key.ok()) return hash_key.error();
    auto key_type = required_string(table, source, where, "key_type");
    if (!key_type.ok()) return key_type.error();
    if (*key_type != "S" && *key_type != "N" && *key_type != "B") {
      return bad(source, fmt::format("{}.key_type: '{}' is not S, N or B", where, *key_type));
    }
    def.local_name = std::move(*local_name);
    def.hash_key = std::move(*hash_key);
    def.key_type = std::move(*key_type);
    const auto ttl = table.find("ttl_attribute");
    if (ttl == table.end()) {
      return bad(source, where + ".ttl_attribute: required (an attribute name, or null)");
    }
    if (ttl->is_string() && !ttl->get<std::string>().empty()) {
      def.ttl_attribute = ttl->get<std::string>();
    } else if (!ttl->is_null()) {
      return bad(source, where + ".ttl_attribute: must be a non-empty string or null");
    }
    out.push_back(std::move(def));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::string_view dynamodb_table_definitions_text() {
  return embedded::kDynamoDbTablesJson;
}

std::string_view dynamodb_table_definitions_source() {
  return embedded::kDynamoDbTablesSource;
}

const std::vector<DynamoDbTableDefinition>& dynamodb_table_definitions() {
  static const std::vector<DynamoDbTableDefinition> definitions = [] {
    auto parsed = parse_dynamodb_table_definitions(dynamodb_table_definitions_text(),
                                                   dynamodb_table_definitions_source());
    // The unit tests parse the same embedded text, so a bad file fails the build's tests; at run
    // time an invalid embedded file is a bug in the build.
    if (!parsed.ok()) throw std::logic_error(parsed.error().message);
    return std::move(parsed).value();
  }();
  return definitions;
}

Result<DynamoDbTableDefinition> dynamodb_table_definition(std::string_view id) {
  for (const auto& def : dynamodb_table_definitions()) {
    if (def.id == id) return def;
  }
  return Error{ErrorKind::not_found,
               fmt::format("{}: no table '{}'", dynamodb_table_definitions_source(), id)};
}

}  // namespace crest::store
