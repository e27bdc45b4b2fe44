#pragma once
// Durable Queue adapter with SQS semantics (see queue.hpp) in a table of the embedded SQLite
// database, so that an order message survives SIGKILL, a crash or a clean stop: the outbox relay
// marks a row sent only once its message is committed here. Visibility timeouts by an injected
// Clock (wall time, so they survive a restart), receipt handles, receive counts, redrive to a
// dead-letter queue in the same table, long polling. Several queues share the table, told
// apart by name. Thread-safe.
#include <chrono>
#include <cstdint>
#include <string>

#include "crest/core/clock.hpp"
#include "crest/store/local_queue.hpp"
#include "crest/store/sqlite.hpp"

namespace crest::store {

struct SqliteRedrivePolicy {
  std::string dead_letter_queue;  // the name of another SqliteQueue on the same database
  int max_receive_count = 5;
};

using SqliteQueueOptions = LocalQueueOptions<SqliteRedrivePolicy>;

class SqliteQueue final : public LocalQueue {
 public:
  SqliteQueue(SqliteDatabasePtr db, SqliteQueueOptions options, Clock& clock = Clock::system());

  Result<QueueAttributes> attributes() override;

 private:
  // The receipt serial is the receive count: each receive supersedes earlier handles.
  Result<std::vector<std::int64_t>> store(const std::vector<OutgoingMessage>& messages) override;
  Result<Received> claim(int max, std::chrono::milliseconds visibility) override;
  Result<void> remove(const Receipt& receipt) override;
  Result<void> set_visibility(const Receipt& receipt, std::chrono::milliseconds timeout) override;

  SqliteDatabasePtr db_;
  std::string dead_letter_queue_;
  Clock& clock_;
};

}  // namespace crest::store
