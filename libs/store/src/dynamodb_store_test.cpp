// DynamoDB adapters against a real dynalite.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "cart_store_contract.hpp"
#include "crest/store/dynamodb.hpp"
#include "dynamodb_test_support.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;
using test_support::dynalite;
using test_support::dynamodb_client;

class DynamoDbStores : public ::testing::Test {
 protected:
  void SetUp() override {
    auto* server = dynalite();
    ASSERT_NE(server, nullptr);
    client_ = dynamodb_client(server->endpoint());
    ASSERT_NE(client_, nullptr);
    auto tables = ensure_tables(*client_);
    ASSERT_TRUE(tables.ok()) << tables.error().message;
  }
  std::shared_ptr<aws::DynamoDbClient> client_;
};

std::vector<CartLine> lines(std::initializer_list<CartLine> l) {
  return l;
}

TEST_F(DynamoDbStores, CartAddSetRemoveClear) {
  DynamoDbCartStore carts(client_);
  const std::int64_t user = 1001;
  ASSERT_TRUE(carts.clear(user).ok());
  auto empty = carts.get(user);
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty->lines.empty());

  auto added = carts.add_item(user, 7, 2);
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_EQ(added->lines, lines({{7, 2}}));
  added = carts.add_item(user, 7, 3);
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(added->lines, lines({{7, 5}}));
  added = carts.add_item(user, 3, 1);
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(added->lines, lines({{3, 1}, {7, 5}}));  // sorted by product

  auto set = carts.set_quantity(user, 7, 9);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->lines, lines({{3, 1}, {7, 9}}));
  set = carts.set_quantity(user, 3, 0);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->lines, lines({{7, 9}}));
  set = carts.set_quantity(user, 3, 0);  // already absent: still fine
  ASSERT_TRUE(set.ok());

  auto removed = carts.remove_item(user, 7);
  ASSERT_TRUE(removed.ok()) << removed.error().message;
  EXPECT_TRUE(removed->lines.empty());
  auto missing = carts.remove_item(user, 7);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);

  EXPECT_EQ(carts.add_item(user, 1, 0).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(carts.set_quantity(user, 1, -1).error().kind, ErrorKind::invalid_argument);

  ASSERT_TRUE(carts.add_item(user, 5, 1).ok());
  ASSERT_TRUE(carts.clear(user).ok());
  EXPECT_TRUE(carts.get(user)->lines.empty());
  ASSERT_TRUE(carts.clear(user).ok());  // clearing nothing succeeds
}

TEST_F(DynamoDbStores, ClaimsTakeExactlyTheLinesRead) {
  DynamoDbCartStore carts(client_);
  ASSERT_TRUE(carts.clear(2001).ok());
  contract::claims_take_exactly_the_lines_read(carts, 2001);
}

TEST_F(DynamoDbStores, ConcurrentClaimsOfOneCartMakeOneWinner) {
  DynamoDbCartStore carts(client_);
  ASSERT_TRUE(carts.clear(2002).ok());
  const auto endpoint = dynalite()->endpoint();
  contract::concurrent_claims_of_one_cart_make_one_winner(
      [&] { return std::make_unique<DynamoDbCartStore>(dynamodb_client(endpoint)); }, 2002);
}

TEST_F(DynamoDbStores, LineQuantityIsLimitedOnAdd) {
  DynamoDbCartStore carts(client_);
  ASSERT_TRUE(carts.clear(2003).ok());
  contract::line_quantity_is_limited_on_add(carts, 2003);
}

TEST_F(DynamoDbStores, SetQuantityOnAFreshCartCreatesTheLine) {
  DynamoDbCartStore carts(client_);
  const std::int64_t user = 1002;
  ASSERT_TRUE(carts.clear(user).ok());
  auto set = carts.set_quantity(user, 4, 6);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->lines, lines({{4, 6}}));
  ASSERT_TRUE(carts.set_quantity(1003, 4, 0).ok());  // no cart at all
}

// Eight threads with their own clients (like eight instances) add to a cart that does not exist
// yet, so they also race on creating the map. Every unit must be counted exactly once.
TEST_F(DynamoDbStores, ConcurrentAddsFromEightThreadsSumExactly) {
  const std::int64_t user = 2001;
  ASSERT_TRUE(DynamoDbCartStore(client_).clear(user).ok());
  constexpr int kThreads = 8;
  constexpr int kAdds = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      DynamoDbCartStore carts(dynamodb_client(dynalite()->endpoint()));
      for (int i = 0; i < kAdds; ++i) {
        if (!carts.add_item(user, 1, 1).ok()) ++failures;        // shared line
        if (!carts.add_item(user, 100 + t, 2).ok()) ++failures;  // own line
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  auto cart = DynamoDbCartStore(client_).get(user);
  ASSERT_TRUE(cart.ok());
  ASSERT_EQ(cart->lines.size(), static_cast<std::size_t>(kThreads + 1));
  EXPECT_EQ(cart->lines[0], (CartLine{1, kThreads * kAdds}));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(cart->lines[static_cast<std::size_t>(t) + 1], (CartLine{100 + t, 2 * kAdds}));
  }
}

TEST_F(DynamoDbStores, SessionsExpireByTheInjectedClock) {
  ManualClock clock;
  DynamoDbSessionStore sessions(client_, "crest_sessions", clock);
  const Session s{"tok-abc", 42, clock.wall_now() + 30min};
  ASSERT_TRUE(sessions.put(s).ok());
  auto got = sessions.get("tok-abc");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->user_id, 42);
  EXPECT_EQ(got->expires_at, s.expires_at);

  clock.advance(29min);
  EXPECT_TRUE(sessions.get("tok-abc").ok());
  clock.advance(1min);
  auto expired = sessions.get("tok-abc");
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().kind, ErrorKind::not_found);

  EXPECT_EQ(sessions.get("nope").error().kind, ErrorKind::not_found);
  ASSERT_TRUE(sessions.put(Session{"tok-2", 7, clock.wall_now() + 1h}).ok());
  ASSERT_TRUE(sessions.erase("tok-2").ok());
  EXPECT_EQ(sessions.get("tok-2").error().kind, ErrorKind::not_found);
  EXPECT_TRUE(sessions.erase("tok-2").ok());  // idempotent
  EXPECT_EQ(sessions.put(Session{"", 1, clock.wall_now()}).error().kind,
            ErrorKind::invalid_argument);
}

TEST_F(DynamoDbStores, EnsureTablesIsIdempotent) {
  ASSERT_TRUE(ensure_tables(*client_).ok());
  auto status = client_->describe_table("crest_carts");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status.value(), "ACTIVE");
  auto missing = client_->describe_table("no_such_table");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
}

}  // namespace
}  // namespace crest::store
