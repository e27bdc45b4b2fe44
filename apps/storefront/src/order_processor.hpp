#pragma once
// What the order worker does with one order: reserve stock, take payment, confirm or fail it,
// notify. Idempotent, because the queue delivers at least once: an order that is no longer
// pending is left alone, and the stock reservation is keyed by the order id.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "shop.hpp"

namespace crest::storefront {

// A stand-in payment provider: fixed latency, and a decline rate decided per order id, so a
// redelivered order gets the same answer it got the first time.
class PaymentSimulator {
 public:
  PaymentSimulator(std::chrono::milliseconds latency, double failure_rate);
  bool charge(std::int64_t order_id, std::int64_t amount_cents) const;

 private:
  std::chrono::milliseconds latency_;
  double failure_rate_;
};

enum class ProcessOutcome {
  confirmed,
  failed,        // out of stock or payment declined; the order says why
  already_done,  // not pending any more: a redelivery
  retry_later,   // a dependency failed; leave the message to be redelivered
  poison,        // the message cannot be processed, ever (it names no order we have)
};

const char* to_string(ProcessOutcome outcome) noexcept;

class OrderProcessor {
 public:
  OrderProcessor(Shop& shop, PaymentSimulator payments);

  // Processes the order a queue message names ({"order_id": N}); its logs carry the checkout's
  // trace_id, from the message's trace_id attribute (or, for messages queued by older versions,
  // the body's "trace_id"). `keep_alive` is called between slow steps so the caller can extend
  // the message's visibility.
  ProcessOutcome process_message(const std::string& body, const std::function<void()>& keep_alive,
                                 const std::string& trace_id_attribute = "");
  ProcessOutcome process(std::int64_t order_id, const std::function<void()>& keep_alive,
                         const std::string& trace_id = "");

 private:
  ProcessOutcome fail(std::int64_t order_id, const std::string& reason, const log::Logger& logger);

  Shop& shop_;
  PaymentSimulator payments_;
  metrics::CounterFamily& processed_;
  metrics::Histogram& order_latency_;
};

}  // namespace crest::storefront
