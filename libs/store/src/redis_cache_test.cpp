// Against a real redis-server started on a free loopback port (crest::stack::RedisServer).
#include "crest/store/redis_cache.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "crest/metrics/registry.hpp"
#include "crest/stack/child_process.hpp"
#include "crest/stack/redis_server.hpp"
#include "crest/store/caching_catalog_store.hpp"
#include "crest/store/sqlite.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("crest_redis_test_" + std::to_string(::getpid()));
    auto server = stack::RedisServer::start(dir_);
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  RedisCacheOptions options() {
    RedisCacheOptions o;
    o.port = server_->port();
    // Generous for a loaded CI machine: nothing here waits for a timeout (a stopped server
    // refuses at once, and the cool-down makes later calls fail fast).
    o.connect_timeout = o.command_timeout = 500ms;
    o.key_prefix = "test:";
    o.metrics = &registry_;
    return o;
  }
  double requests(const std::string& result) {
    return registry_
        .counter_family("crest_cache_requests_total", "Cache lookups by outcome.",
                        {"cache", "result"})
        .with({"redis", result})
        .value();
  }

  std::filesystem::path dir_;
  std::unique_ptr<stack::RedisServer> server_;
  metrics::Registry registry_;
};

TEST_F(RedisTest, GetSetEraseTtlAndCounters) {
  RedisCache cache(options());
  EXPECT_FALSE(cache.get("k")->has_value());
  ASSERT_TRUE(cache.set("k", std::string("v\0w", 3), 0ms).ok());
  EXPECT_EQ(cache.get("k")->value(), std::string("v\0w", 3));  // binary-safe
  ASSERT_TRUE(cache.set("short", "x", 50ms).ok());
  EXPECT_TRUE(cache.get("short")->has_value());
  std::this_thread::sleep_for(120ms);  // Redis keeps its own time; nothing to inject
  EXPECT_FALSE(cache.get("short")->has_value());
  ASSERT_TRUE(cache.erase("k").ok());
  ASSERT_TRUE(cache.erase("k").ok());
  EXPECT_FALSE(cache.get("k")->has_value());
  EXPECT_EQ(requests("hit"), 2);
  EXPECT_EQ(requests("miss"), 3);
  EXPECT_EQ(requests("error"), 0);
  // Every command's round trip is timed: 5 GETs, 2 SETs, 2 DELs.
  const auto timed = registry_
                         .histogram_family("crest_cache_request_duration_seconds",
                                           "Time of one cache command's round trip.", {"cache"})
                         .with({"redis"})
                         .snapshot();
  EXPECT_EQ(timed.count, 9u);
  EXPECT_GT(timed.sum, 0.0);
  EXPECT_LT(timed.sum, 1.0);
}

TEST_F(RedisTest, DownMeansFailFastThenReconnects) {
  ManualClock clock;
  RedisCache cache(options(), clock);
  ASSERT_TRUE(cache.set("k", "v", 0ms).ok());
  server_->stop();
  auto failed = cache.get("k");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().kind, ErrorKind::unavailable);
  EXPECT_TRUE(cache.cooling_down());
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(cache.get("k").ok());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 50ms);  // no timeouts paid
  EXPECT_EQ(requests("error"), 101);

  ASSERT_TRUE(server_->start().ok());  // same port, empty (no persistence)
  EXPECT_FALSE(cache.get("k").ok());   // still cooling down
  clock.advance(1001ms);
  ASSERT_TRUE(cache.set("k", "v2", 0ms).ok());
  EXPECT_EQ(cache.get("k")->value_or(""), "v2");
}

TEST_F(RedisTest, CatalogReadsSurviveRedisOutageAndHitsResume) {
  auto db = SqliteDatabase::open(SqliteOptions{});
  ASSERT_TRUE(db.ok());
  auto inner = std::make_shared<SqlCatalogStore>(*db);
  const auto category = *inner->insert_category({0, "c", "C"});
  const auto id = *inner->insert_product(Product{0, category, "S", "Mug", "", 900, 3, 1, {}});
  auto o = options();
  o.cooldown = 200ms;
  auto cache = std::make_shared<RedisCache>(o);
  CachingCatalogStore catalog(inner, cache);

  int failed = 0;
  auto read_all = [&] {
    if (!catalog.product(id).ok() || !catalog.list_products(ProductQuery{}).ok() ||
        !catalog.categories().ok()) {
      ++failed;
    }
  };
  for (int i = 0; i < 10; ++i) {
    read_all();
  }
  const double hits_before = requests("hit");
  EXPECT_GT(hits_before, 20);

  server_->stop();
  const auto stopped = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) {
    read_all();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 2s);
  EXPECT_EQ(failed, 0);
  EXPECT_GT(requests("error"), 0);

  ASSERT_TRUE(server_->start().ok());
  std::this_thread::sleep_for(250ms);  // the cool-down, on the system clock here
  for (int i = 0; i < 10; ++i) {
    read_all();
  }
  EXPECT_EQ(failed, 0);
  EXPECT_GT(requests("hit"), hits_before + 20);  // cached again after the first misses
  EXPECT_EQ(catalog.product(id)->name, "Mug");
}

TEST(RedisUrl, SchemesCredentialsPortAndDatabase) {
  RedisCacheOptions o;
  ASSERT_TRUE(apply_redis_url("rediss://alice:p%40ss%3Aw%2Frd@cache.example.com:6380/2", o).ok());
  EXPECT_TRUE(o.tls);
  EXPECT_EQ(o.host, "cache.example.com");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(o.username, "alice");
  EXPECT_EQ(o.password, "p@ss:w/rd");
  EXPECT_EQ(o.database, 2);
  ASSERT_TRUE(apply_redis_url("redis://:only-password@10.0.0.5", o).ok());
  EXPECT_FALSE(o.tls);
  EXPECT_EQ(o.port, 6379);
  EXPECT_EQ(o.username, "");
  EXPECT_EQ(o.password, "only-password");
  EXPECT_EQ(o.database, 0);
  ASSERT_TRUE(apply_redis_url("redis://[::1]:6390", o).ok());  // crest::parse_host_port's rules
  EXPECT_EQ(o.host, "::1");
  EXPECT_EQ(o.port, 6390);
  ASSERT_TRUE(apply_redis_url("rediss://master.crest.cache.amazonaws.com:6379", o).ok());
  EXPECT_TRUE(o.tls);
  EXPECT_TRUE(o.password.empty());
  for (const char* bad : {"cache.example.com:6379", "http://h:1", "redis://", "redis://h:0",
                          "redis://h:70000", "redis://h:x", "redis://u:p%zz@h", "redis://h/db"}) {
    auto r = apply_redis_url(bad, o);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto masked = apply_redis_url("redis://u:topsecret@h:notaport", o);
  ASSERT_FALSE(masked.ok());
  EXPECT_EQ(masked.error().message.find("topsecret"), std::string::npos) << masked.error().message;
}

// redis-server with TLS only (port 0 turns plain TCP off), requirepass and an ACL user, with a
// certificate for "localhost" made by the openssl command for this run.
class RedisTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() /
           ("crest_redis_tls_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "ext") << "subjectAltName=DNS:localhost\n";
    const std::string script = fmt::format(
        "cd '{}' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-days 1 -subj /CN=crest-test-ca -keyout ca.key -out ca.pem && openssl req -newkey ec "
        "-pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -keyout server.key "
        "-out server.csr && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -days 1 -extfile ext -out server.crt",
        dir_.string());
    if (std::system((script + " >openssl.log 2>&1").c_str()) != 0) {
      setup_error_ = "openssl failed: see " + (dir_ / "openssl.log").string();
      return;
    }
    auto port = stack::free_loopback_port();
    auto redis = stack::find_program("redis-server");
    if (!port.ok() || !redis.ok()) {
      setup_error_ = "no free port or no redis-server";
      return;
    }
    port_ = *port;
    const auto file = [](const char* name) { return (dir_ / name).string(); };
    auto started = stack::spawn_and_wait({*redis,
                                          {"--port",
                                           "0",
                                           "--tls-port",
                                           std::to_string(port_),
                                           "--bind",
                                           "127.0.0.1",
                                           "--tls-cert-file",
                                           file("server.crt"),
                                           "--tls-key-file",
                                           file("server.key"),
                                           "--tls-ca-cert-file",
                                           file("ca.pem"),
                                           "--tls-auth-clients",
                                           "no",
                                           "--requirepass",
                                           "default-secret",
                                           "--user",
                                           "crest-app",
                                           "on",
                                           ">app-secret",
                                           "~crest:*",
                                           "+@all",
                                           "--save",
                                           "",
                                           "--appendonly",
                                           "no",
                                           "--dir",
                                           dir_.string(),
                                           "--daemonize",
                                           "no"},
                                          {},
                                          "",
                                          file("redis.log")},
                                         port_, std::chrono::seconds(5), "redis-server (TLS)");
    if (!started.ok()) {
      setup_error_ = started.error().message;
      return;
    }
    server_.emplace(std::move(started).value());
  }
  static void TearDownTestSuite() {
    if (server_) server_->stop(std::chrono::seconds(2));
    server_.reset();
    std::filesystem::remove_all(dir_);
  }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << setup_error_; }

  static RedisCacheOptions tls_options() {
    RedisCacheOptions o;
    o.host = "localhost";
    o.port = port_;
    o.tls = true;
    o.extra_ca_file = (dir_ / "ca.pem").string();
    o.connect_timeout = o.command_timeout = 2s;
    o.key_prefix = "crest:";
    return o;
  }

  static inline std::filesystem::path dir_;
  static inline std::uint16_t port_ = 0;
  static inline std::optional<stack::ChildProcess> server_;
  static inline std::string setup_error_;
};

TEST_F(RedisTlsTest, PasswordAndAclUserOverVerifiedTls) {
  auto by_password = tls_options();
  by_password.password = "default-secret";
  RedisCache cache(by_password);
  ASSERT_TRUE(cache.set("k", "over-tls", 0ms).ok());
  EXPECT_EQ(cache.get("k")->value(), "over-tls");

  auto by_user = tls_options();
  ASSERT_TRUE(
      apply_redis_url(fmt::format("rediss://crest-app:app-secret@localhost:{}", port_), by_user)
          .ok());
  RedisCache user_cache(by_user);
  auto seen = user_cache.get("k");
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->value(), "over-tls");
  ASSERT_TRUE(user_cache.set("k2", std::string(100'000, 'x'), 10s).ok());  // many TLS records
  EXPECT_EQ(user_cache.get("k2")->value().size(), 100'000u);
}

TEST_F(RedisTlsTest, WrongCredentialsAndMissingAuthAreRefused) {
  auto wrong = tls_options();
  wrong.username = "crest-app";
  wrong.password = "not-the-secret";
  RedisCache cache(wrong);
  auto refused = cache.get("k");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("AUTH"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("WRONGPASS"), std::string::npos)
      << refused.error().message;
  EXPECT_TRUE(cache.cooling_down());

  RedisCache anonymous(tls_options());
  auto noauth = anonymous.get("k");
  ASSERT_FALSE(noauth.ok());
  EXPECT_NE(noauth.error().message.find("NOAUTH"), std::string::npos) << noauth.error().message;
}

TEST_F(RedisTlsTest, CertificatesThatDoNotVerifyAreRefused) {
  // The certificate names localhost, not 127.0.0.1.
  auto by_ip = tls_options();
  by_ip.host = "127.0.0.1";
  by_ip.password = "default-secret";
  auto mismatch = RedisCache(by_ip).get("k");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("certificate verification failed"), std::string::npos)
      << mismatch.error().message;

  // The system store alone does not trust the test CA.
  auto untrusted = tls_options();
  untrusted.extra_ca_file.clear();
  untrusted.password = "default-secret";
  auto refused = RedisCache(untrusted).get("k");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("certificate verification failed"), std::string::npos)
      << refused.error().message;

  // Plain TCP to the TLS port fails within the timeouts instead of hanging.
  auto plain = tls_options();
  plain.tls = false;
  plain.connect_timeout = plain.command_timeout = 300ms;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(RedisCache(plain).get("k").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);
}

}  // namespace
}  // namespace crest::store
