// The compiled-in table definitions (deploy/dynamodb/tables.json) and the strict parser. That the
// adapters' keys agree with the file is proven in dynamodb_store_test.cpp: its tables are created
// from these definitions, so a key the adapters do not write fails every store test.
#include <gtest/gtest.h>

#include "crest/store/dynamodb.hpp"
#include "crest/store/dynamodb_tables.hpp"

namespace crest::store {
namespace {

TEST(DynamoDbTables, EmbeddedFileParsesAndNamesBothTables) {
  auto parsed = parse_dynamodb_table_definitions(dynamodb_table_definitions_text(),
                                                 dynamodb_table_definitions_source());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ(dynamodb_table_definitions_source(), "deploy/dynamodb/tables.json");
  auto carts = dynamodb_table_definition("carts");
  auto sessions = dynamodb_table_definition("sessions");
  ASSERT_TRUE(carts.ok() && sessions.ok());
  // The adapters' defaults are the file's local names.
  EXPECT_EQ(carts->local_name, DynamoDbTables{}.carts);
  EXPECT_EQ(sessions->local_name, DynamoDbTables{}.sessions);
  // Sessions expire by TTL on the attribute the session store writes in epoch seconds.
  ASSERT_TRUE(sessions->ttl_attribute.has_value());
  EXPECT_EQ(*sessions->ttl_attribute, "expires_at");
  EXPECT_FALSE(dynamodb_table_definition("orders").ok());
}

std::string with_table(const std::string& body) {
  return R"({"tables": {"t": )" + body + "}}";
}

TEST(DynamoDbTables, RejectsMalformedDefinitionsNamingTheField) {
  const std::string good =
      R"({"local_name": "x", "hash_key": "k", "key_type": "S", "ttl_attribute": null})";
  ASSERT_TRUE(parse_dynamodb_table_definitions(with_table(good), "f.json").ok());
  struct Case {
    std::string text;
    std::string expected;
  };
  const Case cases[] = {
      {"{", "not valid JSON"},
      {"[]", "must be an object"},
      {R"({"tables": {}})", "non-empty"},
      {R"({"tabels": {}})", "unknown field 'tabels'"},
      {with_table(
           R"({"local_name": "x", "hash_key": "k", "key_type": "X", "ttl_attribute": null})"),
       "tables.t.key_type: 'X' is not S, N or B"},
      {with_table(R"({"local_name": "x", "key_type": "S", "ttl_attribute": null})"),
       "tables.t.hash_key"},
      {with_table(R"({"local_name": "x", "hash_key": "k", "key_type": "S"})"),
       "tables.t.ttl_attribute: required"},
      {with_table(R"({"local_name": "x", "hash_key": "k", "key_type": "S", "ttl_attribute": 3})"),
       "tables.t.ttl_attribute"},
      {with_table(
           R"({"local_name": "x", "hash_key": "k", "key_type": "S", "ttl_attribute": null, "range_key": "r"})"),
       "unknown field 'range_key'"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_dynamodb_table_definitions(c.text, "f.json");
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.error().kind, ErrorKind::invalid_argument);
    EXPECT_NE(parsed.error().message.find("f.json: "), std::string::npos) << parsed.error().message;
    EXPECT_NE(parsed.error().message.find(c.expected), std::string::npos)
        << c.text << " -> " << parsed.error().message;
  }
}

}  // namespace
}  // namespace crest::store
