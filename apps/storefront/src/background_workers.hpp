#pragma once
// The two background loops of the order flow:
//  - OutboxRelay publishes pending outbox rows to the orders queue and marks them sent (only
//    once the queue has the message: SQS, or the durable SqliteQueue embedded); at start it
//    re-publishes orders stuck `pending` for longer than `republish_after`;
//  - OrderWorker long-polls the queue and hands each message to the OrderProcessor, deleting it
//    only once processed (a poison message is left to reach the dead-letter queue).
// Each runs on its own threads between start() and stop(); stop() returns once they have ended.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "order_processor.hpp"
#include "shop.hpp"

namespace crest::storefront {

struct OutboxRelayOptions {
  std::chrono::milliseconds poll_interval{50};
  int batch_size = 100;
  // At start, orders pending for longer than this are published again (0: no sweep). The
  // worker skips an order that is no longer pending, so a duplicate costs one message.
  std::chrono::milliseconds republish_after{std::chrono::minutes(5)};
  // How often the backlog gauges are refreshed.
  std::chrono::milliseconds sample_interval{1000};
};

// Gauges: crest_outbox_pending (unsent rows, the whole backlog), crest_orders_pending and
// crest_orders_oldest_pending_age_seconds; counters crest_outbox_published_total and
// crest_orders_republished_total.
class OutboxRelay {
 public:
  OutboxRelay(Shop& shop, OutboxRelayOptions options);
  ~OutboxRelay();
  void start();  // sweeps stale pending orders once, then relays until stopped
  void request_stop() { running_ = false; }  // returns at once; stop() waits
  void stop();
  // One pass: publishes what is pending. Returns how many rows were sent, or -1 on a failure.
  int relay_once();
  // Re-publishes every order pending since before now - republish_after. Returns how many, or
  // -1 on a failure (what was published stays published).
  int republish_stale_orders();
  // Refreshes the backlog gauges; false if the store could not be read.
  bool sample_backlog();

 private:
  Shop& shop_;
  OutboxRelayOptions options_;
  metrics::Gauge& pending_;
  metrics::Gauge& pending_orders_;
  metrics::Gauge& oldest_pending_age_;
  metrics::Counter& published_;
  metrics::Counter& republished_;
  std::atomic<bool> running_{false};
  std::thread thread_;
};

struct WorkerOptions {
  int concurrency = 4;
  std::chrono::milliseconds poll_wait{1000};
  std::chrono::milliseconds visibility_timeout{30'000};
};

// Also samples the orders queue and its dead-letter queue once a second into
// crest_queue_approximate_messages{queue,state} and crest_queue_oldest_message_age_seconds{queue}
// (what the worker's autoscaler and the queue dashboards read).
class OrderWorker {
 public:
  OrderWorker(Shop& shop, OrderProcessor& processor, WorkerOptions options);
  ~OrderWorker();
  void start();
  void request_stop() { running_ = false; }  // returns at once; stop() waits
  void stop();

 private:
  void consume();
  void sample_queue_depth();

  Shop& shop_;
  OrderProcessor& processor_;
  WorkerOptions options_;
  std::atomic<bool> running_{false};
  std::vector<std::thread> threads_;
  metrics::GaugeFamily& depth_;
  metrics::GaugeFamily& oldest_age_;
};

}  // namespace crest::storefront
