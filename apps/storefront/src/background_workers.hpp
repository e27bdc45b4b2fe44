#pragma once
// The two background loops of the order flow:
//  - OutboxRelay publishes pending outbox rows to the orders queue and marks them sent;
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

class OutboxRelay {
 public:
  OutboxRelay(Shop& shop, std::chrono::milliseconds poll_interval, int batch_size);
  ~OutboxRelay();
  void start();
  void request_stop() { running_ = false; }  // returns at once; stop() waits
  void stop();
  // One pass: publishes what is pending. Returns how many rows were sent, or -1 on a failure.
  int relay_once();

 private:
  Shop& shop_;
  std::chrono::milliseconds poll_interval_;
  int batch_size_;
  metrics::Gauge& pending_;
  metrics::Counter& published_;
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
