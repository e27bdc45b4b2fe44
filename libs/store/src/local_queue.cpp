#include "crest/store/local_queue.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

namespace crest::store {
namespace {

constexpr std::chrono::milliseconds kMaxWait{20000};  // SQS's long-poll ceiling
constexpr std::chrono::milliseconds kMaxVisibility{12 * 3600 * 1000};
// A visibility may expire, or another process send, while a long poll waits: look again this
// often.
constexpr std::chrono::milliseconds kPollSlice{50};

bool parse_serial(std::string_view text, std::int64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out > 0;
}

}  // namespace

LocalQueue::LocalQueue(std::string name, std::chrono::milliseconds default_visibility_timeout,
                       std::optional<int> max_receive_count, metrics::Registry* metrics)
    : name_(std::move(name)),
      default_visibility_timeout_(default_visibility_timeout),
      max_receive_count_(max_receive_count),
      metrics_(metrics, name_, /*dead_letters=*/true) {}

std::string LocalQueue::message_id(std::int64_t serial) const {
  return fmt::format("{}-{}", name_, serial);
}

std::string LocalQueue::receipt_handle(std::int64_t serial, std::int64_t receipt_serial) const {
  return fmt::format("{}:{}:{}", name_, serial, receipt_serial);
}

Result<LocalQueue::Receipt> LocalQueue::parse_receipt(const std::string& receipt_handle) const {
  const std::string_view handle = receipt_handle;
  const std::string prefix = name_ + ":";
  const auto invalid = Error{ErrorKind::invalid_argument, "receipt handle is not from this queue"};
  if (handle.substr(0, prefix.size()) != prefix) {
    return invalid;
  }
  const auto rest = handle.substr(prefix.size());
  const auto colon = rest.find(':');
  Receipt parsed;
  if (colon == std::string_view::npos || !parse_serial(rest.substr(0, colon), parsed.serial) ||
      !parse_serial(rest.substr(colon + 1), parsed.receipt_serial)) {
    return invalid;
  }
  return parsed;
}

void LocalQueue::wake_pollers() {
  {
    const std::lock_guard lock(arrivals_mutex_);
    ++arrivals_;
  }
  arrived_.notify_all();
}

Result<std::vector<std::string>> LocalQueue::send_messages(
    const std::vector<OutgoingMessage>& messages) {
  if (auto checked = check_batch_size(messages.size()); !checked.ok()) {
    return checked.error();
  }
  auto serials = store(messages);
  if (!serials) {
    return serials.error();
  }
  QueueMetrics::add(metrics_.sent, serials->size());
  wake_pollers();
  std::vector<std::string> ids;
  ids.reserve(serials->size());
  for (const std::int64_t serial : *serials) {
    ids.push_back(message_id(serial));
  }
  return ids;
}

Result<std::vector<ReceivedMessage>> LocalQueue::receive(const ReceiveOptions& options) {
  if (auto checked = check_max_messages(options.max_messages); !checked.ok()) {
    return checked.error();
  }
  if (options.wait_time.count() < 0 || options.wait_time > kMaxWait) {
    return Error{ErrorKind::invalid_argument, "wait_time must be 0..20s"};
  }
  const auto visibility = options.visibility_timeout.value_or(default_visibility_timeout_);
  if (visibility.count() < 0 || visibility > kMaxVisibility) {
    return Error{ErrorKind::invalid_argument, "visibility_timeout must be 0..12h"};
  }
  const auto deadline = std::chrono::steady_clock::now() + options.wait_time;
  for (;;) {
    std::uint64_t seen = 0;
    {
      const std::lock_guard lock(arrivals_mutex_);
      seen = arrivals_;
    }
    auto got = claim(options.max_messages, visibility);
    if (!got) {
      return got.error();
    }
    QueueMetrics::add(metrics_.dead_lettered, static_cast<std::size_t>(got->dead_lettered));
    const auto now = std::chrono::steady_clock::now();
    if (!got->messages.empty() || now >= deadline) {
      QueueMetrics::add(metrics_.received, got->messages.size());
      return std::move(got->messages);
    }
    // A send since `seen` wakes the poll at once; nothing is missed between claim and wait.
    std::unique_lock lock(arrivals_mutex_);
    arrived_.wait_until(lock, std::min(deadline, now + kPollSlice),
                        [&] { return arrivals_ != seen; });
  }
}

Result<void> LocalQueue::delete_message(const std::string& receipt_handle) {
  auto receipt = parse_receipt(receipt_handle);
  if (!receipt) {
    return receipt.error();
  }
  auto removed = remove(*receipt);
  if (removed) {
    QueueMetrics::add(metrics_.deleted);
  }
  return removed;
}

Result<void> LocalQueue::change_visibility(const std::string& receipt_handle,
                                           std::chrono::milliseconds timeout) {
  if (timeout.count() < 0 || timeout > kMaxVisibility) {
    return Error{ErrorKind::invalid_argument, "visibility timeout must be 0..12h"};
  }
  auto receipt = parse_receipt(receipt_handle);
  if (!receipt) {
    return receipt.error();
  }
  auto changed = set_visibility(*receipt, timeout);
  if (changed) {
    wake_pollers();
  }
  return changed;
}

}  // namespace crest::store
