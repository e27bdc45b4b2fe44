#include "crest/store/sqlite_queue.hpp"

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

namespace crest::store {
namespace {

using namespace std::chrono_literals;

class SqliteQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("crest-sqlite-queue-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".db");
    std::filesystem::remove(path_);
    open();
  }
  void TearDown() override {
    queue_.reset();
    dlq_.reset();
    db_.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(path_.string() + suffix);
    }
  }
  // (Re)opens the database file: what a restarted process sees.
  void open() {
    queue_.reset();
    dlq_.reset();
    db_.reset();
    auto db = SqliteDatabase::open(SqliteOptions{path_.string(), 2, 5000ms, nullptr});
    ASSERT_TRUE(db.ok()) << db.error().message;
    db_ = *db;
    dlq_ =
        std::make_unique<SqliteQueue>(db_, SqliteQueueOptions{"dlq", 1000ms, {}, nullptr}, clock_);
    queue_ = std::make_unique<SqliteQueue>(
        db_, SqliteQueueOptions{"q", 1000ms, SqliteRedrivePolicy{"dlq", 2}, nullptr}, clock_);
  }

  std::filesystem::path path_;
  ManualClock clock_;
  SqliteDatabasePtr db_;
  std::unique_ptr<SqliteQueue> dlq_;
  std::unique_ptr<SqliteQueue> queue_;
};

TEST_F(SqliteQueueTest, MessagesSurviveReopeningTheDatabase) {
  ASSERT_TRUE(queue_->send_batch({"a", "b"}).ok());
  auto first = queue_->receive({1, 0ms, 10s});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(first->front().body, "a");

  open();  // the process died with "a" in flight and "b" waiting
  auto attributes = queue_->attributes();
  ASSERT_TRUE(attributes.ok());
  EXPECT_EQ(attributes->visible, 1);
  EXPECT_EQ(attributes->in_flight, 1);
  auto second = queue_->receive({10, 0ms, 10s});
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ(second->front().body, "b");
  clock_.advance(10s);  // "a"'s visibility timeout ends: redelivered, receive count 2
  auto again = queue_->receive({10, 0ms, 10s});
  ASSERT_EQ(again->size(), 2u);
  EXPECT_EQ(again->front().body, "a");
  EXPECT_EQ(again->front().receive_count, 2);
}

TEST_F(SqliteQueueTest, ReceiptHandlesAreSupersededByALaterReceive) {
  ASSERT_TRUE(queue_->send("m").ok());
  const auto old_handle = queue_->receive({1, 0ms, 1s})->front().receipt_handle;
  clock_.advance(1s);
  const auto new_handle = queue_->receive({1, 0ms, 1s})->front().receipt_handle;
  EXPECT_EQ(queue_->delete_message(old_handle).error().kind, ErrorKind::conflict);
  EXPECT_EQ(queue_->change_visibility(old_handle, 0ms).error().kind, ErrorKind::conflict);
  EXPECT_TRUE(queue_->delete_message(new_handle).ok());
  EXPECT_EQ(queue_->delete_message(new_handle).error().kind, ErrorKind::not_found);
  EXPECT_EQ(queue_->delete_message("dlq:1:1").error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(queue_->delete_message("q:x:1").error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(queue_->attributes()->visible + queue_->attributes()->in_flight, 0);
}

TEST_F(SqliteQueueTest, ChangeVisibilityReleasesAtOnce) {
  ASSERT_TRUE(queue_->send("m").ok());
  const auto handle = queue_->receive({1, 0ms, 30s})->front().receipt_handle;
  EXPECT_TRUE(queue_->receive({1, 0ms, 30s})->empty());
  ASSERT_TRUE(queue_->change_visibility(handle, 0ms).ok());
  EXPECT_EQ(queue_->receive({1, 0ms, 30s})->size(), 1u);
}

TEST_F(SqliteQueueTest, RedrivesToTheDeadLetterQueueAfterMaxReceiveCount) {
  ASSERT_TRUE(queue_->send("poison").ok());
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(queue_->receive({1, 0ms, 1s})->size(), 1u);
    clock_.advance(1s);
  }
  EXPECT_TRUE(queue_->receive({1, 0ms, 1s})->empty());
  open();  // the dead-letter queue is durable too
  auto dead = dlq_->receive({10, 0ms, 1s});
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->front().body, "poison");
  EXPECT_EQ(dead->front().receive_count, 1);
}

TEST_F(SqliteQueueTest, OldestAgeComesFromTheSentTime) {
  EXPECT_EQ(queue_->attributes()->oldest_age, 0ms);
  ASSERT_TRUE(queue_->send("m").ok());
  clock_.advance(2500ms);
  EXPECT_EQ(queue_->attributes()->oldest_age, 2500ms);
}

TEST_F(SqliteQueueTest, LongPollReturnsWhenAMessageArrives) {
  std::thread sender([&] {
    std::this_thread::sleep_for(50ms);
    (void)queue_->send("late");
  });
  const auto started = std::chrono::steady_clock::now();
  auto received = queue_->receive({1, 2000ms, 1s});
  sender.join();
  ASSERT_TRUE(received.ok());
  ASSERT_EQ(received->size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
}

TEST_F(SqliteQueueTest, RejectsBadArguments) {
  EXPECT_EQ(queue_->send_batch({}).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(queue_->send_batch(std::vector<std::string>(11, "x")).error().kind,
            ErrorKind::invalid_argument);
  EXPECT_EQ(queue_->receive({11, 0ms, 1s}).error().kind, ErrorKind::invalid_argument);
  EXPECT_EQ(queue_->receive({1, 21s, 1s}).error().kind, ErrorKind::invalid_argument);
}

}  // namespace
TEST_F(SqliteQueueTest, AttributesTravelWithTheMessageAcrossARestartAndIntoTheDlq) {
  ASSERT_TRUE(queue_->send("order", {{"trace_id", "t-42"}}).ok());
  ASSERT_TRUE(queue_->send("plain").ok());
  open();  // durable: the attributes are in the row
  auto got = queue_->receive({10, 0ms, 1s});
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].attributes, (MessageAttributes{{"trace_id", "t-42"}}));
  EXPECT_TRUE((*got)[1].attributes.empty());
  // Redrive moves the row, attributes included.
  clock_.advance(2s);
  ASSERT_TRUE(queue_->receive({10, 0ms, 1s}).ok());
  clock_.advance(2s);
  ASSERT_TRUE(queue_->receive({10, 0ms, 1s}).ok());
  auto dead = dlq_->receive({10, 0ms, 1s});
  ASSERT_TRUE(dead.ok());
  ASSERT_EQ(dead->size(), 2u);
  EXPECT_EQ((*dead)[0].attributes.at("trace_id"), "t-42");
}

}  // namespace crest::store
