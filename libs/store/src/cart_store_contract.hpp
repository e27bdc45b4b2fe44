#pragma once
// One test body for every CartStore adapter (SQLite, DynamoDB): the checkout's per-line
// compare-and-delete, claims, and the per-line quantity limit.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "crest/store/cart_store.hpp"

namespace crest::store::contract {

inline std::vector<CartLine> lines_of(CartStore& carts, std::int64_t user) {
  auto cart = carts.get(user);
  EXPECT_TRUE(cart.ok()) << cart.error().message;
  return cart.ok() ? cart->lines : std::vector<CartLine>{};
}

// `user` must have no cart yet.
inline void claims_take_exactly_the_lines_read(CartStore& carts, std::int64_t user) {
  using L = std::vector<CartLine>;
  const auto t0 = WallTime(std::chrono::seconds(1000));
  ASSERT_TRUE(carts.add_item(user, 1, 2).ok());
  ASSERT_TRUE(carts.add_item(user, 2, 1).ok());
  const L read = lines_of(carts, user);
  // Meanwhile: line 1 raised by 3, line 3 added. Both stay after the claim.
  ASSERT_TRUE(carts.add_item(user, 1, 3).ok());
  ASSERT_TRUE(carts.add_item(user, 3, 4).ok());
  ASSERT_TRUE(carts.claim_lines(user, "k1", read, t0).ok());
  EXPECT_EQ(lines_of(carts, user), (L{{1, 3}, {3, 4}}));
  auto claims = carts.claims(user);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  ASSERT_EQ(claims->size(), 1u);
  EXPECT_EQ(claims->front().idempotency_key, "k1");
  EXPECT_EQ(claims->front().lines, read);
  EXPECT_EQ(claims->front().claimed_at, t0);

  // A second checkout that read the same lines: line 2 is gone, so nothing moves.
  const auto again = carts.claim_lines(user, "k2", read, t0);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::conflict);
  EXPECT_EQ(lines_of(carts, user), (L{{1, 3}, {3, 4}}));
  // The same key cannot claim twice.
  EXPECT_EQ(carts.claim_lines(user, "k1", L{{3, 1}}, t0).error().kind, ErrorKind::conflict);

  // Returned: the lines come back, added to what is there.
  ASSERT_TRUE(carts.return_claim(user, "k1").ok());
  EXPECT_EQ(lines_of(carts, user), (L{{1, 5}, {2, 1}, {3, 4}}));
  EXPECT_TRUE(carts.claims(user)->empty());
  EXPECT_EQ(carts.return_claim(user, "k1").error().kind, ErrorKind::not_found);

  // Dropped: the lines stay out of the cart.
  ASSERT_TRUE(carts.claim_lines(user, "k3", L{{1, 5}, {2, 1}, {3, 4}}, t0).ok());
  EXPECT_TRUE(lines_of(carts, user).empty());
  ASSERT_TRUE(carts.drop_claim(user, "k3").ok());
  ASSERT_TRUE(carts.drop_claim(user, "k3").ok());
  EXPECT_TRUE(carts.claims(user)->empty());
  EXPECT_TRUE(lines_of(carts, user).empty());
  EXPECT_EQ(carts.claim_lines(user, "k4", L{}, t0).error().kind, ErrorKind::invalid_argument);
}

// `make` builds a store for one thread (adapters may not be shareable); `user` has no cart.
template <typename MakeStore>
void concurrent_claims_of_one_cart_make_one_winner(MakeStore make, std::int64_t user) {
  auto carts = make();
  ASSERT_TRUE(carts->add_item(user, 1, 1).ok());
  ASSERT_TRUE(carts->add_item(user, 2, 2).ok());
  const auto read = lines_of(*carts, user);
  std::atomic<int> won{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto mine = make();
      auto claimed = mine->claim_lines(user, "tab-" + std::to_string(t), read,
                                       WallTime(std::chrono::seconds(1)));
      if (claimed.ok()) {
        ++won;
      } else if (claimed.error().kind == ErrorKind::conflict) {
        ++conflicts;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(conflicts.load(), 3);
  EXPECT_TRUE(lines_of(*carts, user).empty());
  EXPECT_EQ(carts->claims(user)->size(), 1u);
}

inline void line_quantity_is_limited_on_add(CartStore& carts, std::int64_t user) {
  ASSERT_TRUE(carts.add_item(user, 1, 60, 99).ok());
  auto over = carts.add_item(user, 1, 40, 99);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::conflict);
  EXPECT_EQ(lines_of(carts, user), (std::vector<CartLine>{{1, 60}}));
  ASSERT_TRUE(carts.add_item(user, 1, 39, 99).ok());
  EXPECT_EQ(lines_of(carts, user), (std::vector<CartLine>{{1, 99}}));
  EXPECT_EQ(carts.add_item(user, 2, 100, 99).error().kind, ErrorKind::conflict);
}

}  // namespace crest::store::contract
