#include "crest/store/in_process_queue.hpp"

#include <charconv>

#include <fmt/format.h>

#include "crest/metrics/registry.hpp"

namespace crest::store {
namespace {

constexpr std::chrono::milliseconds kMaxWait{20000};  // SQS's long-poll ceiling
constexpr std::chrono::milliseconds kMaxVisibility{12 * 3600 * 1000};
// With a real clock, visibility may expire while a long poll waits; look again this often.
constexpr std::chrono::milliseconds kPollSlice{50};

bool parse_u64(std::string_view text, std::uint64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

InProcessQueue::InProcessQueue(InProcessQueueOptions options, Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  if (options_.metrics != nullptr) {
    auto& m = *options_.metrics;
    const std::vector<std::string> labels{"queue"};
    sent_ =
        &m.counter_family("crest_queue_messages_sent_total", "Messages sent to a queue.", labels)
             .with({options_.name});
    received_ = &m.counter_family("crest_queue_messages_received_total",
                                  "Messages delivered by a queue (redeliveries included).", labels)
                     .with({options_.name});
    deleted_ = &m.counter_family("crest_queue_messages_deleted_total",
                                 "Messages deleted (acknowledged) from a queue.", labels)
                    .with({options_.name});
    dead_lettered_ = &m.counter_family("crest_queue_messages_dead_lettered_total",
                                       "Messages moved to the dead-letter queue.", labels)
                          .with({options_.name});
  }
}

std::string InProcessQueue::enqueue_locked(const OutgoingMessage& message) {
  const std::uint64_t serial = next_serial_++;
  Message m;
  m.id = fmt::format("{}-{}", options_.name, serial);
  m.body = message.body;
  m.attributes = message.attributes;
  m.sent_steady = clock_.now();
  m.sent_wall = clock_.wall_now();
  m.visible_at = m.sent_steady;
  std::string id = m.id;
  messages_.emplace(serial, std::move(m));
  if (sent_ != nullptr) {
    sent_->inc();
  }
  return id;
}

Result<std::vector<std::string>> InProcessQueue::send_messages(
    const std::vector<OutgoingMessage>& messages) {
  if (messages.empty() || messages.size() > static_cast<std::size_t>(max_batch)) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("a batch holds 1..{} messages, not {}", max_batch, messages.size())};
  }
  std::vector<std::string> ids;
  {
    const std::lock_guard lock(mutex_);
    for (const auto& message : messages) {
      ids.push_back(enqueue_locked(message));
    }
  }
  arrived_.notify_all();
  return ids;
}

void InProcessQueue::collect_locked(int max, std::chrono::milliseconds visibility,
                                    std::vector<ReceivedMessage>& out,
                                    std::vector<OutgoingMessage>& dead) {
  const auto now = clock_.now();
  for (auto it = messages_.begin();
       it != messages_.end() && out.size() < static_cast<std::size_t>(max);) {
    Message& m = it->second;
    if (m.visible_at > now) {
      ++it;
      continue;
    }
    if (options_.redrive && m.receive_count >= options_.redrive->max_receive_count) {
      dead.push_back(OutgoingMessage{std::move(m.body), std::move(m.attributes)});
      it = messages_.erase(it);
      continue;
    }
    ++m.receive_count;
    m.receipt_serial = next_receipt_++;
    m.visible_at = now + visibility;
    out.push_back(
        ReceivedMessage{m.id, fmt::format("{}:{}:{}", options_.name, it->first, m.receipt_serial),
                        m.body, m.receive_count, m.sent_wall, m.attributes});
    ++it;
  }
}

Result<std::vector<ReceivedMessage>> InProcessQueue::receive(const ReceiveOptions& options) {
  if (options.max_messages < 1 || options.max_messages > max_batch) {
    return Error{ErrorKind::invalid_argument, fmt::format("max_messages must be 1..{}", max_batch)};
  }
  if (options.wait_time.count() < 0 || options.wait_time > kMaxWait) {
    return Error{ErrorKind::invalid_argument, "wait_time must be 0..20s"};
  }
  const auto visibility = options.visibility_timeout.value_or(options_.default_visibility_timeout);
  if (visibility.count() < 0 || visibility > kMaxVisibility) {
    return Error{ErrorKind::invalid_argument, "visibility_timeout must be 0..12h"};
  }
  // Long polling waits in real time: a condition variable cannot wait on a ManualClock.
  const auto deadline = std::chrono::steady_clock::now() + options.wait_time;
  std::vector<ReceivedMessage> out;
  std::vector<OutgoingMessage> dead;
  std::unique_lock lock(mutex_);
  for (;;) {
    collect_locked(options.max_messages, visibility, out, dead);
    if (!dead.empty()) {
      // Under our lock: a dead-letter queue never calls back into this one, and failing to
      // move a message must not lose it, so the failure is reported rather than swallowed.
      for (auto& message : dead) {
        auto moved = options_.redrive->dead_letter->send(std::move(message.body),
                                                         std::move(message.attributes));
        if (!moved) {
          return moved.error();
        }
        if (dead_lettered_ != nullptr) {
          dead_lettered_->inc();
        }
      }
      dead.clear();
    }
    const auto now = std::chrono::steady_clock::now();
    if (!out.empty() || now >= deadline) {
      break;
    }
    arrived_.wait_until(lock, std::min(deadline, now + kPollSlice));
  }
  if (received_ != nullptr) {
    received_->inc(static_cast<double>(out.size()));
  }
  return out;
}

Result<InProcessQueue::ParsedReceipt> InProcessQueue::parse_receipt(
    const std::string& receipt_handle) const {
  const std::string_view handle = receipt_handle;
  const std::string prefix = options_.name + ":";
  const auto invalid = Error{ErrorKind::invalid_argument, "receipt handle is not from this queue"};
  if (handle.substr(0, prefix.size()) != prefix) {
    return invalid;
  }
  const auto rest = handle.substr(prefix.size());
  const auto colon = rest.find(':');
  ParsedReceipt parsed;
  if (colon == std::string_view::npos || !parse_u64(rest.substr(0, colon), parsed.message_serial) ||
      !parse_u64(rest.substr(colon + 1), parsed.receipt_serial)) {
    return invalid;
  }
  return parsed;
}

Result<InProcessQueue::Message*> InProcessQueue::message_for_receipt_locked(
    const std::string& receipt_handle) {
  auto parsed = parse_receipt(receipt_handle);
  if (!parsed) {
    return parsed.error();
  }
  const auto it = messages_.find(parsed->message_serial);
  if (it == messages_.end()) {
    return Error{ErrorKind::not_found, "message is no longer in the queue"};
  }
  if (it->second.receipt_serial != parsed->receipt_serial) {
    return Error{ErrorKind::conflict, "stale receipt handle: the message was received again"};
  }
  return &it->second;
}

Result<void> InProcessQueue::delete_message(const std::string& receipt_handle) {
  const std::lock_guard lock(mutex_);
  auto message = message_for_receipt_locked(receipt_handle);
  if (!message) {
    return message.error();
  }
  messages_.erase(parse_receipt(receipt_handle)->message_serial);
  if (deleted_ != nullptr) {
    deleted_->inc();
  }
  return {};
}

Result<void> InProcessQueue::change_visibility(const std::string& receipt_handle,
                                               std::chrono::milliseconds timeout) {
  if (timeout.count() < 0 || timeout > kMaxVisibility) {
    return Error{ErrorKind::invalid_argument, "visibility timeout must be 0..12h"};
  }
  {
    const std::lock_guard lock(mutex_);
    auto message = message_for_receipt_locked(receipt_handle);
    if (!message) {
      return message.error();
    }
    Message& m = **message;
    const auto now = clock_.now();
    if (m.visible_at <= now) {
      return Error{ErrorKind::conflict, "message is not in flight"};
    }
    m.visible_at = now + timeout;
  }
  arrived_.notify_all();
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
