// The DynamoDB and SQS clients against real dynalite and fauxqs (started once per binary).
#include <filesystem>
#include <optional>

#include <gtest/gtest.h>
#include <unistd.h>

#include "crest/aws/dynamodb.hpp"
#include "crest/aws/sqs.hpp"
#include "crest/stack/dynalite_server.hpp"
#include "crest/stack/fauxqs_server.hpp"

namespace crest::aws {
namespace {

std::string run_dir(const char* what) {
  return (std::filesystem::temp_directory_path() /
          (std::string("crest-aws-") + what + "-" + std::to_string(::getpid())))
      .string();
}

template <typename Server>
Server* started(std::optional<Result<Server>>& slot, const char* what) {
  if (!slot) slot.emplace(Server::start(run_dir(what)));
  if (!slot->ok()) {
    ADD_FAILURE() << what << " did not start: " << slot->error().message;
    return nullptr;
  }
  return &slot->value();
}

stack::DynaliteServer* dynalite() {
  static std::optional<Result<stack::DynaliteServer>> server;
  return started(server, "dynalite");
}

std::unique_ptr<DynamoDbClient> dynamodb(
    ClientHooks hooks = {}, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto* s = dynalite();
  if (s == nullptr) return nullptr;
  DynamoDbOptions options;
  options.http.request_timeout = timeout;
  options.endpoint = s->endpoint();
  options.credentials = {"AKIDLOCAL", "secret", "session-token"};
  auto client = DynamoDbClient::create(options, std::move(hooks));
  return client.ok() ? std::move(client.value()) : nullptr;
}

std::unique_ptr<SqsClient> sqs() {
  static std::optional<Result<stack::FauxqsServer>> server;
  auto* s = started(server, "fauxqs");
  if (s == nullptr) return nullptr;
  SqsOptions options;
  options.endpoint = s->endpoint();
  options.credentials = {"AKIDLOCAL", "secret", ""};
  auto client = SqsClient::create(options);
  return client.ok() ? std::move(client.value()) : nullptr;
}

TEST(DynamoDbClient, ConditionalWritesUpdatesQueriesAndBatches) {
  auto db = dynamodb();
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->create_table({"orders_by_user", {"user", "S"}, KeyAttribute{"order", "N"}}).ok());
  ASSERT_TRUE(db->create_table({"orders_by_user", {"user", "S"}, KeyAttribute{"order", "N"}}).ok())
      << "CreateTable of an existing table counts as success";

  const Json item{{"user", attr::S("u1")}, {"order", attr::N(1)}, {"total", attr::N(10)}};
  PutItemRequest put{"orders_by_user", item, {}, ""};
  put.expressions.condition = "attribute_not_exists(#u)";
  put.expressions.names = {{"#u", "user"}};
  ASSERT_TRUE(db->put_item(put).ok());
  auto again = db->put_item(put);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, "ConditionalCheckFailedException");
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);
  EXPECT_EQ(again.error().attempts, 1);

  UpdateItemRequest update;
  update.table = "orders_by_user";
  update.key = {{"user", attr::S("u1")}, {"order", attr::N(1)}};
  update.update_expression = "SET #t = #t + :d";
  update.expressions.names = {{"#t", "total"}};
  update.expressions.values = {{":d", attr::N(5)}};
  update.return_values = "UPDATED_NEW";
  auto updated = db->update_item(update);
  ASSERT_TRUE(updated.ok()) << updated.error().to_error().message;
  EXPECT_EQ(attr::get_n(updated.value(), "total"), 15);

  std::vector<WriteRequest> writes;
  for (int i = 2; i <= 6; ++i) {
    writes.push_back(
        {Json{{"user", attr::S("u1")}, {"order", attr::N(i)}, {"total", attr::N(i)}}, Json()});
  }
  writes.push_back({Json(), Json{{"user", attr::S("u1")}, {"order", attr::N(1)}}});
  ASSERT_TRUE(db->batch_write_item("orders_by_user", writes).ok());

  QueryRequest query;
  query.table = "orders_by_user";
  query.key_condition = "#u = :u AND #o >= :from";
  query.names = {{"#u", "user"}, {"#o", "order"}};
  query.values = {{":u", attr::S("u1")}, {":from", attr::N(3)}};
  query.scan_forward = false;
  query.limit = 3;
  auto page = db->query(query);
  ASSERT_TRUE(page.ok()) << page.error().to_error().message;
  ASSERT_EQ(page->items.size(), 3u);
  EXPECT_EQ(attr::get_n(page->items[0], "order"), 6);  // newest first
  EXPECT_FALSE(page->last_evaluated_key.is_null());

  auto got = db->get_item({"orders_by_user",
                           {{"user", attr::S("u1")}, {"order", attr::N(1)}},
                           true,
                           "",
                           Json::object()});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->is_null());  // deleted by the batch

  auto bad = db->get_item({"no_such_table", {{"k", attr::S("x")}}, false, "", Json::object()});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "ResourceNotFoundException");
  EXPECT_EQ(bad.error().kind, ErrorKind::not_found);
}

// BatchWriteItem re-sends what DynamoDB left unprocessed (scripted transport: dynalite never
// leaves any), with backoff, and gives up as unavailable after batch_write_rounds.
TEST(DynamoDbClient, BatchWriteRetriesUnprocessedItems) {
  std::vector<Json> bodies;
  int unprocessed_rounds = 2;
  std::vector<std::chrono::nanoseconds> sleeps;
  ClientHooks hooks;
  hooks.sleep = [&](std::chrono::nanoseconds d) { sleeps.push_back(d); };
  hooks.random = [] { return 0.5; };
  hooks.transport = [&](const http::ClientRequest& request, bool) -> Result<http::Response> {
    bodies.push_back(Json::parse(request.body));
    http::Response r;
    Json left = bodies.back()["RequestItems"];
    left["t1"].erase(0);  // the first write of each round is accepted
    r.body = (unprocessed_rounds-- > 0 && !left["t1"].empty())
                 ? Json{{"UnprocessedItems", left}}.dump()
                 : Json{{"UnprocessedItems", Json::object()}}.dump();
    return r;
  };
  DynamoDbOptions options;
  options.endpoint = "http://127.0.0.1:1";
  options.credentials = {"AK", "SK", ""};
  auto db = DynamoDbClient::create(options, hooks);
  ASSERT_TRUE(db.ok());
  std::vector<WriteRequest> writes;
  for (int i = 0; i < 4; ++i) writes.push_back({Json{{"k", attr::N(i)}}, Json()});
  ASSERT_TRUE((*db)->batch_write_item("t1", writes).ok());
  ASSERT_EQ(bodies.size(), 3u);
  EXPECT_EQ(bodies[0]["RequestItems"]["t1"].size(), 4u);
  EXPECT_EQ(bodies[1]["RequestItems"]["t1"].size(), 3u);
  EXPECT_EQ(bodies[2]["RequestItems"]["t1"].size(), 2u);
  EXPECT_EQ(sleeps.size(), 2u);

  unprocessed_rounds = 100;
  bodies.clear();
  options.batch_write_rounds = 2;
  auto limited = DynamoDbClient::create(options, hooks);
  ASSERT_TRUE(limited.ok());
  auto out = (*limited)->batch_write_item("t1", writes);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().kind, ErrorKind::unavailable);
  EXPECT_EQ(bodies.size(), 2u);
  EXPECT_NE(out.error().to_error().message.find("2 writes still unprocessed"), std::string::npos)
      << out.error().to_error().message;
}

// A hung server (SIGSTOP): every attempt times out, timeouts cost 10 quota tokens per retry, and
// the error is `timeout`; once it is resumed, calls succeed again.
TEST(DynamoDbClient, HungServerTimesOutAndRecovers) {
  ClientHooks hooks;
  hooks.sleep = [](std::chrono::nanoseconds) {};
  auto db = dynamodb(hooks, std::chrono::milliseconds(300));
  ASSERT_NE(db, nullptr);
  ASSERT_TRUE(db->create_table({"hung_test", {"k", "S"}, std::nullopt}).ok());
  dynalite()->pause();
  auto hung = db->get_item({"hung_test", {{"k", attr::S("x")}}, false, "", Json::object()});
  dynalite()->resume();
  ASSERT_FALSE(hung.ok());
  EXPECT_EQ(hung.error().kind, ErrorKind::timeout);
  EXPECT_EQ(hung.error().retry_class, RetryClass::timeout);
  EXPECT_EQ(hung.error().attempts, 3);
  EXPECT_EQ(db->client().quota().available(), 480);
  auto back = db->get_item({"hung_test", {{"k", attr::S("x")}}, false, "", Json::object()});
  ASSERT_TRUE(back.ok()) << back.error().to_error().message;
  EXPECT_TRUE(back->is_null());
}

TEST(SqsClient, BatchesAttributesAndErrors) {
  auto q = sqs();
  ASSERT_NE(q, nullptr);
  auto url = q->create_queue("client-test", {{"VisibilityTimeout", "30"}});
  ASSERT_TRUE(url.ok()) << url.error().to_error().message;
  auto looked_up = q->get_queue_url("client-test");
  ASSERT_TRUE(looked_up.ok());
  EXPECT_EQ(looked_up.value(), url.value());

  auto sent = q->send_message_batch(url.value(), {{"a", "one"}, {"b", "two"}, {"c", "three"}});
  ASSERT_TRUE(sent.ok());
  EXPECT_EQ(sent->successful.size(), 3u);
  EXPECT_TRUE(sent->failed.empty());

  ReceiveMessageRequest receive;
  receive.queue_url = url.value();
  receive.max_messages = 10;
  receive.wait_seconds = 1;
  auto messages = q->receive_message(receive);
  ASSERT_TRUE(messages.ok());
  ASSERT_EQ(messages->size(), 3u);
  EXPECT_EQ((*messages)[0].attributes.at("ApproximateReceiveCount"), "1");
  EXPECT_FALSE((*messages)[0].attributes.at("SentTimestamp").empty());

  std::vector<BatchEntry> handles;
  for (std::size_t i = 0; i < messages->size(); ++i) {
    handles.push_back({"m" + std::to_string(i), (*messages)[i].receipt_handle});
  }
  auto deleted = q->delete_message_batch(url.value(), handles);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->successful.size(), 3u);

  auto attributes = q->get_queue_attributes(url.value());
  ASSERT_TRUE(attributes.ok());
  EXPECT_EQ(attributes->at("ApproximateNumberOfMessages"), "0");
  EXPECT_EQ(attributes->at("ApproximateNumberOfMessagesNotVisible"), "0");

  auto missing = q->get_queue_url("does-not-exist");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, "QueueDoesNotExist");
  EXPECT_EQ(missing.error().query_code, "AWS.SimpleQueueService.NonExistentQueue");
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
}

}  // namespace
}  // namespace crest::aws
