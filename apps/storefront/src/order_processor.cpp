#include "order_processor.hpp"

#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace crest::storefront {

PaymentSimulator::PaymentSimulator(std::chrono::milliseconds latency, double failure_rate)
    : latency_(latency), failure_rate_(failure_rate) {}

bool PaymentSimulator::charge(std::int64_t order_id, std::int64_t /*amount_cents*/) const {
  if (latency_.count() > 0) std::this_thread::sleep_for(latency_);
  // splitmix64 of the order id: a fixed, well-spread draw in [0, 1) per order.
  auto z = static_cast<std::uint64_t>(order_id) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  const double draw = static_cast<double>(z >> 11) / static_cast<double>(1ULL << 53);
  return draw >= failure_rate_;
}

const char* to_string(ProcessOutcome outcome) noexcept {
  switch (outcome) {
    case ProcessOutcome::confirmed:
      return "confirmed";
    case ProcessOutcome::failed:
      return "failed";
    case ProcessOutcome::already_done:
      return "already_done";
    case ProcessOutcome::retry_later:
      return "retry_later";
    case ProcessOutcome::poison:
      return "poison";
  }
  return "poison";
}

OrderProcessor::OrderProcessor(Shop& shop, PaymentSimulator payments)
    : shop_(shop),
      payments_(payments),
      processed_(shop.metrics->counter_family(
          "crest_orders_processed_total", "Orders the worker finished, by result.", {"result"})),
      order_latency_(shop.metrics->histogram(
          "crest_order_processing_duration_seconds",
          "Time from checkout to the order being confirmed or failed.",
          metrics::Buckets{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300})) {
  // Both series exist from the start, so dashboards and alerts see 0 rather than nothing.
  processed_.with({"confirmed"});
  processed_.with({"failed"});
}

ProcessOutcome OrderProcessor::process_message(const std::string& body,
                                               const std::function<void()>& keep_alive,
                                               const std::string& trace_id_attribute) {
  const auto message = nlohmann::json::parse(body, nullptr, false);
  if (message.is_discarded() || !message.is_object() || !message.contains("order_id") ||
      !message["order_id"].is_number_integer() || message["order_id"].get<std::int64_t>() <= 0) {
    shop_.logger.error("poison message: not an order reference", {{"body", body.substr(0, 200)}});
    return ProcessOutcome::poison;
  }
  std::string trace_id = trace_id_attribute;
  // Messages queued before the trace_id moved to the attributes carry it in the body.
  if (trace_id.empty() && message.contains("trace_id") && message["trace_id"].is_string()) {
    trace_id = message["trace_id"].get<std::string>();
  }
  return process(message["order_id"].get<std::int64_t>(), keep_alive, trace_id);
}

ProcessOutcome OrderProcessor::fail(std::int64_t order_id, const std::string& reason,
                                    const log::Logger& logger) {
  auto status = shop_.stores.orders->set_status(order_id, store::OrderStatus::pending,
                                                store::OrderStatus::failed, reason);
  if (!status.ok()) {
    return status.error().kind == ErrorKind::conflict ? ProcessOutcome::already_done
                                                      : ProcessOutcome::retry_later;
  }
  processed_.with({"failed"}).inc();
  logger.info("order failed", {{"order_id", order_id}, {"reason", reason}});
  return ProcessOutcome::failed;
}

ProcessOutcome OrderProcessor::process(std::int64_t order_id,
                                       const std::function<void()>& keep_alive,
                                       const std::string& trace_id) {
  const log::Logger logger =
      trace_id.empty() ? shop_.logger : shop_.logger.with({{"trace_id", trace_id}});
  auto order = shop_.stores.orders->order(order_id, store::Consistency::strong);
  if (!order.ok()) {
    if (order.error().kind == ErrorKind::not_found) {
      logger.error("poison message: no such order", {{"order_id", order_id}});
      return ProcessOutcome::poison;
    }
    return ProcessOutcome::retry_later;
  }
  if (order->status != store::OrderStatus::pending) return ProcessOutcome::already_done;

  auto reserved = shop_.stores.catalog->reserve_stock(order_id, order->lines);
  if (!reserved.ok()) {
    if (reserved.error().kind == ErrorKind::conflict ||
        reserved.error().kind == ErrorKind::not_found) {
      return fail(order_id, "out of stock: " + reserved.error().message, logger);
    }
    return ProcessOutcome::retry_later;
  }
  keep_alive();
  if (!payments_.charge(order_id, order->total_cents)) {
    // Give the stock back before failing, so a declined card does not shrink the shelf.
    if (!shop_.stores.catalog->release_stock(order_id).ok()) return ProcessOutcome::retry_later;
    return fail(order_id, "payment declined", logger);
  }
  keep_alive();
  auto confirmed = shop_.stores.orders->set_status(order_id, store::OrderStatus::pending,
                                                   store::OrderStatus::confirmed);
  if (!confirmed.ok()) {
    return confirmed.error().kind == ErrorKind::conflict ? ProcessOutcome::already_done
                                                         : ProcessOutcome::retry_later;
  }
  processed_.with({"confirmed"}).inc();
  order_latency_.observe(
      std::chrono::duration<double>(shop_.clock->wall_now() - order->created_at).count());
  // The notification is a log line standing in for an e-mail.
  logger.info(
      "order confirmed; notification sent",
      {{"order_id", order_id}, {"user_id", order->user_id}, {"total_cents", order->total_cents}});
  return ProcessOutcome::confirmed;
}

}  // namespace crest::storefront
