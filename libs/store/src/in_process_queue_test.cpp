#include "crest/store/in_process_queue.hpp"

#include <thread>

#include <gtest/gtest.h>

#include "crest/metrics/registry.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;

ReceiveOptions take(int n = 10, std::chrono::milliseconds visibility = 30s) {
  return ReceiveOptions{n, 0ms, visibility};
}

TEST(InProcessQueueTest, RedeliversAfterVisibilityTimeout) {
  ManualClock clock;
  InProcessQueue q({"q", 30s, std::nullopt, nullptr}, clock);
  auto id = q.send("hello");
  ASSERT_TRUE(id.ok());
  auto first = q.receive(take());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].id, *id);
  EXPECT_EQ((*first)[0].body, "hello");
  EXPECT_EQ((*first)[0].receive_count, 1);
  EXPECT_TRUE(q.receive(take())->empty());  // invisible while in flight
  EXPECT_EQ(q.attributes()->in_flight, 1);
  clock.advance(30s);
  auto second = q.receive(take());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].receive_count, 2);
  EXPECT_NE((*second)[0].receipt_handle, (*first)[0].receipt_handle);

  // The first consumer's receipt is stale now.
  auto stale = q.delete_message((*first)[0].receipt_handle);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().kind, ErrorKind::conflict);
  ASSERT_TRUE(q.delete_message((*second)[0].receipt_handle).ok());
  EXPECT_EQ(q.delete_message((*second)[0].receipt_handle).error().kind, ErrorKind::not_found);
  EXPECT_EQ(q.delete_message("garbage").error().kind, ErrorKind::invalid_argument);
  auto attrs = q.attributes();
  EXPECT_EQ(attrs->visible + attrs->in_flight, 0);
}

TEST(InProcessQueueTest, ChangeVisibilityExtendsOrReleases) {
  ManualClock clock;
  InProcessQueue q({"q", 10s, std::nullopt, nullptr}, clock);
  ASSERT_TRUE(q.send("m").ok());
  auto got = q.receive(take(1, 10s));
  const std::string receipt = (*got)[0].receipt_handle;
  clock.advance(9s);
  ASSERT_TRUE(q.change_visibility(receipt, 60s).ok());
  clock.advance(59s);
  EXPECT_TRUE(q.receive(take())->empty());
  ASSERT_TRUE(q.change_visibility(receipt, 0s).ok());  // give it back now
  auto again = q.receive(take());
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ(q.change_visibility(receipt, 5s).error().kind, ErrorKind::conflict);
  clock.advance(30s);
  EXPECT_EQ(q.change_visibility((*again)[0].receipt_handle, 5s).error().kind,
            ErrorKind::conflict);  // no longer in flight
}

TEST(InProcessQueueTest, RedrivesToDeadLetterQueueAfterMaxReceiveCount) {
  ManualClock clock;
  metrics::Registry registry;
  InProcessQueue dlq({"dlq", 30s, std::nullopt, &registry}, clock);
  InProcessQueue q({"main", 1s, RedrivePolicy{&dlq, 2}, &registry}, clock);
  ASSERT_TRUE(q.send("poison").ok());
  for (int i = 1; i <= 2; ++i) {
    auto got = q.receive(take(10, 1s));
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].receive_count, i);
    clock.advance(1s);
  }
  EXPECT_TRUE(q.receive(take())->empty());  // a third receive would exceed 2: moved instead
  auto attrs = q.attributes();
  EXPECT_EQ(attrs->visible + attrs->in_flight, 0);
  auto dead = dlq.receive(take());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ((*dead)[0].body, "poison");
  const std::string text = registry.render();
  EXPECT_NE(text.find("crest_queue_messages_dead_lettered_total{queue=\"main\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("crest_queue_messages_received_total{queue=\"main\"} 2"), std::string::npos);
  EXPECT_NE(text.find("crest_queue_messages_sent_total{queue=\"dlq\"} 1"), std::string::npos);
}

TEST(InProcessQueueTest, LongPollReturnsWhenAMessageArrives) {
  InProcessQueue q({"q", 30s, std::nullopt, nullptr});
  std::thread sender([&] {
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(q.send("late").ok());
  });
  const auto started = std::chrono::steady_clock::now();
  auto got = q.receive(ReceiveOptions{1, 10s, std::nullopt});
  const auto waited = std::chrono::steady_clock::now() - started;
  sender.join();
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].body, "late");
  EXPECT_LT(waited, 5s);
}

TEST(InProcessQueueTest, LongPollTimesOutEmpty) {
  InProcessQueue q({"q", 30s, std::nullopt, nullptr});
  const auto started = std::chrono::steady_clock::now();
  auto got = q.receive(ReceiveOptions{1, 100ms, std::nullopt});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
  EXPECT_GE(std::chrono::steady_clock::now() - started, 100ms);
}

TEST(InProcessQueueTest, BatchesAreLimitedToTen) {
  ManualClock clock;
  InProcessQueue q({"q", 30s, std::nullopt, nullptr}, clock);
  EXPECT_EQ(q.send_batch(std::vector<std::string>(11, "x")).error().kind,
            ErrorKind::invalid_argument);
  EXPECT_EQ(q.send_batch({}).error().kind, ErrorKind::invalid_argument);
  auto ids = q.send_batch(std::vector<std::string>(10, "x"));
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->size(), 10u);
  ASSERT_TRUE(q.send("eleventh").ok());
  EXPECT_EQ(q.receive(take(11)).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(q.receive(take(10))->size(), 10u);
  clock.advance(2s);
  auto attrs = q.attributes();
  EXPECT_EQ(attrs->visible, 1);
  EXPECT_EQ(attrs->in_flight, 10);
  EXPECT_EQ(attrs->oldest_age, 2s);
}

}  // namespace
TEST(InProcessQueueTest, AttributesTravelWithTheMessageIntoTheDlq) {
  ManualClock clock;
  InProcessQueue dlq({"dlq", 30s, std::nullopt, nullptr}, clock);
  InProcessQueue q({"q", 1s, RedrivePolicy{&dlq, 1}, nullptr}, clock);
  ASSERT_TRUE(q.send("order", {{"trace_id", "t-7"}}).ok());
  auto got = q.receive({1, 0ms, std::nullopt});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ(got->front().attributes, (MessageAttributes{{"trace_id", "t-7"}}));
  clock.advance(2s);
  ASSERT_TRUE(q.receive({1, 0ms, std::nullopt}).ok());
  auto dead = dlq.receive({1, 0ms, std::nullopt});
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->front().attributes.at("trace_id"), "t-7");
}

}  // namespace crest::store
