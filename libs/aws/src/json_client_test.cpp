#include "crest/aws/json_client.hpp"

#include <deque>

#include <gtest/gtest.h>

#include "crest/metrics/registry.hpp"

namespace crest::aws {
namespace {

using std::chrono::milliseconds;

http::Response reply(int status, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  for (auto& [k, v] : headers) r.headers.add(k, v);
  return r;
}

const char* kThrottle =
    R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",)"
    R"("message":"The level of configured provisioned throughput for the table was exceeded."})";

TEST(ErrorParsing, StripsNamespaceAndClassifies) {
  const auto e = parse_error_response(400, {}, kThrottle);
  EXPECT_EQ(e.code, "ProvisionedThroughputExceededException");
  EXPECT_EQ(e.retry_class, RetryClass::throttling);
  EXPECT_EQ(e.kind, ErrorKind::unavailable);
  EXPECT_NE(e.message.find("provisioned throughput"), std::string::npos);

  const auto c = parse_error_response(
      400, {},
      R"({"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"})");
  EXPECT_EQ(c.code, "ConditionalCheckFailedException");
  EXPECT_EQ(c.retry_class, RetryClass::none);
  EXPECT_EQ(c.kind, ErrorKind::conflict);
}

TEST(ErrorParsing, ReadsQueryErrorHeaderOfSqs) {
  http::Headers headers;
  headers.add("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender");
  const auto e = parse_error_response(
      400, headers,
      R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."})");
  EXPECT_EQ(e.code, "QueueDoesNotExist");
  EXPECT_EQ(e.query_code, "AWS.SimpleQueueService.NonExistentQueue");
  EXPECT_EQ(e.kind, ErrorKind::not_found);
  EXPECT_EQ(e.message, "The specified queue does not exist.");
}

TEST(ErrorParsing, ServerErrorsAndGarbage) {
  const auto e =
      parse_error_response(500, {}, R"({"__type":"com.amazon.coral.service#InternalFailure"})");
  EXPECT_EQ(e.code, "InternalFailure");
  EXPECT_EQ(e.retry_class, RetryClass::transient);
  const auto g = parse_error_response(502, {}, "<html>bad gateway</html>");
  EXPECT_EQ(g.code, "HTTP502");
  EXPECT_EQ(g.retry_class, RetryClass::transient);
  const auto v = parse_error_response(
      400, {}, R"({"__type":"com.amazon.coral.validate#ValidationException","message":"bad"})");
  EXPECT_EQ(v.kind, ErrorKind::invalid_argument);
}

// A client whose transport replays scripted responses, with a manual clock and fixed random.
struct Harness {
  ManualClock clock;
  std::deque<Result<http::Response>> script;
  std::vector<http::ClientRequest> sent;
  std::vector<std::chrono::nanoseconds> sleeps;
  metrics::Registry registry;
  std::shared_ptr<RetryQuota> quota = std::make_shared<RetryQuota>();
  std::unique_ptr<JsonClient> client;

  Harness() {
    ClientConfig config;
    config.service_name = "DynamoDB";
    config.signing_name = "dynamodb";
    config.target_prefix = "DynamoDB_20120810";
    config.endpoint = "http://127.0.0.1:1";
    config.credentials = {"AKID", "SECRET", "TOKEN"};
    ClientHooks hooks;
    hooks.clock = &clock;
    hooks.sleep = [this](std::chrono::nanoseconds d) {
      sleeps.push_back(d);
      clock.advance(d);
    };
    hooks.random = [] { return 0.5; };
    hooks.metrics = &registry;
    hooks.quota = quota;
    hooks.transport = [this](const http::ClientRequest& request, bool) -> Result<http::Response> {
      sent.push_back(request);
      if (script.empty()) return reply(200, "{}");
      auto next = std::move(script.front());
      script.pop_front();
      return next;
    };
    client = std::move(JsonClient::create(config, hooks).value());
  }
};

TEST(JsonClient, SendsSignedJson10Request) {
  Harness h;
  h.script.push_back(reply(200, R"({"Item":{"pk":{"S":"a"}}})"));
  auto out = h.client->call("GetItem", {{"TableName", "t"}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)["Item"]["pk"]["S"], "a");
  ASSERT_EQ(h.sent.size(), 1u);
  const auto& r = h.sent[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/");
  EXPECT_EQ(r.headers.get("Content-Type"), "application/x-amz-json-1.0");
  EXPECT_EQ(r.headers.get("X-Amz-Target"), "DynamoDB_20120810.GetItem");
  EXPECT_EQ(r.headers.get("X-Amz-Security-Token"), "TOKEN");
  ASSERT_TRUE(r.headers.get("X-Amz-Date"));
  const auto auth = std::string(*r.headers.get("Authorization"));
  EXPECT_EQ(auth.rfind("AWS4-HMAC-SHA256 Credential=AKID/", 0), 0u) << auth;
  EXPECT_NE(auth.find("/us-east-1/dynamodb/aws4_request"), std::string::npos);
  EXPECT_NE(
      auth.find("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target"),
      std::string::npos)
      << auth;
  EXPECT_EQ(h.quota->available(), 500);
}

TEST(JsonClient, RetriesThrottlingWithBackoffAndRefundsOnSuccess) {
  Harness h;
  h.script.push_back(reply(400, kThrottle));
  h.script.push_back(reply(400, kThrottle));
  h.script.push_back(reply(200, "{}"));
  auto out = h.client->call("PutItem", {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(h.sent.size(), 3u);
  ASSERT_EQ(h.sleeps.size(), 2u);
  EXPECT_EQ(h.sleeps[0], std::chrono::nanoseconds(milliseconds(500)));   // 0.5 * 1 s
  EXPECT_EQ(h.sleeps[1], std::chrono::nanoseconds(milliseconds(1000)));  // 0.5 * 2 s
  EXPECT_EQ(h.quota->available(), 495);  // two retries cost 10, the success refunds the last 5
  const auto text = h.registry.render();
  EXPECT_NE(text.find(R"(crest_aws_retries_total{service="DynamoDB",reason="throttling"} 2)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(crest_aws_throttled_total{service="DynamoDB"} 2)"), std::string::npos);
  EXPECT_NE(
      text.find(
          R"(crest_aws_requests_total{service="DynamoDB",operation="PutItem",outcome="success"} 1)"),
      std::string::npos);
}

TEST(JsonClient, GivesUpAfterThreeAttemptsAsUnavailable) {
  Harness h;
  for (int i = 0; i < 3; ++i) h.script.push_back(reply(400, kThrottle));
  auto out = h.client->call("UpdateItem", {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(h.sent.size(), 3u);
  EXPECT_EQ(out.error().attempts, 3);
  const Error e = out.error().to_error();
  EXPECT_EQ(e.kind, ErrorKind::unavailable);
  EXPECT_EQ(e.message.rfind("DynamoDB throttled: ", 0), 0u) << e.message;
  EXPECT_EQ(h.quota->available(), 490);
}

TEST(JsonClient, NonRetryableErrorsGoUpAtOnce) {
  Harness h;
  h.script.push_back(
      reply(400, R"({"__type":"x#ConditionalCheckFailedException","message":"no"})"));
  auto out = h.client->call("UpdateItem", {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(h.sent.size(), 1u);
  EXPECT_EQ(out.error().kind, ErrorKind::conflict);
  EXPECT_TRUE(h.sleeps.empty());
}

TEST(JsonClient, TimeoutsCostTenAndConnectionErrorsFive) {
  Harness h;
  h.script.push_back(Error{ErrorKind::timeout, "read timed out"});
  h.script.push_back(Error{ErrorKind::unavailable, "connection refused"});
  h.script.push_back(Error{ErrorKind::unavailable, "connection refused"});
  auto out = h.client->call("GetItem", {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().http_status, 0);
  EXPECT_EQ(out.error().kind, ErrorKind::unavailable);
  EXPECT_EQ(h.quota->available(), 485);
}

TEST(JsonClient, EmptyQuotaMeansNoRetries) {
  Harness h;
  while (h.quota->acquire(RetryClass::throttling)) {
  }
  h.script.push_back(reply(400, kThrottle));
  auto out = h.client->call("GetItem", {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(h.sent.size(), 1u);
  EXPECT_TRUE(out.error().quota_exhausted);
  EXPECT_EQ(out.error().to_error().kind, ErrorKind::unavailable);
  EXPECT_NE(out.error().to_error().message.find("retry quota exhausted"), std::string::npos);
}

TEST(JsonClient, TakesHttpsEndpointsAndRejectsOtherSchemes) {
  ClientConfig config;
  config.signing_name = "dynamodb";
  config.credentials = {"AKID", "SECRET", ""};  // no credential chain (and no IMDS probe) here
  config.endpoint = "https://dynamodb.us-east-1.amazonaws.com";
  auto client = JsonClient::create(config);
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_TRUE((*client)->endpoint().tls);
  EXPECT_EQ((*client)->credentials_source(), "configured");
  config.endpoint = "ftp://dynamodb.us-east-1.amazonaws.com";
  auto refused = JsonClient::create(config);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::invalid_argument);
}

}  // namespace
}  // namespace crest::aws
