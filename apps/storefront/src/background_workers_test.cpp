#include "background_workers.hpp"

#include <sstream>

#include <spdlog/sinks/ostream_sink.h>
#include <nlohmann/json.hpp>

#include "test_shop.hpp"

namespace crest::storefront {
namespace {

using namespace std::chrono_literals;

double gauge(TestShop& t, const char* name) {
  return t.registry.gauge(name, "read back by the test").value();
}

TEST(OutboxRelay, PublishesInBatchesAndTheGaugeShowsTheWholeBacklog) {
  TestShop t;
  const auto product = t.add_product(1000);
  for (int i = 0; i < 150; ++i) t.place_order(1, product, 1, "k" + std::to_string(i));
  OutboxRelay relay(t.shop, OutboxRelayOptions{10ms, 100, 0ms, 1s});
  ASSERT_TRUE(relay.sample_backlog());
  EXPECT_EQ(gauge(t, "crest_outbox_pending"), 150);  // not capped at the batch size
  EXPECT_EQ(gauge(t, "crest_orders_pending"), 150);

  EXPECT_EQ(relay.relay_once(), 100);
  ASSERT_TRUE(relay.sample_backlog());
  EXPECT_EQ(gauge(t, "crest_outbox_pending"), 50);
  EXPECT_EQ(relay.relay_once(), 50);
  EXPECT_EQ(relay.relay_once(), 0);
  EXPECT_EQ(t.stores.orders_queue->attributes()->visible, 150);
}

TEST(OutboxRelay, StartUpSweepRepublishesOrdersStuckPending) {
  TestShop t;
  const auto product = t.add_product(10);
  const auto stale = t.place_order(1, product, 1, "old");
  OutboxRelay relay(t.shop, OutboxRelayOptions{10ms, 100, 5min, 1s});
  ASSERT_EQ(relay.relay_once(), 1);
  // The message is lost (say, the queue was purged); the order stays pending.
  auto lost = t.stores.orders_queue->receive({1, 0ms, 1s});
  ASSERT_EQ(lost->size(), 1u);
  ASSERT_TRUE(t.stores.orders_queue->delete_message(lost->front().receipt_handle).ok());

  t.clock.advance(10min);
  const auto fresh = t.place_order(1, product, 1, "new");
  ASSERT_TRUE(relay.sample_backlog());
  EXPECT_NEAR(gauge(t, "crest_orders_oldest_pending_age_seconds"), 600, 1);

  EXPECT_EQ(relay.republish_stale_orders(), 1);  // the fresh order is the relay's, not the sweep's
  auto again = t.stores.orders_queue->receive({10, 0ms, 1s});
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(again->front().body, "{\"order_id\":" + std::to_string(stale) + "}");
  (void)fresh;

  // Once processed it is no longer pending: a second sweep finds nothing.
  OrderProcessor processor(t.shop, PaymentSimulator(0ms, 0.0));
  EXPECT_EQ(processor.process_message(again->front().body, [] {}), ProcessOutcome::confirmed);
  EXPECT_EQ(relay.republish_stale_orders(), 0);
}

TEST(OrderWorker, ProcessesQueuedOrdersAndDeletesTheirMessages) {
  TestShop t;
  const auto product = t.add_product(10);
  const auto order = t.place_order(1, product, 2, "w1");
  OutboxRelay relay(t.shop, OutboxRelayOptions{10ms, 100, 0ms, 1s});
  ASSERT_EQ(relay.relay_once(), 1);
  OrderProcessor processor(t.shop, PaymentSimulator(0ms, 0.0));
  OrderWorker worker(t.shop, processor, WorkerOptions{1, 50ms, 30s});
  worker.start();
  for (int i = 0; i < 200 && t.stores.orders->order(order)->status == store::OrderStatus::pending;
       ++i) {
    std::this_thread::sleep_for(10ms);
  }
  worker.stop();
  EXPECT_EQ(t.stores.orders->order(order)->status, store::OrderStatus::confirmed);
  const auto left = t.stores.orders_queue->attributes();
  EXPECT_EQ(left->visible + left->in_flight, 0);
}

TEST(OrderWorker, TheCheckoutsTraceIdTravelsInTheMessageAttributesIntoTheWorkersLogs) {
  TestShop t;
  const auto product = t.add_product(10);
  store::NewOrder new_order{1, "traced", {{product, 1, 1000}}, 1000, "trace-abc123"};
  const auto order = t.stores.orders->create_order(new_order).value().order.id;
  OutboxRelay relay(t.shop, OutboxRelayOptions{10ms, 100, 0ms, 1s});
  ASSERT_EQ(relay.relay_once(), 1);

  // On the queue: the body names the order, the trace_id is an attribute.
  auto queued = t.stores.orders_queue->receive({1, 0ms, 1s});
  ASSERT_TRUE(queued.ok());
  ASSERT_EQ(queued->size(), 1u);
  EXPECT_EQ(queued->front().body, "{\"order_id\":" + std::to_string(order) + "}");
  EXPECT_EQ(queued->front().attributes, (store::MessageAttributes{{"trace_id", "trace-abc123"}}));
  ASSERT_TRUE(t.stores.orders_queue->change_visibility(queued->front().receipt_handle, 0ms).ok());

  std::ostringstream lines;
  log::set_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  OrderProcessor processor(t.shop, PaymentSimulator(0ms, 0.0));
  OrderWorker worker(t.shop, processor, WorkerOptions{1, 50ms, 30s});
  worker.start();
  for (int i = 0; i < 200 && t.stores.orders->order(order)->status == store::OrderStatus::pending;
       ++i) {
    std::this_thread::sleep_for(10ms);
  }
  worker.stop();
  log::set_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cout));
  EXPECT_EQ(t.stores.orders->order(order)->status, store::OrderStatus::confirmed);
  bool traced = false;
  std::istringstream in(lines.str());
  for (std::string line; std::getline(in, line);) {
    const auto json = nlohmann::json::parse(line, nullptr, false);
    if (json.is_object() && json.value("order_id", 0) == order) {
      EXPECT_EQ(json.value("trace_id", ""), "trace-abc123") << line;
      traced = true;
    }
  }
  EXPECT_TRUE(traced) << "no worker log line for the order:\n" << lines.str();
}

}  // namespace
}  // namespace crest::storefront
