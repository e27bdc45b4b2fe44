// The storefront in the 'all' role over real HTTP: the shopper's whole journey, every kind of
// bad input, isolation between users, and a graceful drain on SIGTERM.
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crest/http/client.hpp"
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

class Api {
 public:
  explicit Api(std::uint16_t port) : client_("127.0.0.1", port) {}

  Reply call(const std::string& method, const std::string& target, const std::string& body = "",
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::ClientRequest request{method, target, {}, body};
    if (!body.empty()) request.headers.set("Content-Type", "application/json");
    if (!token.empty()) request.headers.set("Authorization", "Bearer " + token);
    for (auto& [name, value] : headers) request.headers.set(name, value);
    auto response = client_.send(request);
    if (!response.ok()) throw std::runtime_error(response.error().message);
    Reply reply{response->status, json::parse(response->body, nullptr, false), response->headers};
    return reply;
  }
  Reply get(const std::string& target) { return call("GET", target); }
  Reply post(const std::string& target, const json& body) {
    return call("POST", target, body.dump());
  }

  void register_and_login(const std::string& email) {
    const auto created =
        post("/api/users", {{"email", email}, {"password", "correct-horse"}, {"name", "Test"}});
    ASSERT_EQ(created.status, 201) << created.body;
    const auto login = post("/api/login", {{"email", email}, {"password", "correct-horse"}});
    ASSERT_EQ(login.status, 200) << login.body;
    token = login.body["token"];
  }

  std::string token;

 private:
  http::HttpClient client_;
};

// Fast password hashing keeps the suite quick; the drain test uses slow hashing on purpose.
const std::vector<std::string> kFastArgs = {"all",        "--seed",
                                            "--users",    "2",
                                            "--products", "30",
                                            "--set",      "auth.argon2_ops=1",
                                            "--set",      "auth.argon2_memory_kib=64",
                                            "--set",      "payment.latency=0ms",
                                            "--set",      "http.body_limit=4096",
                                            "--set",      "log.level=warn"};

class StorefrontApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new StorefrontProcess(kFastArgs); }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0) << server_->log();
    delete server_;
  }
  // Fails the test if any request so far was answered with a 5xx.
  void TearDown() override {
    Api api(server_->port());
    http::HttpClient client("127.0.0.1", server_->port());
    const auto metrics = client.send({"GET", "/metrics", {}, ""});
    ASSERT_TRUE(metrics.ok());
    EXPECT_EQ(metrics->body.find("http_response_status_code=\"5"), std::string::npos)
        << "a request got a 5xx; log:\n"
        << server_->log();
  }
  static StorefrontProcess* server_;
};

StorefrontProcess* StorefrontApi::server_ = nullptr;

TEST_F(StorefrontApi, ShopperJourneyFromRegistrationToConfirmedOrder) {
  Api api(server_->port());
  api.register_and_login("journey@example.test");
  EXPECT_EQ(api.get("/api/me").body["email"], "journey@example.test");

  const auto categories = api.get("/api/categories");
  ASSERT_EQ(categories.status, 200);
  ASSERT_FALSE(categories.body["items"].empty());
  const auto any = api.get("/api/products?page_size=1");
  ASSERT_EQ(any.body["items"].size(), 1U);
  const auto category = any.body["items"][0]["category_id"].get<int>();
  const auto listed =
      api.get("/api/products?category=" + std::to_string(category) + "&sort=price_asc&page_size=5");
  ASSERT_EQ(listed.status, 200);
  ASSERT_FALSE(listed.body["items"].empty());
  for (const auto& item : listed.body["items"]) EXPECT_EQ(item["category_id"], category);
  const auto product_id = listed.body["items"][0]["id"].get<int>();
  const auto product = api.get("/api/products/" + std::to_string(product_id));
  ASSERT_EQ(product.status, 200);
  const auto stock_before = product.body["stock"].get<int>();
  const auto price = product.body["price_cents"].get<int>();

  EXPECT_EQ(api.post("/api/cart/items", {{"product_id", product_id}, {"quantity", 1}}).status, 201);
  const auto updated =
      api.call("PUT", "/api/cart/items/" + std::to_string(product_id), R"({"quantity":3})");
  ASSERT_EQ(updated.status, 200);
  EXPECT_EQ(updated.body["items"][0]["quantity"], 3);
  EXPECT_EQ(updated.body["total_cents"], 3 * price);

  const auto checkout = api.call("POST", "/api/checkout", "", {{"Idempotency-Key", "journey-1"}});
  ASSERT_EQ(checkout.status, 202) << checkout.body;
  const auto order_id = checkout.body["order_id"].get<int>();
  EXPECT_EQ(checkout.headers.get("Location").value_or(""),
            "/api/orders/" + std::to_string(order_id));
  EXPECT_EQ(api.get("/api/cart").body["items"].size(), 0U);

  // A retried checkout with the same key is the same order, not a second one.
  const auto retry = api.call("POST", "/api/checkout", "", {{"Idempotency-Key", "journey-1"}});
  EXPECT_EQ(retry.status, 202);
  EXPECT_EQ(retry.body["order_id"], order_id);

  std::string status;
  for (int i = 0; i < 200 && status != "confirmed"; ++i) {
    status = api.get("/api/orders/" + std::to_string(order_id)).body["status"];
    std::this_thread::sleep_for(25ms);
  }
  EXPECT_EQ(status, "confirmed");
  const auto orders = api.get("/api/orders");
  ASSERT_EQ(orders.body["items"].size(), 1U);
  EXPECT_EQ(orders.body["items"][0]["total_cents"], 3 * price);
  EXPECT_EQ(api.get("/api/products/" + std::to_string(product_id)).body["stock"], stock_before - 3);

  EXPECT_EQ(api.call("POST", "/api/logout").status, 204);
  EXPECT_EQ(api.get("/api/me").status, 401);
}

TEST_F(StorefrontApi, SessionCookieWorksLikeTheBearerToken) {
  Api api(server_->port());
  api.register_and_login("cookie@example.test");
  const std::string token = api.token;
  api.token.clear();
  const auto me = api.call("GET", "/api/me", "", {{"Cookie", "theme=dark; session=" + token}});
  EXPECT_EQ(me.status, 200);
  EXPECT_EQ(me.body["email"], "cookie@example.test");
}

TEST_F(StorefrontApi, UsersCannotSeeEachOthersCartsOrOrders) {
  Api alice(server_->port());
  Api bob(server_->port());
  alice.register_and_login("alice@example.test");
  bob.register_and_login("bob@example.test");
  ASSERT_EQ(alice.post("/api/cart/items", {{"product_id", 2}, {"quantity", 1}}).status, 201);
  EXPECT_EQ(bob.get("/api/cart").body["items"].size(), 0U);
  const auto order = alice.call("POST", "/api/checkout", "", {{"Idempotency-Key", "a-1"}});
  ASSERT_EQ(order.status, 202);
  const auto id = std::to_string(order.body["order_id"].get<int>());
  EXPECT_EQ(bob.get("/api/orders/" + id).status, 404);
  EXPECT_EQ(bob.get("/api/orders").body["items"].size(), 0U);
  EXPECT_EQ(alice.get("/api/orders/" + id).status, 200);
  // The same idempotency key from another user is another order.
  ASSERT_EQ(bob.post("/api/cart/items", {{"product_id", 2}, {"quantity", 1}}).status, 201);
  const auto bobs = bob.call("POST", "/api/checkout", "", {{"Idempotency-Key", "a-1"}});
  ASSERT_EQ(bobs.status, 202);
  EXPECT_NE(bobs.body["order_id"], order.body["order_id"]);
}

struct BadCase {
  std::string name, method, target, body;
  int status;
  std::string code;
  bool signed_in = true;
  std::vector<std::pair<std::string, std::string>> headers = {};
};

TEST_F(StorefrontApi, ConcurrentCheckoutsOfOneCartMakeOneOrder) {
  Api setup(server_->port());
  setup.register_and_login("two-tabs@example.test");
  const std::string token = setup.token;
  for (int trial = 0; trial < 10; ++trial) {
    ASSERT_EQ(
        setup.post("/api/cart/items", {{"product_id", 1 + trial % 5}, {"quantity", 1}}).status,
        201);
    ASSERT_EQ(setup.post("/api/cart/items", {{"product_id", 6}, {"quantity", 2}}).status, 201);
    std::vector<std::future<Reply>> tabs;
    for (int tab = 0; tab < 3; ++tab) {
      tabs.push_back(std::async(std::launch::async, [&, tab] {
        Api api(server_->port());
        api.token = token;
        return api.call(
            "POST", "/api/checkout", "",
            {{"Idempotency-Key", "tab-" + std::to_string(trial) + "-" + std::to_string(tab)}});
      }));
    }
    int orders = 0;
    for (auto& tab : tabs) {
      const auto reply = tab.get();
      if (reply.status == 202) {
        ++orders;
        EXPECT_EQ(reply.body["total_cents"].get<long>() > 0, true);
      } else {
        EXPECT_TRUE((reply.status == 409 && reply.body["error"]["code"] == "cart_changed") ||
                    (reply.status == 400 && reply.body["error"]["code"] == "empty_cart"))
            << reply.status << " " << reply.body;
      }
    }
    EXPECT_EQ(orders, 1) << "trial " << trial;
    EXPECT_TRUE(setup.get("/api/cart").body["items"].empty());
  }
  EXPECT_EQ(setup.get("/api/orders?limit=100").body["items"].size(), 10U);
}

TEST_F(StorefrontApi, ALineAddedDuringCheckoutStaysInTheCart) {
  Api api(server_->port());
  api.register_and_login("added-meanwhile@example.test");
  // Racing adds against checkouts: whatever was added and not ordered is still in the cart.
  int ordered_units = 0;
  int added_units = 0;
  for (int trial = 0; trial < 10; ++trial) {
    ASSERT_EQ(api.post("/api/cart/items", {{"product_id", 7}, {"quantity", 1}}).status, 201);
    ++added_units;
    auto adder = std::async(std::launch::async, [&, token = api.token] {
      Api other(server_->port());
      other.token = token;
      return other.post("/api/cart/items", {{"product_id", 8}, {"quantity", 1}}).status;
    });
    const auto checkout = api.call("POST", "/api/checkout", "",
                                   {{"Idempotency-Key", "meanwhile-" + std::to_string(trial)}});
    EXPECT_EQ(adder.get(), 201);
    ++added_units;
    ASSERT_EQ(checkout.status, 202) << checkout.body;
  }
  // Named replies: a range-for over a member of a temporary would dangle.
  const auto orders = api.get("/api/orders?limit=100");
  for (const auto& order : orders.body["items"]) {
    for (const auto& line : order["lines"]) ordered_units += line["quantity"].get<int>();
  }
  const auto cart = api.get("/api/cart");
  int cart_units = 0;
  for (const auto& line : cart.body["items"]) cart_units += line["quantity"].get<int>();
  EXPECT_EQ(ordered_units + cart_units, added_units);
}

TEST_F(StorefrontApi, IdempotencyKeyIsFingerprintedByTheOrderedLines) {
  Api api(server_->port());
  api.register_and_login("fingerprint@example.test");
  ASSERT_EQ(api.post("/api/cart/items", {{"product_id", 3}, {"quantity", 2}}).status, 201);
  const auto first = api.call("POST", "/api/checkout", "", {{"Idempotency-Key", "fp-1"}});
  ASSERT_EQ(first.status, 202) << first.body;
  const auto order_id = first.body["order_id"];
  // Retry with the cart emptied: the same order.
  const auto retry = api.call("POST", "/api/checkout", "", {{"Idempotency-Key", "fp-1"}});
  EXPECT_EQ(retry.body["order_id"], order_id);
  // Retry with exactly the same lines back in the cart: still the same order, lines untouched.
  ASSERT_EQ(api.post("/api/cart/items", {{"product_id", 3}, {"quantity", 2}}).status, 201);
  const auto same = api.call("POST", "/api/checkout", "", {{"Idempotency-Key", "fp-1"}});
  EXPECT_EQ(same.body["order_id"], order_id);
  EXPECT_EQ(api.get("/api/cart").body["items"].size(), 1U);
  // A different cart under the old key: 422 naming the original order; the cart stays.
  ASSERT_EQ(api.post("/api/cart/items", {{"product_id", 4}, {"quantity", 1}}).status, 201);
  const auto reused = api.call("POST", "/api/checkout", "", {{"Idempotency-Key", "fp-1"}});
  EXPECT_EQ(reused.status, 422) << reused.body;
  EXPECT_EQ(reused.body["error"]["code"], "idempotency_key_reused");
  EXPECT_EQ(reused.body["error"]["order_id"], order_id);
  EXPECT_EQ(api.get("/api/cart").body["items"].size(), 2U);
  EXPECT_EQ(api.get("/api/orders").body["items"].size(), 1U);
}

TEST_F(StorefrontApi, LineQuantityLimitHoldsOnRepeatedAdds) {
  Api api(server_->port());
  api.register_and_login("limit@example.test");
  for (int i = 0; i < 3; ++i) {
    const auto added = api.post("/api/cart/items", {{"product_id", 5}, {"quantity", 40}});
    EXPECT_EQ(added.status, i < 2 ? 201 : 400) << added.body;
    if (i == 2) {
      EXPECT_EQ(added.body["error"]["code"], "quantity_limit");
    }
  }
  EXPECT_EQ(api.get("/api/cart").body["items"][0]["quantity"], 80);
  EXPECT_EQ(api.post("/api/cart/items", {{"product_id", 5}, {"quantity", 19}}).status, 201);
  EXPECT_EQ(api.get("/api/cart").body["items"][0]["quantity"], 99);
}

// checkout: sync answers in the same shape as the outbox mode, with 201 once processed.
TEST(StorefrontSyncCheckout, SameResponseShapeAsTheOutboxMode) {
  auto args = kFastArgs;
  args.insert(args.end(), {"--set", "checkout=sync"});
  StorefrontProcess server(args);
  Api api(server.port());
  api.register_and_login("sync@example.test");
  ASSERT_EQ(api.post("/api/cart/items", {{"product_id", 2}, {"quantity", 1}}).status, 201);
  const auto checkout = api.call("POST", "/api/checkout", "", {{"Idempotency-Key", "sync-1"}});
  ASSERT_EQ(checkout.status, 201) << checkout.body;
  EXPECT_TRUE(checkout.body["order_id"].is_number_integer()) << checkout.body;
  EXPECT_EQ(checkout.body["status"], "confirmed");
  EXPECT_TRUE(checkout.body["total_cents"].is_number_integer());
  EXPECT_FALSE(checkout.body.contains("id"));
  EXPECT_EQ(checkout.headers.get("Location").value_or(""),
            "/api/orders/" + std::to_string(checkout.body["order_id"].get<long>()));
}

TEST_F(StorefrontApi, NamesAreCountedInCharactersAndCookiesAreHardened) {
  Api api(server_->port());
  std::string name;
  for (int i = 0; i < 100; ++i) name += "\u00e9";  // 100 characters, 200 bytes
  const auto created =
      api.post("/api/users",
               {{"email", "accents@example.test"}, {"password", "pässwörd-ñ"}, {"name", name}});
  EXPECT_EQ(created.status, 201) << created.body;
  const auto login =
      api.post("/api/login", {{"email", "accents@example.test"}, {"password", "pässwörd-ñ"}});
  ASSERT_EQ(login.status, 200) << login.body;
  const std::string cookie(login.headers.get("Set-Cookie").value_or(""));
  for (const char* attribute : {"; HttpOnly", "; SameSite=Lax", "; Secure"}) {
    EXPECT_NE(cookie.find(attribute), std::string::npos) << attribute << " missing: " << cookie;
  }
  // The cookie alone may change things only as JSON.
  const std::string token = login.body["token"];
  const auto added = api.call("POST", "/api/cart/items", R"({"product_id":1,"quantity":1})",
                              {{"Cookie", "session=" + token}});
  EXPECT_EQ(added.status, 201) << added.body;
}

TEST_F(StorefrontApi, FailedLoginsAreThrottledPerAccount) {
  Api api(server_->port());
  api.register_and_login("guessed@example.test");
  api.token.clear();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(api.post("/api/login", {{"email", "guessed@example.test"},
                                      {"password", "guess-" + std::to_string(i)}})
                  .status,
              401);
  }
  const auto refused =
      api.post("/api/login", {{"email", "Guessed@example.test"}, {"password", "correct-horse"}});
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.body["error"]["code"], "rate_limited");
  EXPECT_GE(std::stoi(std::string(refused.headers.get("Retry-After").value_or("0"))), 1);
  // Another account from the same address is not affected.
  api.register_and_login("unguessed@example.test");
}

TEST_F(StorefrontApi, BadInputGetsA4xxNamingTheProblem) {
  Api api(server_->port());
  api.register_and_login("bad-input@example.test");
  const std::vector<BadCase> cases = {
      {"malformed json", "POST", "/api/users", "{\"email\": ", 400, "malformed_json", false},
      {"json not an object", "POST", "/api/login", "[1,2]", 400, "malformed_json", false},
      {"missing field", "POST", "/api/users", R"({"email":"x@y.z","name":"n"})", 400,
       "missing_field", false},
      {"wrong type", "POST", "/api/users", R"({"email":"x@y.z","password":12345678,"name":"n"})",
       400, "invalid_field", false},
      {"not an email", "POST", "/api/users", R"({"email":"nope","password":"12345678","name":"n"})",
       400, "invalid_field", false},
      {"short password", "POST", "/api/users", R"({"email":"a@b.c","password":"short","name":"n"})",
       400, "invalid_field", false},
      {"duplicate email", "POST", "/api/users",
       R"({"email":"BAD-INPUT@example.test","password":"not-common-9","name":"n"})", 409,
       "conflict", false},
      {"common password", "POST", "/api/users",
       R"({"email":"common@example.test","password":"Password123","name":"n"})", 400,
       "invalid_field", false},
      {"password of 129 characters", "POST", "/api/users",
       R"({"email":"long@example.test","password":")" + std::string(129, 'p') + R"(","name":"n"})",
       400, "invalid_field", false},
      {"NUL in name", "POST", "/api/users",
       R"({"email":"nul@example.test","password":"not-common-9","name":"a\u0000b"})", 400,
       "invalid_field", false},
      {"newline in e-mail", "POST", "/api/users",
       R"({"email":"a\nb@example.test","password":"not-common-9","name":"n"})", 400,
       "invalid_field", false},
      {"C1 control in name", "POST", "/api/users",
       R"({"email":"c1@example.test","password":"not-common-9","name":"a\u0085b"})", 400,
       "invalid_field", false},
      {"name of 101 characters", "POST", "/api/users",
       R"({"email":"n101@example.test","password":"not-common-9","name":")" +
           std::string(101, 'n') + R"("})",
       400, "invalid_field", false},
      {"cookie-signed form post",
       "POST",
       "/api/cart/items",
       "product_id=1&quantity=1",
       403,
       "csrf_rejected",
       false,
       {{"Cookie", "session=whatever"}, {"Content-Type", "application/x-www-form-urlencoded"}}},
      {"wrong password", "POST", "/api/login",
       R"({"email":"bad-input@example.test","password":"wrong-one"})", 401, "unauthorized", false},
      {"unknown user", "POST", "/api/login",
       R"({"email":"ghost@example.test","password":"whatever1"})", 401, "unauthorized", false},
      {"oversized body", "POST", "/api/users", "{\"name\":\"" + std::string(8000, 'x') + "\"}", 413,
       "payload_too_large", false},
      {"unknown route", "GET", "/api/nothing", "", 404, "route_not_found", false},
      {"wrong method", "DELETE", "/api/products", "", 405, "method_not_allowed", false},
      {"non-numeric id", "GET", "/api/products/abc", "", 400, "invalid_id", false},
      {"zero id", "GET", "/api/products/0", "", 400, "invalid_id", false},
      {"huge id", "GET", "/api/products/99999999999999999999999", "", 400, "invalid_id", false},
      {"missing product", "GET", "/api/products/999999", "", 404, "not_found", false},
      {"bad sort", "GET", "/api/products?sort=random", "", 400, "invalid_query", false},
      {"bad page size", "GET", "/api/products?page_size=1000", "", 400, "invalid_query", false},
      {"bad category", "GET", "/api/products?category=x", "", 400, "invalid_id", false},
      {"cart without session", "GET", "/api/cart", "", 401, "unauthorized", false},
      {"me without session", "GET", "/api/me", "", 401, "unauthorized", false},
      {"forged token",
       "GET",
       "/api/cart",
       "",
       401,
       "unauthorized",
       false,
       {{"Authorization", "Bearer 00000000000000000000000000000000"}}},
      {"quantity zero", "POST", "/api/cart/items", R"({"product_id":1,"quantity":0})", 400,
       "invalid_field"},
      {"quantity too large", "POST", "/api/cart/items", R"({"product_id":1,"quantity":1000})", 400,
       "invalid_field"},
      {"quantity as string", "POST", "/api/cart/items", R"({"product_id":1,"quantity":"2"})", 400,
       "invalid_field"},
      {"unknown product in cart", "POST", "/api/cart/items",
       R"({"product_id":999999,"quantity":1})", 404, "not_found"},
      {"remove absent line", "DELETE", "/api/cart/items/7", "", 404, "not_found"},
      {"checkout without key", "POST", "/api/checkout", "", 400, "missing_idempotency_key"},
      {"checkout empty cart",
       "POST",
       "/api/checkout",
       "",
       400,
       "empty_cart",
       true,
       {{"Idempotency-Key", "empty-1"}}},
      {"someone's order id", "GET", "/api/orders/999999", "", 404, "not_found"},
      {"bad order id", "GET", "/api/orders/-4", "", 400, "invalid_id"},
  };
  for (const auto& c : cases) {
    const std::string token = api.token;
    if (!c.signed_in) api.token.clear();
    const auto reply = api.call(c.method, c.target, c.body, c.headers);
    api.token = token;
    EXPECT_EQ(reply.status, c.status) << c.name << ": " << reply.body;
    ASSERT_TRUE(reply.body.is_object()) << c.name;
    EXPECT_EQ(reply.body["error"]["code"], c.code) << c.name << ": " << reply.body;
    EXPECT_FALSE(reply.body["error"]["message"].get<std::string>().empty()) << c.name;
  }
}

TEST_F(StorefrontApi, MetricsAndHealthEndpoints) {
  Api api(server_->port());
  EXPECT_EQ(api.get("/healthz").status, 200);
  EXPECT_EQ(api.get("/readyz").status, 200);
  http::HttpClient client("127.0.0.1", server_->port());
  const auto metrics = client.send({"GET", "/metrics", {}, ""});
  ASSERT_TRUE(metrics.ok());
  for (const char* name : {"http_server_request_duration_seconds_bucket",
                           "process_cpu_seconds_total", "process_resident_memory_bytes",
                           "crest_db_query_duration_seconds_bucket", "crest_build_info"}) {
    EXPECT_NE(metrics->body.find(name), std::string::npos) << name;
  }
}

TEST(StorefrontDrain, SigtermLetsInFlightRequestsFinishThenExitsZero) {
  // Slow password hashing makes each login take a few hundred milliseconds: real work in flight.
  StorefrontProcess server({"all", "--seed", "--users", "1", "--products", "1", "--set",
                            "auth.argon2_ops=8", "--set", "auth.argon2_memory_kib=65536", "--set",
                            "http.drain_grace=20s", "--users-csv", "/dev/null"});
  Api setup(server.port());
  setup.register_and_login("drain@example.test");
  std::vector<std::future<int>> logins;
  for (int i = 0; i < 4; ++i) {
    logins.push_back(std::async(std::launch::async, [port = server.port()] {
      Api api(port);
      return api
          .post("/api/login", {{"email", "drain@example.test"}, {"password", "correct-horse"}})
          .status;
    }));
  }
  std::this_thread::sleep_for(150ms);
  ::kill(server.pid(), SIGTERM);
  for (auto& login : logins) EXPECT_EQ(login.get(), 200);
  EXPECT_EQ(server.stop(SIGTERM, std::chrono::seconds(20)), 0) << server.log();
  EXPECT_NE(server.log().find("\"msg\":\"drained\""), std::string::npos) << server.log();
}

}  // namespace
}  // namespace crest::testing
