// SqsQueue against a real fauxqs.
#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "crest/store/sqs.hpp"
#include "dynamodb_test_support.hpp"

namespace crest::store {
namespace {

using namespace std::chrono_literals;
using test_support::fauxqs;
using test_support::sqs_client;

class SqsQueueTest : public ::testing::Test {
 protected:
  // A fresh queue (and DLQ) per test, named after it.
  void SetUp() override {
    auto* server = fauxqs();
    ASSERT_NE(server, nullptr);
    client_ = sqs_client(server->endpoint());
    ASSERT_NE(client_, nullptr);
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    QueueSetup setup;
    setup.name = name;
    setup.dead_letter_name = name + "-dlq";
    setup.max_receive_count = 2;
    auto queues = ensure_queues(*client_, setup);
    ASSERT_TRUE(queues.ok()) << queues.error().message;
    ensured_ = queues.value();
    queue_ = std::make_unique<SqsQueue>(client_, ensured_.url);
    dlq_ = std::make_unique<SqsQueue>(client_, ensured_.dead_letter_url);
  }

  std::vector<ReceivedMessage> receive(Queue& q, int max = 10,
                                       std::optional<std::chrono::milliseconds> vis = 30s) {
    auto got = q.receive(ReceiveOptions{max, 0ms, vis});
    EXPECT_TRUE(got.ok()) << got.error().message;
    return got.ok() ? got.value() : std::vector<ReceivedMessage>{};
  }

  std::shared_ptr<aws::SqsClient> client_;
  EnsuredQueue ensured_;
  std::unique_ptr<SqsQueue> queue_;
  std::unique_ptr<SqsQueue> dlq_;
};

TEST_F(SqsQueueTest, SendReceiveDeleteAndAttributes) {
  auto id = queue_->send("order-1");
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto ids = queue_->send_batch({"order-2", "order-3"});
  ASSERT_TRUE(ids.ok()) << ids.error().message;
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_FALSE((*ids)[0].empty());

  auto attributes = queue_->attributes();
  ASSERT_TRUE(attributes.ok());
  EXPECT_EQ(attributes->visible, 3);
  EXPECT_EQ(attributes->in_flight, 0);

  auto messages = receive(*queue_);
  ASSERT_EQ(messages.size(), 3u);
  std::set<std::string> bodies;
  for (const auto& m : messages) {
    bodies.insert(m.body);
    EXPECT_EQ(m.receive_count, 1);
    EXPECT_GT(m.sent_at.time_since_epoch().count(), 0);
  }
  EXPECT_EQ(bodies, (std::set<std::string>{"order-1", "order-2", "order-3"}));
  attributes = queue_->attributes();
  EXPECT_EQ(attributes->visible, 0);
  EXPECT_EQ(attributes->in_flight, 3);

  for (const auto& m : messages) {
    auto deleted = queue_->delete_message(m.receipt_handle);
    ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  }
  attributes = queue_->attributes();
  EXPECT_EQ(attributes->visible + attributes->in_flight, 0);
  EXPECT_EQ(queue_->send_batch({}).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(queue_->receive(ReceiveOptions{11, 0ms, {}}).error().kind, ErrorKind::invalid_argument);
}

TEST_F(SqsQueueTest, VisibilityTimeoutRedeliversWithReceiveCountTwo) {
  ASSERT_TRUE(queue_->send("slow").ok());
  auto first = receive(*queue_, 1, 1s);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].receive_count, 1);
  EXPECT_TRUE(receive(*queue_, 1, 1s).empty());  // in flight
  std::this_thread::sleep_for(1500ms);           // the server's own timer: no way around it
  auto again = receive(*queue_, 1, 30s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].id, first[0].id);
  EXPECT_EQ(again[0].receive_count, 2);
  EXPECT_NE(again[0].receipt_handle, first[0].receipt_handle);
  // The first receipt is superseded: changing visibility with it is a conflict.
  EXPECT_EQ(queue_->change_visibility(first[0].receipt_handle, 0ms).error().kind,
            ErrorKind::conflict);
  EXPECT_TRUE(queue_->delete_message(again[0].receipt_handle).ok());
}

TEST_F(SqsQueueTest, ChangeVisibilityMakesAMessageVisibleAgain) {
  ASSERT_TRUE(queue_->send("retry-me").ok());
  auto first = receive(*queue_, 1, 30s);
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(queue_->change_visibility(first[0].receipt_handle, 0ms).ok());
  auto again = receive(*queue_, 1, 30s);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].receive_count, 2);
  // Extending the visibility of the current receipt works (slow work keeps its message).
  EXPECT_TRUE(queue_->change_visibility(again[0].receipt_handle, 60s).ok());
  EXPECT_TRUE(receive(*queue_, 1, 30s).empty());
}

TEST_F(SqsQueueTest, RedrivesToTheDeadLetterQueueAfterMaxReceiveCount) {
  ASSERT_TRUE(queue_->send("poison").ok());
  for (int i = 1; i <= 2; ++i) {
    auto got = receive(*queue_, 1, 30s);
    ASSERT_EQ(got.size(), 1u) << "receive " << i;
    EXPECT_EQ(got[0].receive_count, i);
    ASSERT_TRUE(queue_->change_visibility(got[0].receipt_handle, 0ms).ok());  // "failed"
  }
  EXPECT_TRUE(receive(*queue_, 1, 30s).empty());  // a third receive moves it instead
  auto dead = receive(*dlq_, 1, 30s);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].body, "poison");
}

TEST_F(SqsQueueTest, LongPollReturnsAsSoonAsAMessageArrives) {
  const auto start = std::chrono::steady_clock::now();
  auto poll = std::async(std::launch::async, [&] {
    return queue_->receive(ReceiveOptions{1, 10s, 30s});
  });
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(queue_->send("wake-up").ok());
  auto got = poll.get();
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].body, "wake-up");
  EXPECT_LT(took, 5s);

  // And an empty long poll waits about its wait time, without a client timeout.
  const auto empty_start = std::chrono::steady_clock::now();
  auto empty = queue_->receive(ReceiveOptions{1, 1s, {}});
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_TRUE(empty->empty());
  EXPECT_GE(std::chrono::steady_clock::now() - empty_start, 900ms);
}

TEST_F(SqsQueueTest, MissingQueueIsNotFound) {
  auto opened = SqsQueue::open(client_, "no-such-queue");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().kind, ErrorKind::not_found);
  auto existing = SqsQueue::open(client_, ensured_.url.substr(ensured_.url.rfind('/') + 1));
  ASSERT_TRUE(existing.ok()) << existing.error().message;
  EXPECT_EQ((*existing)->url(), ensured_.url);
}

}  // namespace
TEST_F(SqsQueueTest, MessageAttributesRoundTrip) {
  ASSERT_TRUE(queue_->send("order", {{"trace_id", "t-sqs"}}).ok());
  ASSERT_TRUE(queue_->send_batch({"plain"}).ok());
  auto messages = receive(*queue_);
  ASSERT_EQ(messages.size(), 2u);
  for (const auto& m : messages) {
    if (m.body == "order") {
      EXPECT_EQ(m.attributes, (MessageAttributes{{"trace_id", "t-sqs"}}));
    } else {
      EXPECT_TRUE(m.attributes.empty());
    }
  }
}

TEST_F(SqsQueueTest, OldestAgeComesFromTheServersInspectionWithoutReceiving) {
  SqsQueueOptions options;
  options.inspection_endpoint = fauxqs()->endpoint();
  SqsQueue inspected(client_, ensured_.url, options);
  auto empty = inspected.attributes();
  ASSERT_TRUE(empty.ok()) << empty.error().message;
  EXPECT_EQ(empty->oldest_age, 0ms);

  ASSERT_TRUE(inspected.send("old").ok());
  std::this_thread::sleep_for(1200ms);
  ASSERT_TRUE(inspected.send("new").ok());
  auto attributes = inspected.attributes();
  ASSERT_TRUE(attributes.ok()) << attributes.error().message;
  EXPECT_GE(attributes->oldest_age, 1000ms);
  EXPECT_LT(attributes->oldest_age, 30s);
  // Still counted once in flight, and looking did not count as a receive.
  auto messages = receive(inspected, 10, 30s);
  ASSERT_EQ(messages.size(), 2u);
  for (const auto& m : messages) EXPECT_EQ(m.receive_count, 1);
  attributes = inspected.attributes();
  ASSERT_TRUE(attributes.ok());
  EXPECT_GE(attributes->oldest_age, 1000ms);
}

}  // namespace crest::store
