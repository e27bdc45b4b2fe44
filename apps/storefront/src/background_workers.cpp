#include "background_workers.hpp"

#include <nlohmann/json.hpp>

namespace crest::storefront {
namespace {

// An outbox payload {"order_id":N,"trace_id":T} as a queue message: the body names the order,
// the checkout's trace_id rides in the message attributes (SQS MessageAttributes).
store::OutgoingMessage queue_message(const std::string& payload) {
  auto json = nlohmann::json::parse(payload, nullptr, false);
  if (!json.is_object() || !json.contains("trace_id") || !json["trace_id"].is_string()) {
    return store::OutgoingMessage{payload, {}};
  }
  store::MessageAttributes attributes{{"trace_id", json["trace_id"].get<std::string>()}};
  json.erase("trace_id");
  return store::OutgoingMessage{json.dump(), std::move(attributes)};
}

}  // namespace

OutboxRelay::OutboxRelay(Shop& shop, OutboxRelayOptions options)
    : shop_(shop),
      options_(options),
      pending_(shop.metrics->gauge("crest_outbox_pending",
                                   "Outbox rows not yet published to the orders queue.")),
      pending_orders_(shop.metrics->gauge("crest_orders_pending",
                                          "Orders accepted and not yet confirmed or failed.")),
      oldest_pending_age_(shop.metrics->gauge("crest_orders_oldest_pending_age_seconds",
                                              "Age of the oldest order still pending.")),
      published_(shop.metrics->counter("crest_outbox_published_total",
                                       "Outbox rows published to the orders queue.")),
      republished_(
          shop.metrics->counter("crest_orders_republished_total",
                                "Stale pending orders published again by the start-up sweep.")) {}

bool OutboxRelay::sample_backlog() {
  auto backlog = shop_.stores.orders->backlog();
  if (!backlog.ok()) {
    shop_.logger.warn("reading the order backlog failed", {{"error", backlog.error().message}});
    return false;
  }
  pending_.set(static_cast<double>(backlog->unsent_outbox));
  pending_orders_.set(static_cast<double>(backlog->pending_orders));
  const auto age = backlog->oldest_pending_created_at
                       ? shop_.clock->wall_now() - *backlog->oldest_pending_created_at
                       : std::chrono::system_clock::duration::zero();
  oldest_pending_age_.set(std::max(0.0, std::chrono::duration<double>(age).count()));
  return true;
}

int OutboxRelay::republish_stale_orders() {
  if (options_.republish_after.count() <= 0) return 0;
  const auto cutoff = shop_.clock->wall_now() - options_.republish_after;
  constexpr int kPage = 1000;
  int total = 0;
  std::int64_t after_id = 0;
  for (;;) {
    auto ids = shop_.stores.orders->pending_orders_created_before(cutoff, after_id, kPage);
    if (!ids.ok()) {
      shop_.logger.warn("the stale-order sweep could not read orders",
                        {{"error", ids.error().message}});
      return -1;
    }
    for (std::size_t start = 0; start < ids->size(); start += store::Queue::max_batch) {
      const auto end = std::min(ids->size(), start + store::Queue::max_batch);
      std::vector<std::string> bodies;
      for (auto i = start; i < end; ++i)
        bodies.push_back(nlohmann::json{{"order_id", (*ids)[i]}}.dump());
      if (auto sent = shop_.stores.orders_queue->send_batch(bodies); !sent.ok()) {
        shop_.logger.warn("the stale-order sweep could not publish",
                          {{"error", sent.error().message}});
        return -1;
      }
      republished_.inc(static_cast<double>(bodies.size()));
      total += static_cast<int>(bodies.size());
    }
    if (ids->size() < static_cast<std::size_t>(kPage)) break;
    after_id = ids->back();
  }
  if (total > 0) shop_.logger.warn("re-published orders stuck pending", {{"orders", total}});
  return total;
}

OutboxRelay::~OutboxRelay() {
  stop();
}

int OutboxRelay::relay_once() {
  auto pending = shop_.stores.orders->pending_outbox(options_.batch_size);
  if (!pending.ok()) {
    shop_.logger.warn("outbox read failed", {{"error", pending.error().message}});
    return -1;
  }
  int sent = 0;
  for (std::size_t start = 0; start < pending->size(); start += store::Queue::max_batch) {
    const auto end = std::min(pending->size(), start + store::Queue::max_batch);
    std::vector<store::OutgoingMessage> bodies;
    std::vector<std::int64_t> ids;
    for (auto i = start; i < end; ++i) {
      bodies.push_back(queue_message((*pending)[i].payload));
      ids.push_back((*pending)[i].id);
    }
    // Marked sent only after the queue has the messages durably (SQS, or SqliteQueue
    // embedded). A crash between send and mark re-sends the batch; the worker's idempotency
    // absorbs it.
    if (auto result = shop_.stores.orders_queue->send_messages(bodies); !result.ok()) {
      shop_.logger.warn("publishing to the orders queue failed; will retry",
                        {{"error", result.error().message}, {"pending", pending->size() - start}});
      return -1;
    }
    if (auto marked = shop_.stores.orders->mark_outbox_sent(ids); !marked.ok()) {
      shop_.logger.warn("marking outbox rows sent failed", {{"error", marked.error().message}});
      return -1;
    }
    published_.inc(static_cast<double>(ids.size()));
    sent += static_cast<int>(ids.size());
  }
  return sent;
}

void OutboxRelay::start() {
  running_ = true;
  thread_ = std::thread([this] {
    bool swept = false;
    auto backoff = options_.poll_interval;
    auto next_sample = std::chrono::steady_clock::now();
    while (running_) {
      // The sweep runs once, retried while the stores are down.
      if (!swept) swept = republish_stale_orders() >= 0;
      if (std::chrono::steady_clock::now() >= next_sample) {
        sample_backlog();
        next_sample = std::chrono::steady_clock::now() + options_.sample_interval;
      }
      const int sent = relay_once();
      if (sent == options_.batch_size) continue;  // more may be waiting
      // On failure back off up to 5 s, so a queue outage does not become a busy loop.
      backoff = sent < 0 ? std::min(backoff * 2, std::chrono::milliseconds(5000))
                         : options_.poll_interval;
      for (auto slept = std::chrono::milliseconds(0); running_ && slept < backoff;
           slept += std::chrono::milliseconds(10)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  });
}

void OutboxRelay::stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
}

OrderWorker::OrderWorker(Shop& shop, OrderProcessor& processor, WorkerOptions options)
    : shop_(shop),
      processor_(processor),
      options_(options),
      depth_(shop.metrics->gauge_family("crest_queue_approximate_messages",
                                        "Messages in a queue, visible or in flight.",
                                        {"queue", "state"})),
      oldest_age_(shop.metrics->gauge_family("crest_queue_oldest_message_age_seconds",
                                             "Age of the oldest message in a queue.", {"queue"})) {}

OrderWorker::~OrderWorker() {
  stop();
}

void OrderWorker::start() {
  running_ = true;
  for (int i = 0; i < options_.concurrency; ++i) {
    threads_.emplace_back([this] { consume(); });
  }
  threads_.emplace_back([this] {
    while (running_) {
      sample_queue_depth();
      for (int i = 0; i < 100 && running_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
}

void OrderWorker::sample_queue_depth() {
  const std::pair<const char*, store::Queue*> queues[] = {{"orders", shop_.stores.orders_queue},
                                                          {"orders_dlq", shop_.stores.orders_dlq}};
  for (const auto& [name, queue] : queues) {
    if (queue == nullptr) continue;
    auto attributes = queue->attributes();
    if (!attributes.ok()) continue;  // a queue outage shows in the worker's receive errors
    depth_.with({name, "visible"}).set(static_cast<double>(attributes->visible));
    depth_.with({name, "in_flight"}).set(static_cast<double>(attributes->in_flight));
    oldest_age_.with({name}).set(std::chrono::duration<double>(attributes->oldest_age).count());
  }
}

void OrderWorker::stop() {
  running_ = false;
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

void OrderWorker::consume() {
  auto& queue = *shop_.stores.orders_queue;
  const store::ReceiveOptions receive{1, options_.poll_wait, options_.visibility_timeout};
  while (running_) {
    auto messages = queue.receive(receive);
    if (!messages.ok()) {
      shop_.logger.warn("receiving from the orders queue failed",
                        {{"error", messages.error().message}});
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    for (const auto& message : *messages) {
      const auto keep_alive = [&] {
        (void)queue.change_visibility(message.receipt_handle, options_.visibility_timeout);
      };
      const auto trace = message.attributes.find("trace_id");
      const auto outcome = processor_.process_message(
          message.body, keep_alive, trace == message.attributes.end() ? "" : trace->second);
      if (outcome == ProcessOutcome::retry_later || outcome == ProcessOutcome::poison) {
        // Redelivery after the visibility timeout retries it; the redrive policy parks poison
        // in the dead-letter queue after max_receive_count attempts.
        shop_.logger.warn("order message left for redelivery",
                          {{"outcome", to_string(outcome)},
                           {"message_id", message.id},
                           {"receive_count", message.receive_count}});
        continue;
      }
      if (auto deleted = queue.delete_message(message.receipt_handle); !deleted.ok()) {
        shop_.logger.warn("deleting a processed message failed; it will be redelivered and skipped",
                          {{"message_id", message.id}, {"error", deleted.error().message}});
      }
    }
  }
}

}  // namespace crest::storefront
