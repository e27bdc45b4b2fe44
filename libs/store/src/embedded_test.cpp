#include "crest/store/embedded.hpp"

#include <gtest/gtest.h>

namespace crest::store {
namespace {

using namespace std::chrono_literals;

TEST(EmbeddedStoresTest, OpensEveryStoreAndWiresTheDeadLetterQueue) {
  ManualClock clock;
  EmbeddedOptions options;
  options.clock = &clock;
  options.max_receive_count = 1;
  auto stores = open_embedded_stores(options);
  ASSERT_TRUE(stores.ok()) << stores.error().message;
  auto& s = *stores;
  const auto category = s.catalog->insert_category({0, "c", "C"});
  ASSERT_TRUE(category.ok());
  ASSERT_TRUE(s.catalog->insert_product(Product{0, *category, "S", "N", "", 1, 1, 1, {}}).ok());
  ASSERT_TRUE(s.users->create_user("a@b.c", "A", "h").ok());
  ASSERT_TRUE(s.carts->add_item(1, 1, 1).ok());
  ASSERT_TRUE(s.orders->create_order(NewOrder{1, "k", {{1, 1, 1}}, 1, {}}).ok());
  ASSERT_TRUE(s.cache->set("k", "v", 0ms).ok());

  ASSERT_TRUE(s.orders_queue->send("m").ok());
  ASSERT_EQ(s.orders_queue->receive({1, 0ms, 1s})->size(), 1u);
  clock.advance(1s);
  EXPECT_TRUE(s.orders_queue->receive({1, 0ms, 1s})->empty());
  EXPECT_EQ(s.orders_dlq->receive({1, 0ms, 1s})->size(), 1u);
}

}  // namespace
}  // namespace crest::store
