// No accepted order is lost when the storefront dies: a stream of checkouts, SIGKILL (or
// SIGTERM) in the middle of it, a restart on the same data, and then every order that was
// answered 202 must end confirmed or failed with a reason. Embedded mode (SQLite file, the
// durable SqliteQueue) and the real backends (MariaDB, dynalite, the SQS server).
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crest/aws/sqs.hpp"
#include "crest/http/client.hpp"
#include "crest/stack/dynalite_server.hpp"
#include "crest/stack/fauxqs_server.hpp"
#include "crest/stack/mariadb_cluster.hpp"
#include "crest/store/sqs.hpp"
#include "storefront_process.hpp"

namespace crest::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct Reply {
  int status = 0;
  json body;
};

Reply call(std::uint16_t port, const std::string& method, const std::string& target,
           const std::string& token = "", const json& body = nullptr,
           const std::string& idempotency_key = "") {
  http::HttpClient client("127.0.0.1", port);
  http::ClientRequest request{method, target, {}, body.is_null() ? "" : body.dump()};
  if (!body.is_null()) request.headers.set("Content-Type", "application/json");
  if (!token.empty()) request.headers.set("Authorization", "Bearer " + token);
  if (!idempotency_key.empty()) request.headers.set("Idempotency-Key", idempotency_key);
  auto response = client.send(request);
  if (!response.ok()) return Reply{0, json(response.error().message)};
  return Reply{response->status, json::parse(response->body, nullptr, false)};
}

std::string register_and_login(std::uint16_t port, const std::string& email) {
  const json user{{"email", email}, {"password", "correct-horse-9"}, {"name", "Shopper"}};
  EXPECT_EQ(call(port, "POST", "/api/users", "", user).status, 201);
  const auto login =
      call(port, "POST", "/api/login", "", {{"email", email}, {"password", "correct-horse-9"}});
  EXPECT_EQ(login.status, 200) << login.body;
  return login.body.value("token", "");
}

struct Tally {
  int accepted = 0;
  int confirmed = 0;
  int failed_with_reason = 0;
  int lost = 0;  // still pending at the deadline, or failed without a reason, or missing
};

struct AcceptedOrder {
  long id = 0;
  int shopper = 0;  // index into the tokens
};

// Shoppers add an item and check out, over and over, until `stop`; returns the orders answered
// 202.
class CheckoutStream {
 public:
  CheckoutStream(std::uint16_t port, std::vector<std::string> tokens) : port_(port) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      threads_.emplace_back([this, token = tokens[i], i] { run(token, static_cast<int>(i)); });
    }
  }
  std::vector<AcceptedOrder> stop() {
    stop_ = true;
    for (auto& t : threads_) t.join();
    threads_.clear();
    return accepted_;
  }
  std::size_t accepted() {
    const std::lock_guard lock(mutex_);
    return accepted_.size();
  }

 private:
  void run(const std::string& token, int shopper) {
    for (int n = 0; !stop_; ++n) {
      const json item{{"product_id", 1 + (n + shopper) % 20}, {"quantity", 1}};
      if (call(port_, "POST", "/api/cart/items", token, item).status != 201) continue;
      const auto key = "stream-" + std::to_string(shopper) + "-" + std::to_string(n);
      const auto reply = call(port_, "POST", "/api/checkout", token, nullptr, key);
      if (reply.status == 202 || reply.status == 201) {
        const std::lock_guard lock(mutex_);
        accepted_.push_back(AcceptedOrder{reply.body.value("order_id", 0L), shopper});
      }
    }
  }

  std::uint16_t port_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<AcceptedOrder> accepted_;
  std::vector<std::thread> threads_;
};

// Waits until every order has left `pending` (or the deadline), then counts the outcomes.
Tally settle(std::uint16_t port, const std::vector<std::string>& tokens,
             const std::vector<AcceptedOrder>& accepted, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::map<long, std::string> final_status;  // orders seen confirmed or failed with a reason
  for (;;) {
    Tally tally;
    tally.accepted = static_cast<int>(accepted.size());
    for (const auto& order : accepted) {
      auto known = final_status.find(order.id);
      if (known == final_status.end()) {
        const auto reply = call(port, "GET", "/api/orders/" + std::to_string(order.id),
                                tokens[static_cast<std::size_t>(order.shopper)]);
        const std::string status =
            reply.status == 200 ? reply.body.value("status", "?") : "missing";
        if (status == "confirmed" ||
            (status == "failed" && !reply.body.value("failure_reason", "").empty())) {
          known = final_status.emplace(order.id, status).first;
        }
      }
      if (known == final_status.end()) {
        ++tally.lost;
      } else if (known->second == "confirmed") {
        ++tally.confirmed;
      } else {
        ++tally.failed_with_reason;
      }
    }
    if (tally.lost == 0 || std::chrono::steady_clock::now() >= deadline) return tally;
    std::this_thread::sleep_for(250ms);
  }
}

std::vector<std::string> with_sets(std::vector<std::string> args,
                                   const std::vector<std::string>& sets) {
  for (const auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  return args;
}

// The kill-and-restart run: a stream for `stream_for`, then `signal`, restart, settle.
Tally kill_and_restart(const std::vector<std::string>& args, int signal, const std::string& label) {
  std::vector<std::string> tokens;
  std::vector<AcceptedOrder> ids;
  {
    StorefrontProcess first(args);
    std::string email_prefix = label;
    std::replace(email_prefix.begin(), email_prefix.end(), ' ', '-');
    for (int i = 0; i < 4; ++i) {
      tokens.push_back(register_and_login(
          first.port(), email_prefix + "-" + std::to_string(i) + "@example.test"));
    }
    CheckoutStream stream(first.port(), tokens);
    const auto started = std::chrono::steady_clock::now();
    while (stream.accepted() < 150 && std::chrono::steady_clock::now() - started < 10s) {
      std::this_thread::sleep_for(20ms);
    }
    if (signal == SIGKILL) {
      first.stop(SIGKILL, std::chrono::seconds(5));
      ids = stream.stop();
    } else {
      // SIGTERM with the stream still running: the drain refuses or finishes requests.
      ::kill(first.pid(), SIGTERM);
      ids = stream.stop();
      EXPECT_EQ(first.stop(SIGTERM, std::chrono::seconds(20)), 0) << first.log();
    }
  }
  StorefrontProcess second(args);
  const Tally tally = settle(second.port(), tokens, ids, 60s);
  std::cout << "[ figures ] " << label << ": accepted " << tally.accepted << ", confirmed "
            << tally.confirmed << ", failed with a reason " << tally.failed_with_reason << ", lost "
            << tally.lost << "\n";
  if (tally.lost != 0) std::cout << second.log();
  return tally;
}

class EmbeddedDurability : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("crest-durability-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::vector<std::string> args() const {
    return with_sets({"all", "--seed", "--users", "0", "--products", "30"},
                     {"store.sqlite_path=" + (dir_ / "shop.db").string(), "auth.argon2_ops=1",
                      "auth.argon2_memory_kib=64", "payment.latency=20ms", "worker.concurrency=2",
                      "queue.visibility_timeout=2s", "worker.poll_wait=200ms",
                      "http.drain_grace=5s", "log.level=warn"});
  }
  std::filesystem::path dir_;
};

TEST_F(EmbeddedDurability, SigkillUnderACheckoutStreamLosesNoAcceptedOrder) {
  const Tally tally = kill_and_restart(args(), SIGKILL, "embedded SIGKILL");
  EXPECT_GT(tally.accepted, 0);
  EXPECT_EQ(tally.lost, 0);
  EXPECT_EQ(tally.confirmed + tally.failed_with_reason, tally.accepted);
}

TEST_F(EmbeddedDurability, SigtermUnderACheckoutStreamLosesNoAcceptedOrder) {
  const Tally tally = kill_and_restart(args(), SIGTERM, "embedded SIGTERM");
  EXPECT_GT(tally.accepted, 0);
  EXPECT_EQ(tally.lost, 0);
}

// A crash between the two writes of a checkout (the cart lines claimed, the order not yet
// committed): no order without its lines, no lines lost without an order. A retry with the
// same key finishes the order; without a retry the lines return to the cart.
TEST_F(EmbeddedDurability, CrashBetweenClaimingLinesAndCommittingTheOrder) {
  const auto crashing = with_sets(args(), {"testing.crash_after_cart_claim=true"});
  const auto healthy = with_sets(args(), {"orders.claim_timeout=1s"});
  std::string retrier;
  std::string walker;
  for (const char* name : {"retrier", "walker"}) {
    const std::string who = name;
    StorefrontProcess first(crashing);
    const auto token = register_and_login(first.port(), who + "@example.test");
    ASSERT_EQ(
        call(first.port(), "POST", "/api/cart/items", token, {{"product_id", 3}, {"quantity", 2}})
            .status,
        201);
    ASSERT_EQ(
        call(first.port(), "POST", "/api/cart/items", token, {{"product_id", 4}, {"quantity", 1}})
            .status,
        201);
    EXPECT_EQ(call(first.port(), "POST", "/api/checkout", token, nullptr, who + "-1").status, 0);
    EXPECT_EQ(first.stop(SIGTERM, std::chrono::seconds(5)), 70) << first.log();
    (who == "retrier" ? retrier : walker) = token;
  }
  StorefrontProcess second(healthy);
  const auto port = second.port();
  // Nothing ordered yet, and the claimed lines are not in the cart.
  EXPECT_TRUE(call(port, "GET", "/api/orders", retrier).body["items"].empty());

  const auto retried = call(port, "POST", "/api/checkout", retrier, nullptr, "retrier-1");
  ASSERT_EQ(retried.status, 202) << retried.body;
  const auto order = call(
      port, "GET", "/api/orders/" + std::to_string(retried.body["order_id"].get<long>()), retrier);
  ASSERT_EQ(order.body["lines"].size(), 2U) << order.body;
  EXPECT_EQ(order.body["lines"][0]["quantity"], 2);
  EXPECT_EQ(order.body["lines"][1]["quantity"], 1);
  EXPECT_TRUE(call(port, "GET", "/api/cart", retrier).body["items"].empty());

  std::this_thread::sleep_for(1200ms);  // past orders.claim_timeout
  const auto cart = call(port, "GET", "/api/cart", walker).body;
  ASSERT_EQ(cart["items"].size(), 2U) << cart;
  EXPECT_EQ(cart["items"][0]["quantity"], 2);
  EXPECT_TRUE(call(port, "GET", "/api/orders", walker).body["items"].empty());
}

// The same on the real backends: MariaDB primary (no replicas: reads of one's own orders go to
// the primary anyway), dynalite for carts and sessions, the SQS server for the queue.
TEST(RealBackendDurability, SigkillUnderACheckoutStreamLosesNoAcceptedOrder) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("crest-durability-real-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    auto cluster = stack::MariaDbCluster::start(dir / "mariadb", 0);
    ASSERT_TRUE(cluster.ok()) << cluster.error().message;
    auto dynalite = stack::DynaliteServer::start((dir / "dynalite").string());
    ASSERT_TRUE(dynalite.ok()) << dynalite.error().message;
    auto fauxqs = stack::FauxqsServer::start((dir / "fauxqs").string());
    ASSERT_TRUE(fauxqs.ok()) << fauxqs.error().message;
    aws::SqsOptions sqs_options;
    sqs_options.endpoint = fauxqs->endpoint();
    auto sqs = aws::SqsClient::create(sqs_options);
    ASSERT_TRUE(sqs.ok()) << sqs.error().message;
    store::QueueSetup setup;
    setup.name = "durability";
    setup.dead_letter_name = "durability-dlq";
    auto queues = store::ensure_queues(**sqs, setup);
    ASSERT_TRUE(queues.ok()) << queues.error().message;
    const auto& primary = (*cluster)->primary();
    const auto args = with_sets(
        {"all", "--seed", "--users", "0", "--products", "30"},
        {"db.backend=mysql",
         "db.primary_url=mysql://crest:crest@127.0.0.1:" + std::to_string(primary.port) + "/crest",
         "sessions.backend=dynamodb", "carts.backend=dynamodb",
         "dynamodb.endpoint=" + dynalite->endpoint(), "dynamodb.create_tables=true",
         "queue.backend=sqs", "sqs.endpoint=" + fauxqs->endpoint(),
         "sqs.orders_queue_url=" + queues->url,
         "sqs.dead_letter_queue_url=" + queues->dead_letter_url, "auth.argon2_ops=1",
         "auth.argon2_memory_kib=64", "payment.latency=20ms", "worker.concurrency=2",
         "queue.visibility_timeout=2s", "worker.poll_wait=200ms", "log.level=warn"});
    const Tally tally = kill_and_restart(args, SIGKILL, "real backends SIGKILL");
    EXPECT_GT(tally.accepted, 0);
    EXPECT_EQ(tally.lost, 0);
    EXPECT_EQ(tally.confirmed + tally.failed_with_reason, tally.accepted);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace crest::testing
