#pragma once
// Port: orders and their transactional outbox.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/store/model.hpp"

namespace crest::store {

class OrderStore {
 public:
  virtual ~OrderStore() = default;

  // In one transaction: the order (status pending), its lines, and an outbox row with payload
  // {"order_id":N,"trace_id":T} (trace_id only when the order has one). (user_id, idempotency_key)
  // is unique: a repeated key, even from a concurrent request, returns the existing order with
  // created == false and writes nothing. invalid_argument for an empty key or no lines.
  virtual Result<CreatedOrder> create_order(const NewOrder& order) = 0;
  // not_found if absent. Read-your-writes (the order right after checkout) wants `strong`.
  virtual Result<Order> order(std::int64_t order_id,
                              Consistency consistency = Consistency::eventual) = 0;
  // The order a user created with this idempotency key; not_found if none. A checkout retried
  // after its first attempt emptied the cart finds its order here.
  virtual Result<Order> order_by_idempotency_key(std::int64_t user_id, std::string_view key) = 0;
  // Newest first, at most `limit` (1..100, else invalid_argument).
  virtual Result<std::vector<Order>> orders_for_user(
      std::int64_t user_id, int limit, Consistency consistency = Consistency::eventual) = 0;
  // Compare-and-set on the status: conflict if the current status is not `from` (so a worker
  // seeing a redelivered message does not apply a transition twice); not_found if absent.
  virtual Result<void> set_status(std::int64_t order_id, OrderStatus from, OrderStatus to,
                                  std::string_view failure_reason = {}) = 0;

  // Claims outbox rows not yet marked sent and not claimed by another relay, oldest first, at
  // most `limit`, for a lease of 10 s (MySQL: SELECT ... FOR UPDATE SKIP LOCKED, so relays in
  // several `orders` instances publish each row once; SQLite: a claim column under the write
  // lock). A relay that dies before mark_outbox_sent loses its claim when the lease ends.
  virtual Result<std::vector<OutboxEntry>> pending_outbox(int limit) = 0;
  // Marks rows sent; unknown or already-sent ids are ignored (the relay may repeat itself).
  virtual Result<void> mark_outbox_sent(const std::vector<std::int64_t>& ids) = 0;

  // Counts for the gauges (read from the primary).
  virtual Result<OrderBacklog> backlog() = 0;
  // Ids above `after_id` of orders still pending that were created before `cutoff`, in id
  // order, at most `limit` (1..1000): the start-up sweep re-publishes them, page by page.
  virtual Result<std::vector<std::int64_t>> pending_orders_created_before(WallTime cutoff,
                                                                          std::int64_t after_id,
                                                                          int limit) = 0;
};

using OrderStorePtr = std::unique_ptr<OrderStore>;

}  // namespace crest::store
