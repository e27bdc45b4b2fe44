#include "crest/store/in_process_queue.hpp"

namespace crest::store {

InProcessQueue::InProcessQueue(InProcessQueueOptions options, Clock& clock)
    : LocalQueue(
          options.name, options.default_visibility_timeout,
          options.redrive ? std::optional<int>(options.redrive->max_receive_count) : std::nullopt,
          options.metrics),
      dead_letter_(options.redrive ? options.redrive->dead_letter : nullptr),
      clock_(clock) {}

Result<std::vector<std::int64_t>> InProcessQueue::store(
    const std::vector<OutgoingMessage>& messages) {
  std::vector<std::int64_t> serials;
  const std::lock_guard lock(mutex_);
  for (const auto& message : messages) {
    Message m;
    m.body = message.body;
    m.attributes = message.attributes;
    m.sent_steady = clock_.now();
    m.sent_wall = clock_.wall_now();
    m.visible_at = m.sent_steady;
    serials.push_back(next_serial_);
    messages_.emplace(next_serial_++, std::move(m));
  }
  return serials;
}

Result<LocalQueue::Received> InProcessQueue::claim(int max, std::chrono::milliseconds visibility) {
  Received out;
  const std::lock_guard lock(mutex_);
  const auto now = clock_.now();
  for (auto it = messages_.begin();
       it != messages_.end() && out.messages.size() < static_cast<std::size_t>(max);) {
    Message& m = it->second;
    if (m.visible_at > now) {
      ++it;
      continue;
    }
    if (dead_letters(m.receive_count)) {
      // Under our lock: a dead-letter queue never calls back into this one, and failing to
      // move a message must not lose it, so the failure is reported rather than swallowed.
      auto moved = dead_letter_->send(m.body, m.attributes);
      if (!moved) {
        return moved.error();
      }
      ++out.dead_lettered;
      it = messages_.erase(it);
      continue;
    }
    ++m.receive_count;
    m.receipt_serial = next_receipt_++;
    m.visible_at = now + visibility;
    out.messages.push_back(ReceivedMessage{message_id(it->first),
                                           receipt_handle(it->first, m.receipt_serial), m.body,
                                           m.receive_count, m.sent_wall, m.attributes});
    ++it;
  }
  return out;
}

Result<std::map<std::int64_t, InProcessQueue::Message>::iterator> InProcessQueue::find_locked(
    const Receipt& receipt) {
  const auto it = messages_.find(receipt.serial);
  if (it == messages_.end()) {
    return Error{ErrorKind::not_found, "message is no longer in the queue"};
  }
  if (it->second.receipt_serial != receipt.receipt_serial) {
    return Error{ErrorKind::conflict, "stale receipt handle: the message was received again"};
  }
  return it;
}

Result<void> InProcessQueue::remove(const Receipt& receipt) {
  const std::lock_guard lock(mutex_);
  auto found = find_locked(receipt);
  if (!found) {
    return found.error();
  }
  messages_.erase(*found);
  return {};
}

Result<void> InProcessQueue::set_visibility(const Receipt& receipt,
                                            std::chrono::milliseconds timeout) {
  const std::lock_guard lock(mutex_);
  auto found = find_locked(receipt);
  if (!found) {
    return found.error();
  }
  Message& m = (*found)->second;
  const auto now = clock_.now();
  if (m.visible_at <= now) {
    return Error{ErrorKind::conflict, "message is not in flight"};
  }
  m.visible_at = now + timeout;
  return {};
}

Result<QueueAttributes> InProcessQueue::attributes() {
  const std::lock_guard lock(mutex_);
  QueueAttributes a;
  const auto now = clock_.now();
  for (const auto& [serial, m] : messages_) {
    (m.visible_at <= now ? a.visible : a.in_flight) += 1;
  }
  if (!messages_.empty()) {
    a.oldest_age = std::chrono::duration_cast<std::chrono::milliseconds>(
        now - messages_.begin()->second.sent_steady);
  }
  return a;
}

}  // namespace crest::store
