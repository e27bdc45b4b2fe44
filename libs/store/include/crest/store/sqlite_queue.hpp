#pragma once
// Durable Queue adapter with SQS semantics (see queue.hpp) in a table of the embedded SQLite
// database, so that an order message survives SIGKILL, a crash or a clean stop: the outbox relay
// marks a row sent only once its message is committed here. Visibility timeouts by an injected
// Clock (wall time, so they survive a restart), receipt handles, receive counts, redrive to a
// dead-letter queue in the same table, long polling. Several queues share the table, told
// apart by name. Thread-safe.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "crest/core/clock.hpp"
#include "crest/store/queue.hpp"
#include "crest/store/sqlite.hpp"

namespace crest::metrics {
class Counter;
}

namespace crest::store {

struct SqliteRedrivePolicy {
  std::string dead_letter_queue;  // the name of another SqliteQueue on the same database
  int max_receive_count = 5;
};

struct SqliteQueueOptions {
  std::string name = "orders";  // the `queue` label, and the prefix of message ids
  std::chrono::milliseconds default_visibility_timeout{30000};
  std::optional<SqliteRedrivePolicy> redrive;
  // crest_queue_messages_{sent,received,deleted,dead_lettered}_total{queue}
  metrics::Registry* metrics = nullptr;
};

class SqliteQueue final : public Queue {
 public:
  SqliteQueue(SqliteDatabasePtr db, SqliteQueueOptions options, Clock& clock = Clock::system());

  Result<std::vector<std::string>> send_messages(
      const std::vector<OutgoingMessage>& messages) override;
  Result<std::vector<ReceivedMessage>> receive(const ReceiveOptions& options) override;
  Result<void> delete_message(const std::string& receipt_handle) override;
  Result<void> change_visibility(const std::string& receipt_handle,
                                 std::chrono::milliseconds timeout) override;
  Result<QueueAttributes> attributes() override;

 private:
  struct Receipt {
    std::int64_t id = 0;
    std::int64_t receive_count = 0;
  };
  Result<Receipt> parse_receipt(const std::string& receipt_handle) const;
  Result<std::vector<ReceivedMessage>> receive_once(int max, std::chrono::milliseconds visibility);

  SqliteDatabasePtr db_;
  SqliteQueueOptions options_;
  Clock& clock_;
  metrics::Counter* sent_ = nullptr;
  metrics::Counter* received_ = nullptr;
  metrics::Counter* deleted_ = nullptr;
  metrics::Counter* dead_lettered_ = nullptr;

  // Wakes long polls in this process when a message is sent; other processes are seen by
  // polling the table.
  std::mutex mutex_;
  std::condition_variable arrived_;
};

}  // namespace crest::store
