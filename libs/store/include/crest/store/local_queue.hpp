#pragma once
// LocalQueue: what the two Queue adapters that implement SQS semantics themselves share
// (InProcessQueue in memory, SqliteQueue in a table); SqsQueue leaves them to SQS. It checks
// the arguments, parses and formats message ids and receipt handles, keeps the queue metrics,
// applies the dead-letter rule and runs the long poll; an adapter stores, claims and deletes.
//
// Ids are "<name>-<serial>"; receipt handles "<name>:<serial>:<receipt serial>", a new receipt
// serial per receive, so a later receive supersedes earlier handles.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "crest/core/clock.hpp"
#include "crest/store/queue.hpp"

namespace crest::store {

// Options of a local queue; `Redrive` says where its dead letters go (a Queue*, a queue name).
template <typename Redrive>
struct LocalQueueOptions {
  std::string name = "orders";  // the `queue` label, and the prefix of message ids
  std::chrono::milliseconds default_visibility_timeout{30000};
  std::optional<Redrive> redrive;
  // crest_queue_messages_{sent,received,deleted,dead_lettered}_total{queue}
  metrics::Registry* metrics = nullptr;
};

class LocalQueue : public Queue {
 public:
  Result<std::vector<std::string>> send_messages(
      const std::vector<OutgoingMessage>& messages) final;
  // Long polling waits in real time (a condition variable cannot wait on a ManualClock),
  // looking again every 50 ms for what it cannot be woken for: a visibility that expired, a
  // message another process sent.
  Result<std::vector<ReceivedMessage>> receive(const ReceiveOptions& options) final;
  Result<void> delete_message(const std::string& receipt_handle) final;
  Result<void> change_visibility(const std::string& receipt_handle,
                                 std::chrono::milliseconds timeout) final;

 protected:
  struct Receipt {
    std::int64_t serial = 0;          // the message's
    std::int64_t receipt_serial = 0;  // the receive's
  };
  struct Received {
    std::vector<ReceivedMessage> messages;
    int dead_lettered = 0;
  };

  LocalQueue(std::string name, std::chrono::milliseconds default_visibility_timeout,
             std::optional<int> max_receive_count, metrics::Registry* metrics);

  const std::string& name() const { return name_; }
  std::string message_id(std::int64_t serial) const;
  std::string receipt_handle(std::int64_t serial, std::int64_t receipt_serial) const;
  // The dead-letter rule: a message already received max_receive_count times is moved to the
  // dead-letter queue instead of being received again.
  bool dead_letters(std::int64_t receive_count) const {
    return max_receive_count_ && receive_count >= *max_receive_count_;
  }

  // Stores every message or none; returns their serials in order.
  virtual Result<std::vector<std::int64_t>> store(const std::vector<OutgoingMessage>& messages) = 0;
  // Up to `max` visible messages, now in flight for `visibility`; dead letters moved on the way.
  virtual Result<Received> claim(int max, std::chrono::milliseconds visibility) = 0;
  // not_found when the message is gone; conflict when `receipt` was superseded or, for
  // change_visibility, the message is not in flight.
  virtual Result<void> remove(const Receipt& receipt) = 0;
  virtual Result<void> set_visibility(const Receipt& receipt,
                                      std::chrono::milliseconds timeout) = 0;

 private:
  Result<Receipt> parse_receipt(const std::string& receipt_handle) const;
  void wake_pollers();

  std::string name_;
  std::chrono::milliseconds default_visibility_timeout_;
  std::optional<int> max_receive_count_;
  QueueMetrics metrics_;

  std::mutex arrivals_mutex_;
  std::condition_variable arrived_;
  std::uint64_t arrivals_ = 0;  // bumped by every send and visibility change
};

}  // namespace crest::store
