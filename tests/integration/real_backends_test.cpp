// The storefront on real servers (MariaDB primary + 2 replicas, Redis, dynalite, the SQS server),
// all started here on free loopback ports and stopped by pid: the journey, and the failures the
// scaling strategy must survive.
#include <signal.h>

#include <filesystem>
#include <future>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crest/aws/sqs.hpp"
#include "crest/http/client.hpp"
#include "crest/http/server.hpp"
#include "crest/metrics/registry.hpp"
#include "crest/stack/dynalite_server.hpp"
#include "crest/stack/fauxqs_server.hpp"
#include "crest/stack/mariadb_cluster.hpp"
#include "crest/stack/redis_server.hpp"
#include "crest/store/sqs.hpp"
#include "storefront_process.hpp"

namespace crest::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  json body;
  http::Headers headers;
};

Reply call(std::uint16_t port, const std::string& method, const std::string& target,
           const std::string& token = "", const std::string& body = "",
           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  http::HttpClient client("127.0.0.1", port);
  http::ClientRequest request{method, target, {}, body};
  if (!token.empty()) request.headers.set("Authorization", "Bearer " + token);
  for (const auto& [name, value] : headers) request.headers.set(name, value);
  auto response = client.send(request);
  if (!response.ok()) return Reply{0, json(response.error().message), {}};
  return Reply{response->status, json::parse(response->body, nullptr, false), response->headers};
}

std::string metrics_text(std::uint16_t port) {
  http::HttpClient client("127.0.0.1", port);
  auto response = client.send({"GET", "/metrics", {}, ""});
  return response.ok() ? response->body : "";
}

// The value of one series in a Prometheus text exposition; 0 if absent.
double metric(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return 0;
  return std::stod(text.substr(at + series.size() + 2));
}

std::string register_and_login(std::uint16_t port, const std::string& email) {
  const json user{{"email", email}, {"password", "correct-horse"}, {"name", "Shopper"}};
  EXPECT_EQ(call(port, "POST", "/api/users", "", user.dump()).status, 201);
  const auto login = call(port, "POST", "/api/login", "",
                          json{{"email", email}, {"password", "correct-horse"}}.dump());
  EXPECT_EQ(login.status, 200) << login.body;
  return login.body.value("token", "");
}

// Polls an order until it leaves `pending`; its final status.
std::string wait_for_order(std::uint16_t port, const std::string& token, long order_id,
                           std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string status = "pending";
  while (status == "pending" && std::chrono::steady_clock::now() < deadline) {
    status = call(port, "GET", "/api/orders/" + std::to_string(order_id), token)
                 .body.value("status", "?");
    if (status == "pending") std::this_thread::sleep_for(100ms);
  }
  return status;
}

class RealBackends : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("crest-real-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    auto cluster = stack::MariaDbCluster::start(dir_ / "mariadb", 2);
    ASSERT_TRUE(cluster.ok()) << cluster.error().message;
    cluster_ = std::move(cluster).value().release();
    auto redis = stack::RedisServer::start(dir_ / "redis");
    ASSERT_TRUE(redis.ok()) << redis.error().message;
    redis_ = std::move(redis).value().release();
    auto dynalite = stack::DynaliteServer::start((dir_ / "dynalite").string());
    ASSERT_TRUE(dynalite.ok()) << dynalite.error().message;
    dynalite_ = new stack::DynaliteServer(std::move(dynalite).value());
    auto fauxqs = stack::FauxqsServer::start((dir_ / "fauxqs").string());
    ASSERT_TRUE(fauxqs.ok()) << fauxqs.error().message;
    fauxqs_ = new stack::FauxqsServer(std::move(fauxqs).value());
    aws::SqsOptions sqs_options;
    sqs_options.endpoint = fauxqs_->endpoint();
    auto sqs = aws::SqsClient::create(sqs_options);
    ASSERT_TRUE(sqs.ok()) << sqs.error().message;
    sqs_ = std::move(sqs).value().release();
  }
  static void TearDownTestSuite() {
    delete sqs_;
    delete fauxqs_;
    delete dynalite_;
    delete redis_;
    delete cluster_;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // A fresh orders queue (and dead-letter queue) per test, so tests do not see each other's orders.
  static store::EnsuredQueue new_queues(const std::string& name, int max_receive_count = 5) {
    store::QueueSetup setup;
    setup.name = name;
    setup.dead_letter_name = name + "-dlq";
    setup.max_receive_count = max_receive_count;
    auto queues = store::ensure_queues(*sqs_, setup);
    EXPECT_TRUE(queues.ok()) << queues.error().message;
    return queues.ok() ? *queues : store::EnsuredQueue{};
  }

  static std::string mysql_url(const stack::MariaDbServer& server) {
    return "mysql://crest:crest@127.0.0.1:" + std::to_string(server.port) + "/crest";
  }

  // Every backend real; `extra` are more --set assignments (later ones win).
  static std::vector<std::string> args(const std::string& role, const store::EnsuredQueue& queues,
                                       const std::vector<std::string>& extra = {}) {
    std::vector<std::string> sets = {
        "db.backend=mysql",
        "db.primary_url=" + mysql_url(cluster_->primary()),
        "db.replica_urls=" + mysql_url(cluster_->replica(0)) + "," +
            mysql_url(cluster_->replica(1)),
        "cache=redis",
        "redis.url=redis://127.0.0.1:" + std::to_string(redis_->port()),
        "sessions.backend=dynamodb",
        "carts.backend=dynamodb",
        "dynamodb.endpoint=" + dynalite_->endpoint(),
        "dynamodb.create_tables=true",
        "queue.backend=sqs",
        "sqs.endpoint=" + fauxqs_->endpoint(),
        "sqs.orders_queue_url=" + queues.url,
        "sqs.dead_letter_queue_url=" + queues.dead_letter_url,
        "auth.argon2_ops=1",
        "auth.argon2_memory_kib=64",
        "payment.latency=0ms",
        "worker.poll_wait=200ms",
        "log.level=warn",
    };
    sets.insert(sets.end(), extra.begin(), extra.end());
    std::vector<std::string> out = {role, "--seed", "--users", "0", "--products", "30"};
    for (const auto& s : sets) {
      out.push_back("--set");
      out.push_back(s);
    }
    return out;
  }

  static std::filesystem::path dir_;
  static stack::MariaDbCluster* cluster_;
  static stack::RedisServer* redis_;
  static stack::DynaliteServer* dynalite_;
  static stack::FauxqsServer* fauxqs_;
  static aws::SqsClient* sqs_;
};

std::filesystem::path RealBackends::dir_;
stack::MariaDbCluster* RealBackends::cluster_ = nullptr;
stack::RedisServer* RealBackends::redis_ = nullptr;
stack::DynaliteServer* RealBackends::dynalite_ = nullptr;
stack::FauxqsServer* RealBackends::fauxqs_ = nullptr;
aws::SqsClient* RealBackends::sqs_ = nullptr;

TEST_F(RealBackends, JourneyFromRegistrationToConfirmedOrder) {
  StorefrontProcess shop(args("all", new_queues("journey")));
  const auto port = shop.port();
  const auto token = register_and_login(port, "real-journey@example.test");
  EXPECT_EQ(call(port, "GET", "/api/me", token).status, 200);  // user read right after the write
  ASSERT_EQ(call(port, "POST", "/api/cart/items", token, R"({"product_id":3,"quantity":2})").status,
            201);
  const auto checkout =
      call(port, "POST", "/api/checkout", token, "", {{"Idempotency-Key", "real-1"}});
  ASSERT_EQ(checkout.status, 202) << checkout.body;
  const long order_id = checkout.body["order_id"];
  // Read-your-writes: the fresh order is visible at once, whatever the replicas do.
  EXPECT_EQ(call(port, "GET", "/api/orders/" + std::to_string(order_id), token).status, 200);
  EXPECT_EQ(wait_for_order(port, token, order_id, 20s), "confirmed") << shop.log();
  EXPECT_EQ(call(port, "GET", "/api/cart", token).body["items"].size(), 0U);
}

TEST_F(RealBackends, RedisDownMeansSlowerNotBroken) {
  StorefrontProcess shop(args("all", new_queues("redis"), {"reads=primary"}));
  const auto port = shop.port();
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(call(port, "GET", "/api/products/" + std::to_string(i % 5 + 1)).status, 200);
  const auto before = metrics_text(port);
  EXPECT_GT(metric(before, R"(crest_cache_requests_total{cache="redis",result="hit"})"), 0)
      << before;

  redis_->stop();
  int failed = 0;
  for (int i = 0; i < 50; ++i)
    failed += call(port, "GET", "/api/products/" + std::to_string(i % 5 + 1)).status != 200;
  EXPECT_EQ(failed, 0);
  const auto during = metrics_text(port);
  EXPECT_GT(metric(during, R"(crest_cache_requests_total{cache="redis",result="error"})"), 0)
      << during;

  ASSERT_TRUE(redis_->start().ok());
  std::this_thread::sleep_for(1500ms);  // past the cache's cool-down
  for (int i = 0; i < 20; ++i)
    ASSERT_EQ(call(port, "GET", "/api/products/" + std::to_string(i % 5 + 1)).status, 200);
  const auto after = metrics_text(port);
  EXPECT_GT(metric(after, R"(crest_cache_requests_total{cache="redis",result="hit"})"),
            metric(during, R"(crest_cache_requests_total{cache="redis",result="hit"})"));
}

TEST_F(RealBackends, QueueOutageLosesNoAcceptedOrder) {
  StorefrontProcess shop(args("all", new_queues("outage")));
  const auto port = shop.port();
  const auto token = register_and_login(port, "outage@example.test");
  fauxqs_->pause();  // unreachable: requests hang until their timeouts
  std::vector<long> orders;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(
        call(port, "POST", "/api/cart/items", token, R"({"product_id":4,"quantity":1})").status,
        201);
    const auto checkout = call(port, "POST", "/api/checkout", token, "",
                               {{"Idempotency-Key", "outage-" + std::to_string(i)}});
    EXPECT_EQ(checkout.status, 202) << checkout.body;  // the outbox needs no queue to accept
    orders.push_back(checkout.body.value("order_id", 0L));
  }
  std::this_thread::sleep_for(1s);
  fauxqs_->resume();
  for (const auto id : orders) EXPECT_EQ(wait_for_order(port, token, id, 60s), "confirmed") << id;
  const auto text = metrics_text(port);
  EXPECT_EQ(metric(text, "crest_orders_accepted_total"), 5);
  EXPECT_EQ(metric(text, R"(crest_orders_processed_total{result="confirmed"})"), 5);
}

TEST_F(RealBackends, WorkerKilledMidOrderProcessesItOnceAfterRedelivery) {
  const auto queues = new_queues("killed");
  // The shop front with no consumer of its own; the workers below are separate processes.
  StorefrontProcess orders(args("all", queues, {"worker.concurrency=0"}));
  const auto token = register_and_login(orders.port(), "killed@example.test");
  const std::string stock_sql = "SELECT stock FROM crest.products WHERE id = 6";
  const int stock_before = std::stoi(cluster_->execute(0, stock_sql).value());
  ASSERT_EQ(
      call(orders.port(), "POST", "/api/cart/items", token, R"({"product_id":6,"quantity":2})")
          .status,
      201);

  // This worker reserves the stock, then hangs in a 30 s payment: killed there.
  StorefrontProcess slow_worker(
      args("worker", queues, {"payment.latency=30s", "queue.visibility_timeout=3s"}));
  const auto checkout =
      call(orders.port(), "POST", "/api/checkout", token, "", {{"Idempotency-Key", "kill-1"}});
  ASSERT_EQ(checkout.status, 202);
  const long order_id = checkout.body["order_id"];
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::stoi(cluster_->execute(0, stock_sql).value()) == stock_before &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(std::stoi(cluster_->execute(0, stock_sql).value()), stock_before - 2)
      << "never reserved";
  EXPECT_EQ(slow_worker.stop(SIGKILL), 128 + SIGKILL);

  StorefrontProcess worker(args("worker", queues, {"queue.visibility_timeout=3s"}));
  EXPECT_EQ(wait_for_order(orders.port(), token, order_id, 30s), "confirmed");
  EXPECT_EQ(std::stoi(cluster_->execute(0, stock_sql).value()),
            stock_before - 2);  // once, not twice
  EXPECT_EQ(
      metric(metrics_text(worker.port()), R"(crest_orders_processed_total{result="confirmed"})"),
      1);
}

TEST_F(RealBackends, PoisonMessageLandsInTheDeadLetterQueue) {
  const auto queues = new_queues("poison", 2);
  StorefrontProcess worker(args("worker", queues, {"queue.visibility_timeout=1s"}));
  ASSERT_TRUE(sqs_->send_message(queues.url, "this is not an order").ok());
  int dead = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (dead == 0 && std::chrono::steady_clock::now() < deadline) {
    auto attributes =
        sqs_->get_queue_attributes(queues.dead_letter_url, {"ApproximateNumberOfMessages"});
    if (attributes.ok()) dead = std::stoi(attributes.value().at("ApproximateNumberOfMessages"));
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(dead, 1);
  std::this_thread::sleep_for(1500ms);  // one sampling period of the worker
  EXPECT_EQ(metric(metrics_text(worker.port()),
                   R"(crest_queue_approximate_messages{queue="orders_dlq",state="visible"})"),
            1);
}

TEST_F(RealBackends, ReadsSurviveAStoppedReplica) {
  StorefrontProcess shop(args("catalog", new_queues("replica"), {"cache=off"}));
  ASSERT_TRUE(cluster_->stop_replica(0, true).ok());
  int failed = 0;
  for (int i = 0; i < 50; ++i)
    failed += call(shop.port(), "GET", "/api/products/" + std::to_string(i % 9 + 1)).status != 200;
  EXPECT_EQ(failed, 0);
  ASSERT_TRUE(cluster_->start_replica(0).ok());
  std::this_thread::sleep_for(1500ms);  // the prober takes it back
  const auto text = metrics_text(shop.port());
  EXPECT_EQ(metric(text, R"(crest_replica_usable{replica="replica1"})"), 1) << text;
}

// A DynamoDB that throttles everything: the API answers 503 with Retry-After, never a wrong cart.
TEST_F(RealBackends, DynamoDbThrottlingBeyondRetriesIs503WithRetryAfter) {
  metrics::Registry registry;
  http::Router router;
  router.add("POST", "/", [](http::Request&) {
    return http::Response::json(
        400, {{"__type", "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"},
              {"message", "throttled by the test"}});
  });
  http::ServerOptions options;
  options.port = 0;
  options.event_loops = 1;
  http::Server throttler(options, std::move(router), {}, registry);
  ASSERT_TRUE(throttler.listen().ok());
  auto running = std::async(std::launch::async, [&] { throttler.run(); });
  {
    StorefrontProcess shop(
        args("all", new_queues("throttle"),
             {"sessions.backend=sqlite", "dynamodb.create_tables=false",
              "dynamodb.endpoint=http://127.0.0.1:" + std::to_string(throttler.port())}));
    const auto token = register_and_login(shop.port(), "throttled@example.test");
    const auto cart = call(shop.port(), "GET", "/api/cart", token);
    EXPECT_EQ(cart.status, 503) << cart.body;
    EXPECT_FALSE(cart.headers.get("Retry-After").value_or("").empty());
    const auto add =
        call(shop.port(), "POST", "/api/cart/items", token, R"({"product_id":1,"quantity":1})");
    EXPECT_EQ(add.status, 503);
  }
  throttler.drain();
  running.wait();
}

}  // namespace
}  // namespace crest::testing
