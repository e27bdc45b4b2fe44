#pragma once
// In-process Queue adapter with SQS semantics (see queue.hpp): visibility timeouts by an
// injected Clock, receipt handles, receive counts, redrive to a dead-letter queue, long polling.
// Thread-safe.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "crest/core/clock.hpp"
#include "crest/store/queue.hpp"

namespace crest::metrics {
class Registry;
class Counter;
}  // namespace crest::metrics

namespace crest::store {

struct RedrivePolicy {
  Queue* dead_letter = nullptr;  // must outlive the queue
  int max_receive_count = 5;
};

struct InProcessQueueOptions {
  std::string name = "orders";  // the `queue` label, and the prefix of message ids
  std::chrono::milliseconds default_visibility_timeout{30000};
  std::optional<RedrivePolicy> redrive;
  // crest_queue_messages_{sent,received,deleted,dead_lettered}_total{queue}
  metrics::Registry* metrics = nullptr;
};

class InProcessQueue final : public Queue {
 public:
  explicit InProcessQueue(InProcessQueueOptions options, Clock& clock = Clock::system());

  Result<std::vector<std::string>> send_messages(
      const std::vector<OutgoingMessage>& messages) override;
  Result<std::vector<ReceivedMessage>> receive(const ReceiveOptions& options) override;
  Result<void> delete_message(const std::string& receipt_handle) override;
  Result<void> change_visibility(const std::string& receipt_handle,
                                 std::chrono::milliseconds timeout) override;
  Result<QueueAttributes> attributes() override;

 private:
  struct Message {
    std::string id;
    std::string body;
    MessageAttributes attributes;
    int receive_count = 0;
    std::uint64_t receipt_serial = 0;  // the serial of the only valid receipt handle
    Clock::SteadyTime sent_steady{};
    WallTime sent_wall{};
    Clock::SteadyTime visible_at{};  // visible once now >= visible_at
    std::uint64_t order = 0;         // FIFO-ish delivery order among visible messages
  };

  std::string enqueue_locked(const OutgoingMessage& message);
  void collect_locked(int max, std::chrono::milliseconds visibility,
                      std::vector<ReceivedMessage>& out, std::vector<OutgoingMessage>& dead);
  struct ParsedReceipt {
    std::uint64_t message_serial = 0;
    std::uint64_t receipt_serial = 0;
  };
  Result<ParsedReceipt> parse_receipt(const std::string& receipt_handle) const;
  Result<Message*> message_for_receipt_locked(const std::string& receipt_handle);

  InProcessQueueOptions options_;
  Clock& clock_;
  metrics::Counter* sent_ = nullptr;
  metrics::Counter* received_ = nullptr;
  metrics::Counter* deleted_ = nullptr;
  metrics::Counter* dead_lettered_ = nullptr;

  std::mutex mutex_;
  std::condition_variable arrived_;
  std::map<std::uint64_t, Message> messages_;  // by message serial, i.e. send order
  std::uint64_t next_serial_ = 1;
  std::uint64_t next_receipt_ = 1;
};

}  // namespace crest::store
