#pragma once
// In-process Queue adapter with SQS semantics (see queue.hpp, local_queue.hpp): visibility
// timeouts by an injected Clock, receipt handles, receive counts, redrive to a dead-letter
// queue, long polling. Volatile: the twin of SqliteQueue for tests. Thread-safe.
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "crest/core/clock.hpp"
#include "crest/store/local_queue.hpp"

namespace crest::store {

struct RedrivePolicy {
  Queue* dead_letter = nullptr;  // must outlive the queue
  int max_receive_count = 5;
};

using InProcessQueueOptions = LocalQueueOptions<RedrivePolicy>;

class InProcessQueue final : public LocalQueue {
 public:
  explicit InProcessQueue(InProcessQueueOptions options, Clock& clock = Clock::system());

  Result<QueueAttributes> attributes() override;

 private:
  struct Message {
    std::string body;
    MessageAttributes attributes;
    int receive_count = 0;
    std::int64_t receipt_serial = 0;  // the serial of the only valid receipt handle
    Clock::SteadyTime sent_steady{};
    WallTime sent_wall{};
    Clock::SteadyTime visible_at{};  // visible once now >= visible_at
  };

  Result<std::vector<std::int64_t>> store(const std::vector<OutgoingMessage>& messages) override;
  Result<Received> claim(int max, std::chrono::milliseconds visibility) override;
  Result<void> remove(const Receipt& receipt) override;
  Result<void> set_visibility(const Receipt& receipt, std::chrono::milliseconds timeout) override;
  // The message `receipt` names, if that receipt is still its current one.
  Result<std::map<std::int64_t, Message>::iterator> find_locked(const Receipt& receipt);

  Queue* dead_letter_ = nullptr;
  Clock& clock_;

  std::mutex mutex_;
  std::map<std::int64_t, Message> messages_;  // by serial, i.e. send order
  std::int64_t next_serial_ = 1;
  std::int64_t next_receipt_ = 1;
};

}  // namespace crest::store
