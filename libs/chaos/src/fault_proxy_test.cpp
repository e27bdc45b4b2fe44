// The fault proxy in front of a real dynalite on loopback.
#include "crest/chaos/fault_proxy.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "crest/http/client.hpp"
#include "crest/stack/dynalite_server.hpp"

namespace crest::chaos {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::string temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("crest-chaos-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir.string();
}

stack::DynaliteOptions dynalite_options() {
  stack::DynaliteOptions options;
  options.repo_root = CREST_REPO_ROOT;
  return options;
}

ProxyFault fault(ProxyFaultKind kind, std::chrono::milliseconds latency = 0ms, int status = 503,
                 double probability = 1.0, std::string match = "") {
  ProxyFault f;
  f.kind = kind;
  f.latency = latency;
  f.status = status;
  f.probability = probability;
  f.match = std::move(match);
  return f;
}

http::ClientRequest list_tables() {
  http::ClientRequest request;
  request.method = "POST";
  request.target = "/";
  request.headers.set("Content-Type", "application/x-amz-json-1.0");
  request.headers.set("X-Amz-Target", "DynamoDB_20120810.ListTables");
  // dynalite checks that a SigV4 Authorization header is there, not the signature.
  request.headers.set("Authorization",
                      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/dynamodb/"
                      "aws4_request, SignedHeaders=host, Signature=00");
  request.headers.set("X-Amz-Date", "20261130T090000Z");
  request.body = "{}";
  return request;
}

class ProxyInFrontOfDynalite : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("dynalite");
    auto server = stack::DynaliteServer::start(dir_, dynalite_options());
    if (!server) {
      GTEST_SKIP() << "dynalite unavailable: " << server.error().message;
    }
    dynalite_.emplace(std::move(*server));
    ProxyOptions options;
    options.upstream_port = dynalite_->port();
    options.control_socket = dir_ + "/proxy.sock";
    auto proxy = FaultProxy::start(options);
    ASSERT_TRUE(proxy.ok()) << proxy.error().message;
    proxy_ = std::move(*proxy);
    client_ = std::make_unique<http::HttpClient>("127.0.0.1", proxy_->port());
  }
  void TearDown() override {
    client_.reset();
    proxy_.reset();
    dynalite_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string dir_;
  std::optional<stack::DynaliteServer> dynalite_;
  std::unique_ptr<FaultProxy> proxy_;
  std::unique_ptr<http::HttpClient> client_;
};

TEST_F(ProxyInFrontOfDynalite, PassesThroughByDefaultOnOneKeepAliveConnection) {
  for (int i = 0; i < 3; ++i) {
    auto response = client_->send(list_tables());
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    EXPECT_THAT(response->body, HasSubstr("TableNames"));
  }
  EXPECT_EQ(proxy_->stats().forwarded, 3U);
}

TEST_F(ProxyInFrontOfDynalite, AnswersThrottlingLikeDynamoDb) {
  proxy_->set_fault(fault(ProxyFaultKind::throttle));
  auto response = client_->send(list_tables());
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 400);
  const auto body = nlohmann::json::parse(response->body);
  EXPECT_EQ(body["__type"],
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException");
  EXPECT_THAT(body["message"].get<std::string>(), HasSubstr("provisioned throughput"));
  EXPECT_EQ(proxy_->stats().throttled, 1U);
  EXPECT_EQ(proxy_->stats().forwarded, 0U);
  proxy_->clear_fault();
  auto after = client_->send(list_tables());  // same connection, back to normal
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 200);
}

TEST_F(ProxyInFrontOfDynalite, ThrottlesOnlyMatchingOperations) {
  proxy_->set_fault(fault(ProxyFaultKind::throttle, 0ms, 503, 1.0, "PutItem"));
  auto response = client_->send(list_tables());
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
}

TEST_F(ProxyInFrontOfDynalite, AddsLatency) {
  proxy_->set_fault(fault(ProxyFaultKind::latency, 300ms));
  const auto start = std::chrono::steady_clock::now();
  auto response = client_->send(list_tables());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 2s);
}

TEST_F(ProxyInFrontOfDynalite, AnswersErrorsAndResetsConnections) {
  proxy_->set_fault(fault(ProxyFaultKind::error, 0ms, 500));
  auto error = client_->send(list_tables());
  ASSERT_TRUE(error.ok());
  EXPECT_EQ(error->status, 500);
  EXPECT_THAT(error->body, HasSubstr("InternalServerError"));
  proxy_->set_fault(fault(ProxyFaultKind::reset));
  http::HttpClient fresh("127.0.0.1", proxy_->port());
  auto reset = fresh.send(list_tables());
  EXPECT_FALSE(reset.ok());
  EXPECT_GE(proxy_->stats().resets, 1U);
}

TEST_F(ProxyInFrontOfDynalite, AppliesAProbabilityRepeatably) {
  proxy_->set_fault(fault(ProxyFaultKind::throttle, 0ms, 503, 0.5, ""));
  int throttled = 0;
  for (int i = 0; i < 40; ++i) {
    auto response = client_->send(list_tables());
    ASSERT_TRUE(response.ok());
    throttled += response->status == 400 ? 1 : 0;
  }
  EXPECT_GT(throttled, 8);
  EXPECT_LT(throttled, 32);
}

TEST_F(ProxyInFrontOfDynalite, IsControlledThroughItsSocket) {
  const std::string socket = dir_ + "/proxy.sock";
  auto set = send_control_command(socket, "set throttle probability=1");
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(*set, "ok throttle");
  EXPECT_EQ(client_->send(list_tables())->status, 400);
  EXPECT_EQ(*send_control_command(socket, "get"), "ok throttle");
  EXPECT_EQ(*send_control_command(socket, "clear"), "ok none");
  EXPECT_EQ(client_->send(list_tables())->status, 200);
  auto bad = send_control_command(socket, "set meltdown");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("unknown fault 'meltdown'"));
  EXPECT_FALSE(send_control_command(dir_ + "/nobody.sock", "get").ok());
}

TEST_F(ProxyInFrontOfDynalite, ServesConcurrentClientsWhileFaultsChange) {
  std::atomic<int> failures{0};
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&] {
      http::HttpClient client("127.0.0.1", proxy_->port());
      for (int i = 0; i < 25; ++i) {
        auto response = client.send(list_tables());
        if (response.ok() && response->status == 200) {
          ++ok;
        } else {
          ++failures;
        }
      }
    });
  }
  for (int i = 0; i < 5; ++i) {
    proxy_->set_fault(fault(ProxyFaultKind::latency, 5ms));
    std::this_thread::sleep_for(20ms);
    proxy_->clear_fault();
    std::this_thread::sleep_for(20ms);
  }
  for (auto& c : clients) {
    c.join();
  }
  EXPECT_EQ(failures.load(), 0);  // latency only: slower, never failed
  EXPECT_EQ(ok.load(), 150);
}

TEST_F(ProxyInFrontOfDynalite, StopsPromptlyWithOpenConnections) {
  ASSERT_EQ(client_->send(list_tables())->status, 200);  // an idle keep-alive connection
  proxy_->set_fault(fault(ProxyFaultKind::latency, 30000ms));
  std::thread waiting([&] {
    http::HttpClient client("127.0.0.1", proxy_->port());
    (void)client.send(list_tables());  // held by the 30 s latency
  });
  std::this_thread::sleep_for(100ms);
  const auto start = std::chrono::steady_clock::now();
  proxy_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  waiting.join();
}

TEST(FaultProxyTcp, RelaysBytesAndResetsConnections) {
  const std::string dir = temp_dir("tcp");
  auto dynalite = stack::DynaliteServer::start(dir, dynalite_options());
  if (!dynalite) {
    GTEST_SKIP() << dynalite.error().message;
  }
  ProxyOptions options;
  options.upstream_port = dynalite->port();
  options.mode = ProxyMode::tcp;
  auto proxy = FaultProxy::start(options);
  ASSERT_TRUE(proxy.ok());
  {
    http::HttpClient client("127.0.0.1", (*proxy)->port());
    auto response = client.send(list_tables());
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->status, 200);
  }
  (*proxy)->set_fault(fault(ProxyFaultKind::reset));
  http::HttpClient client("127.0.0.1", (*proxy)->port());
  EXPECT_FALSE(client.send(list_tables()).ok());
  (*proxy)->stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

TEST(FaultProxyOptions, RejectsAHostNameOrNoUpstream) {
  ProxyOptions options;
  options.upstream_host = "localhost";
  options.upstream_port = 9;
  auto named = FaultProxy::start(options);
  ASSERT_FALSE(named.ok());
  EXPECT_THAT(named.error().message, HasSubstr("'localhost' is not an IP address"));
  EXPECT_FALSE(FaultProxy::start(ProxyOptions{}).ok());
}

TEST(ProxyFaultText, RoundTripsAndRejectsNonsense) {
  auto f = parse_proxy_fault("latency latency_ms=250 probability=0.5 match=GetItem");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->kind, ProxyFaultKind::latency);
  EXPECT_EQ(f->latency, 250ms);
  EXPECT_EQ(to_string(*f), "latency latency_ms=250 probability=0.5 match=GetItem");
  EXPECT_EQ(to_string(*parse_proxy_fault("error status=429")), "error status=429");
  for (const char* bad : {"", "boom", "latency latency_ms=abc", "error status=42",
                          "throttle probability=2", "throttle p=1", "latency 5"}) {
    EXPECT_FALSE(parse_proxy_fault(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace crest::chaos
