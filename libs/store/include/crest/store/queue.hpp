#pragma once
// Port: a message queue with SQS semantics (SQS in production, InProcessQueue embedded).
//
// At-least-once: a received message becomes invisible for its visibility timeout; unless it is
// deleted in that time it becomes visible again and is redelivered with receive_count + 1.
// Every receive issues a new receipt handle and invalidates the previous ones for that message.
// With a redrive policy, a message that would be received more than max_receive_count times is
// moved to the dead-letter queue instead.
//
// Receipt-handle errors (our choice where SQS is loose):
//   delete_message / change_visibility with a handle that was superseded by a later receive
//     -> conflict ("stale receipt handle"): another consumer owns the message now;
//   a handle for a message no longer in the queue (deleted, dead-lettered) -> not_found;
//   a handle that could not have come from this queue -> invalid_argument.
// A consumer that gets any of these must not assume its work was acknowledged; it relies on
// its own idempotency when the message comes back.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/store/model.hpp"

namespace crest::metrics {
class Counter;
class Registry;
}  // namespace crest::metrics

namespace crest::store {

// String message attributes, as SQS's MessageAttributes of DataType String (at most 10 a
// message; names without the reserved "AWS."/"Amazon." prefixes). Metadata such as the
// checkout's trace_id rides here rather than in the body.
using MessageAttributes = std::map<std::string, std::string>;

struct OutgoingMessage {
  std::string body;
  MessageAttributes attributes;
};

struct ReceivedMessage {
  std::string id;
  std::string receipt_handle;
  std::string body;
  int receive_count = 0;  // 1 on first delivery
  WallTime sent_at{};
  MessageAttributes attributes;
};

struct ReceiveOptions {
  static constexpr int max_batch = 10;

  int max_messages = 1;  // 1..max_batch, else invalid_argument
  // Long polling: return as soon as a message is available, or empty after wait_time.
  std::chrono::milliseconds wait_time{0};
  // Empty: the queue's default visibility timeout.
  std::optional<std::chrono::milliseconds> visibility_timeout;
};

struct QueueAttributes {
  std::int64_t visible = 0;                 // ApproximateNumberOfMessages
  std::int64_t in_flight = 0;               // ApproximateNumberOfMessagesNotVisible
  std::chrono::milliseconds oldest_age{0};  // age of the oldest message in the queue; 0 if empty
};

class Queue {
 public:
  static constexpr int max_batch = ReceiveOptions::max_batch;

  virtual ~Queue() = default;

  // 1..max_batch messages (else invalid_argument); all are sent or the call fails. Returns the
  // ids in order.
  virtual Result<std::vector<std::string>> send_messages(
      const std::vector<OutgoingMessage>& messages) = 0;
  // send_messages with bodies only.
  Result<std::vector<std::string>> send_batch(const std::vector<std::string>& bodies);
  // Returns the message id.
  Result<std::string> send(std::string body, MessageAttributes attributes = {});
  // Possibly empty.
  virtual Result<std::vector<ReceivedMessage>> receive(const ReceiveOptions& options) = 0;
  virtual Result<void> delete_message(const std::string& receipt_handle) = 0;
  // Makes an in-flight message visible again after `timeout` from now (0: immediately).
  // conflict also if the message is no longer in flight.
  virtual Result<void> change_visibility(const std::string& receipt_handle,
                                         std::chrono::milliseconds timeout) = 0;
  virtual Result<QueueAttributes> attributes() = 0;

 protected:
  // The argument checks every adapter makes: 1..max_batch, else invalid_argument.
  static Result<void> check_batch_size(std::size_t messages);
  static Result<void> check_max_messages(int max_messages);
};

// crest_queue_messages_{sent,received,deleted}_total{queue}, and with `dead_letters` (a queue
// that moves dead letters itself) crest_queue_messages_dead_lettered_total{queue}. All null
// without a registry; add() skips a null counter.
struct QueueMetrics {
  QueueMetrics() = default;
  QueueMetrics(metrics::Registry* registry, const std::string& queue, bool dead_letters);
  static void add(metrics::Counter* counter, std::size_t count = 1) noexcept;

  metrics::Counter* sent = nullptr;
  metrics::Counter* received = nullptr;
  metrics::Counter* deleted = nullptr;
  metrics::Counter* dead_lettered = nullptr;
};

using QueuePtr = std::unique_ptr<Queue>;

}  // namespace crest::store
