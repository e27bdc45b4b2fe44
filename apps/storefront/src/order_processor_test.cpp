#include "order_processor.hpp"

#include <future>

#include "test_shop.hpp"

namespace crest::storefront {
namespace {

const auto kNoop = [] {};

TEST(OrderProcessor, ConfirmsAnOrderAndReservesStockOnce) {
  TestShop t;
  const auto product = t.add_product(10);
  const auto order = t.place_order(1, product, 3, "k1");
  OrderProcessor processor(t.shop, PaymentSimulator(std::chrono::milliseconds(0), 0.0));
  EXPECT_EQ(processor.process(order, kNoop), ProcessOutcome::confirmed);
  EXPECT_EQ(t.stores.orders->order(order).value().status, store::OrderStatus::confirmed);
  EXPECT_EQ(t.stores.catalog->product(product).value().stock, 7);
  // Redelivery of the same message changes nothing.
  EXPECT_EQ(processor.process_message(R"({"order_id":)" + std::to_string(order) + "}", kNoop),
            ProcessOutcome::already_done);
  EXPECT_EQ(t.stores.catalog->product(product).value().stock, 7);
}

TEST(OrderProcessor, StockNeverGoesNegative) {
  TestShop t;
  const auto product = t.add_product(5);
  OrderProcessor processor(t.shop, PaymentSimulator(std::chrono::milliseconds(0), 0.0));
  std::vector<std::int64_t> orders;
  for (int i = 0; i < 8; ++i) orders.push_back(t.place_order(i + 1, product, 1, "k"));
  std::vector<std::future<ProcessOutcome>> results;
  for (auto id : orders) {
    results.push_back(
        std::async(std::launch::async, [&processor, id] { return processor.process(id, kNoop); }));
  }
  int confirmed = 0;
  int failed = 0;
  for (auto& r : results) {
    const auto outcome = r.get();
    confirmed += outcome == ProcessOutcome::confirmed;
    failed += outcome == ProcessOutcome::failed;
  }
  EXPECT_EQ(confirmed, 5);
  EXPECT_EQ(failed, 3);
  EXPECT_EQ(t.stores.catalog->product(product).value().stock, 0);
}

TEST(OrderProcessor, DeclinedPaymentFailsTheOrderAndReturnsStock) {
  TestShop t;
  const auto product = t.add_product(10);
  const auto order = t.place_order(1, product, 4, "k1");
  OrderProcessor processor(t.shop, PaymentSimulator(std::chrono::milliseconds(0), 1.0));
  EXPECT_EQ(processor.process(order, kNoop), ProcessOutcome::failed);
  const auto stored = t.stores.orders->order(order).value();
  EXPECT_EQ(stored.status, store::OrderStatus::failed);
  EXPECT_EQ(stored.failure_reason, "payment declined");
  EXPECT_EQ(t.stores.catalog->product(product).value().stock, 10);
}

TEST(OrderProcessor, OutOfStockFailsWithReason) {
  TestShop t;
  const auto product = t.add_product(1);
  const auto order = t.place_order(1, product, 2, "k1");
  OrderProcessor processor(t.shop, PaymentSimulator(std::chrono::milliseconds(0), 0.0));
  EXPECT_EQ(processor.process(order, kNoop), ProcessOutcome::failed);
  EXPECT_EQ(t.stores.orders->order(order).value().failure_reason.rfind("out of stock", 0), 0U);
  EXPECT_EQ(t.stores.catalog->product(product).value().stock, 1);
}

TEST(OrderProcessor, PoisonMessagesAreRecognised) {
  TestShop t;
  OrderProcessor processor(t.shop, PaymentSimulator(std::chrono::milliseconds(0), 0.0));
  EXPECT_EQ(processor.process_message("not json", kNoop), ProcessOutcome::poison);
  EXPECT_EQ(processor.process_message(R"({"order_id":"7"})", kNoop), ProcessOutcome::poison);
  EXPECT_EQ(processor.process_message(R"({"order_id":999})", kNoop), ProcessOutcome::poison);
}

TEST(PaymentSimulator, DeclinesTheConfiguredShareDeterministically) {
  PaymentSimulator payments(std::chrono::milliseconds(0), 0.25);
  int declined = 0;
  for (int id = 1; id <= 4000; ++id) declined += !payments.charge(id, 100);
  EXPECT_NEAR(declined / 4000.0, 0.25, 0.03);
  for (int id = 1; id <= 50; ++id) EXPECT_EQ(payments.charge(id, 1), payments.charge(id, 1));
}

}  // namespace
}  // namespace crest::storefront
