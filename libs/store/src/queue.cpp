#include "crest/store/queue.hpp"

#include <fmt/format.h>

#include "crest/metrics/registry.hpp"

namespace crest::store {

Result<std::vector<std::string>> Queue::send_batch(const std::vector<std::string>& bodies) {
  std::vector<OutgoingMessage> messages;
  messages.reserve(bodies.size());
  for (const auto& body : bodies) messages.push_back(OutgoingMessage{body, {}});
  return send_messages(messages);
}

Result<std::string> Queue::send(std::string body, MessageAttributes attributes) {
  auto ids = send_messages(std::vector<OutgoingMessage>{{std::move(body), std::move(attributes)}});
  if (!ids) return ids.error();
  return std::move(ids->front());
}

Result<void> Queue::check_batch_size(std::size_t messages) {
  if (messages == 0 || messages > static_cast<std::size_t>(max_batch)) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("a batch holds 1..{} messages, not {}", max_batch, messages)};
  }
  return {};
}

Result<void> Queue::check_max_messages(int max_messages) {
  if (max_messages < 1 || max_messages > max_batch) {
    return Error{ErrorKind::invalid_argument, fmt::format("max_messages must be 1..{}", max_batch)};
  }
  return {};
}

QueueMetrics::QueueMetrics(metrics::Registry* registry, const std::string& queue,
                           bool dead_letters) {
  if (registry == nullptr) {
    return;
  }
  const std::vector<std::string> labels{"queue"};
  sent =
      &registry
           ->counter_family("crest_queue_messages_sent_total", "Messages sent to a queue.", labels)
           .with({queue});
  received = &registry
                  ->counter_family("crest_queue_messages_received_total",
                                   "Messages delivered by a queue (redeliveries included).", labels)
                  .with({queue});
  deleted = &registry
                 ->counter_family("crest_queue_messages_deleted_total",
                                  "Messages deleted (acknowledged) from a queue.", labels)
                 .with({queue});
  if (dead_letters) {
    dead_lettered = &registry
                         ->counter_family("crest_queue_messages_dead_lettered_total",
                                          "Messages moved to the dead-letter queue.", labels)
                         .with({queue});
  }
}

void QueueMetrics::add(metrics::Counter* counter, std::size_t count) noexcept {
  if (counter != nullptr && count > 0) {
    counter->inc(static_cast<double>(count));
  }
}

}  // namespace crest::store
