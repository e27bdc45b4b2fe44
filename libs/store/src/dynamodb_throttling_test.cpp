// DynamoDB throttling, end to end: a fault-injecting HTTP proxy in front of dynalite answers a
// share of requests with 400 ProvisionedThroughputExceededException (dynalite never throttles).
#include <atomic>
#include <future>
#include <mutex>

#include <gtest/gtest.h>

#include "crest/http/server.hpp"
#include "crest/metrics/registry.hpp"
#include "crest/store/dynamodb.hpp"
#include "dynamodb_test_support.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;

// Forwards POST / to `upstream`, except requests chosen by the throttle pattern: with tenths
// `t` out of 10 throttled, request n is throttled when n % 10 is one of the first t entries of
// {1, 4, 7, 0, 2, 5, 8, 3, 6, 9} -- spread out, so at 30% no three requests in a row are
// throttled and a single client always gets through within its 3 attempts.
class ThrottlingProxy {
 public:
  ThrottlingProxy(std::uint16_t upstream_port, int tenths_throttled)
      : upstream_("127.0.0.1", upstream_port), tenths_(tenths_throttled) {
    http::Router router;
    router.add_blocking("POST", "/", [this](http::Request& request) { return handle(request); });
    http::ServerOptions options;
    options.port = 0;
    options.blocking_threads = 4;
    options.service_name = "throttling-proxy";
    server_ = std::make_unique<http::Server>(options, std::move(router),
                                             std::vector<http::Middleware>{}, registry_);
    const auto listening = server_->listen();
    EXPECT_TRUE(listening.ok());
    done_ = std::async(std::launch::async, [this] { server_->run(); });
  }
  ~ThrottlingProxy() {
    server_->drain();
    done_.wait();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  void set_tenths_throttled(int tenths) { tenths_ = tenths; }
  int requests() const { return requests_; }
  int throttled() const { return throttled_; }

 private:
  bool should_throttle(int n) const {
    static constexpr int order[] = {1, 4, 7, 0, 2, 5, 8, 3, 6, 9};
    for (int i = 0; i < tenths_; ++i) {
      if (order[i] == n % 10) return true;
    }
    return false;
  }

  http::Response handle(http::Request& request) {
    const int n = requests_++;
    if (should_throttle(n)) {
      ++throttled_;
      http::Response r;
      r.status = 400;
      r.headers.set("Content-Type", "application/x-amz-json-1.0");
      r.body =
          R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",)"
          R"("message":"The level of configured provisioned throughput for the table was exceeded."})";
      return r;
    }
    http::ClientRequest forward;
    forward.method = "POST";
    forward.target = "/";
    forward.body = request.body;
    for (const char* name :
         {"Content-Type", "X-Amz-Target", "X-Amz-Date", "Authorization", "X-Amz-Security-Token"}) {
      if (auto value = request.headers.get(name)) forward.headers.add(name, std::string(*value));
    }
    auto response = upstream_.send(forward);
    if (!response.ok()) return http::Response::error(502, "bad_gateway", response.error().message);
    http::Response r;
    r.status = response->status;
    r.body = std::move(response->body);
    r.headers.set("Content-Type", "application/x-amz-json-1.0");
    return r;
  }

  http::HttpClientPool upstream_;
  std::atomic<int> tenths_;
  std::atomic<int> requests_{0};
  std::atomic<int> throttled_{0};
  metrics::Registry registry_;
  std::unique_ptr<http::Server> server_;
  std::future<void> done_;
};

class DynamoDbThrottling : public ::testing::Test {
 protected:
  void SetUp() override {
    auto* server = test_support::dynalite();
    ASSERT_NE(server, nullptr);
    auto direct = test_support::dynamodb_client(server->endpoint());
    ASSERT_NE(direct, nullptr);
    auto tables = ensure_tables(*direct);
    ASSERT_TRUE(tables.ok()) << tables.error().message;
    proxy_ = std::make_unique<ThrottlingProxy>(server->port(), 0);
  }

  // A client through the proxy whose backoff only records (no real sleeping).
  std::shared_ptr<aws::DynamoDbClient> client(aws::RetryPolicy retry = {}) {
    aws::ClientHooks hooks;
    hooks.sleep = [this](std::chrono::nanoseconds d) { slept_ += d; };
    hooks.metrics = &registry_;
    return test_support::dynamodb_client(proxy_->endpoint(), hooks, retry);
  }

  std::unique_ptr<ThrottlingProxy> proxy_;
  metrics::Registry registry_;
  std::chrono::nanoseconds slept_{0};
};

TEST_F(DynamoDbThrottling, ThirtyPercentThrottledCartOperationsSucceedThroughRetries) {
  DynamoDbCartStore carts(client());
  const std::int64_t user = 3001;
  ASSERT_TRUE(carts.clear(user).ok());
  proxy_->set_tenths_throttled(3);
  for (int i = 0; i < 30; ++i) {
    auto added = carts.add_item(user, 1 + i % 3, 1);
    ASSERT_TRUE(added.ok()) << "add " << i << ": " << added.error().message;
  }
  auto cart = carts.get(user);
  ASSERT_TRUE(cart.ok()) << cart.error().message;
  EXPECT_EQ(cart->lines, (std::vector<CartLine>{{1, 10}, {2, 10}, {3, 10}}));  // never a wrong cart
  EXPECT_GT(proxy_->throttled(), 5);
  EXPECT_GT(slept_.count(), 0);
  const auto text = registry_.render();
  EXPECT_NE(text.find(R"(crest_aws_retries_total{service="DynamoDB",reason="throttling"})"),
            std::string::npos)
      << text;
}

TEST_F(DynamoDbThrottling, FullyThrottledIsUnavailableAndTheQuotaDrains) {
  aws::RetryPolicy retry;
  retry.quota_capacity = 20;  // four retries' worth, so the test drains it quickly
  DynamoDbCartStore carts(client(retry));
  proxy_->set_tenths_throttled(10);

  int before = proxy_->requests();
  auto first = carts.add_item(4001, 1, 1);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().kind, ErrorKind::unavailable);
  EXPECT_EQ(first.error().message.rfind("DynamoDB throttled: ", 0), 0u) << first.error().message;
  EXPECT_EQ(proxy_->requests() - before, 3);  // max attempts

  before = proxy_->requests();
  EXPECT_FALSE(carts.add_item(4001, 1, 1).ok());
  EXPECT_EQ(proxy_->requests() - before, 3);  // the quota (20 - 10) pays two more retries

  before = proxy_->requests();
  auto drained = carts.get(4001);
  ASSERT_FALSE(drained.ok());
  EXPECT_EQ(drained.error().kind, ErrorKind::unavailable);
  EXPECT_EQ(proxy_->requests() - before, 1);  // quota empty: fails fast, no retry
  EXPECT_NE(drained.error().message.find("retry quota exhausted"), std::string::npos)
      << drained.error().message;

  // Throttling over: successes refill the bucket one token at a time, and carts are intact.
  proxy_->set_tenths_throttled(0);
  auto cart = carts.get(4001);
  ASSERT_TRUE(cart.ok()) << cart.error().message;
  EXPECT_TRUE(cart->lines.empty());  // no add was applied by the throttled calls
}

}  // namespace
}  // namespace crest::store
