#include <algorithm>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "soci_shared.hpp"
#include "sql_dialect.hpp"

namespace crest::store {
namespace {

using soci_shared::find_by_key;
using soci_shared::kMaxOrdersPerPage;
using soci_shared::kMaxOutboxBatch;
using soci_shared::load_order;

// Sorted by product, or invalid_argument.
Result<std::vector<OrderLine>> checked_lines(const NewOrder& order) {
  if (order.idempotency_key.empty()) {
    return Error{ErrorKind::invalid_argument, "idempotency key is empty"};
  }
  if (order.lines.empty()) {
    return Error{ErrorKind::invalid_argument, "an order needs at least one line"};
  }
  std::vector<OrderLine> lines = order.lines;
  std::sort(lines.begin(), lines.end(),
            [](const OrderLine& a, const OrderLine& b) { return a.product_id < b.product_id; });
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].quantity <= 0 || lines[i].unit_price_cents < 0) {
      return Error{ErrorKind::invalid_argument, "order lines need a positive quantity"};
    }
    if (i > 0 && lines[i].product_id == lines[i - 1].product_id) {
      return Error{ErrorKind::invalid_argument, "an order lists a product twice"};
    }
  }
  return lines;
}

Result<int> checked_limit(int limit, int most) {
  if (limit < 1 || limit > most) {
    return Error{ErrorKind::invalid_argument, fmt::format("limit must be 1..{}", most)};
  }
  return limit;
}

}  // namespace

SqlOrderStore::SqlOrderStore(SqlDatabasePtr db, Clock& clock)
    : db_(std::move(db)), dialect_(db_->dialect()), clock_(clock) {}

Result<CreatedOrder> SqlOrderStore::create_order(const NewOrder& order) {
  auto checked = checked_lines(order);
  if (!checked.ok()) {
    return checked.error();
  }
  const std::vector<OrderLine>& lines = checked.value();
  const std::int64_t now = to_ns(clock_.wall_now());
  auto attempt = [&]() {
    return dialect_.write([&](soci::session& sql) -> Result<CreatedOrder> {
      if (auto existing = find_by_key(sql, order.user_id, order.idempotency_key)) {
        auto o = load_order(sql, *existing);
        if (!o) {
          return Error{ErrorKind::internal, "an order vanished while being read"};
        }
        return CreatedOrder{std::move(*o), false};
      }
      const std::string status = to_string(OrderStatus::pending);
      const std::string no_reason;
      // A concurrent request with the same key (on MySQL; another process on the same SQLite
      // file) waits on the unique index until the first commits, then fails with a conflict:
      // the caller re-reads the winner.
      sql << "INSERT INTO orders (user_id, idempotency_key, status, failure_reason, total_cents, "
             "created_at_ns, updated_at_ns) VALUES (:u, :k, :s, :r, :t, :c, :m)",
          soci::use(order.user_id), soci::use(order.idempotency_key), soci::use(status),
          soci::use(no_reason), soci::use(order.total_cents), soci::use(now), soci::use(now);
      const std::int64_t id = dialect_.last_insert_id(sql);
      for (const auto& line : lines) {
        sql << "INSERT INTO order_lines (order_id, product_id, quantity, unit_price_cents) "
               "VALUES (:o, :p, :q, :c)",
            soci::use(id), soci::use(line.product_id), soci::use(line.quantity),
            soci::use(line.unit_price_cents);
      }
      nlohmann::json message{{"order_id", id}};
      if (!order.trace_id.empty()) message["trace_id"] = order.trace_id;
      const std::string payload = message.dump();
      sql << "INSERT INTO outbox (payload, created_at_ns) VALUES (:p, :t)", soci::use(payload),
          soci::use(now);
      Order created;
      created.id = id;
      created.user_id = order.user_id;
      created.idempotency_key = order.idempotency_key;
      created.status = OrderStatus::pending;
      created.lines = lines;
      created.total_cents = order.total_cents;
      created.created_at = from_ns(now);
      created.updated_at = created.created_at;
      return CreatedOrder{std::move(created), true};
    });
  };
  auto result = attempt();
  if (!result && result.error().kind == ErrorKind::conflict) {
    result = attempt();  // lost the race on the idempotency key: return the winner's order
  }
  if (result) {
    dialect_.record_write(user_key(order.user_id));
    dialect_.record_write(order_key(result->order.id));
  }
  return result;
}

Result<Order> SqlOrderStore::order(std::int64_t order_id, Consistency consistency) {
  const std::string recent = order_key(order_id);
  return dialect_.read(consistency, {recent}, [&](soci::session& sql) -> Result<Order> {
    auto o = load_order(sql, order_id);
    if (!o) {
      return Error{ErrorKind::not_found, fmt::format("order {} not found", order_id)};
    }
    return std::move(*o);
  });
}

Result<Order> SqlOrderStore::order_by_idempotency_key(std::int64_t user_id, std::string_view key) {
  return dialect_.read(Consistency::strong, {}, [&](soci::session& sql) -> Result<Order> {
    const auto id = find_by_key(sql, user_id, std::string(key));
    auto o = id ? load_order(sql, *id) : std::nullopt;
    if (!o) {
      return Error{ErrorKind::not_found, "no order with this idempotency key"};
    }
    return std::move(*o);
  });
}

Result<std::vector<Order>> SqlOrderStore::orders_for_user(std::int64_t user_id, int limit,
                                                          Consistency consistency) {
  if (auto checked = checked_limit(limit, kMaxOrdersPerPage); !checked.ok()) {
    return checked.error();
  }
  const std::string recent = user_key(user_id);
  return dialect_.read(
      consistency, {recent}, [&](soci::session& sql) -> Result<std::vector<Order>> {
        return soci_shared::load_orders(
            sql, fmt::format("WHERE user_id = {} ORDER BY id DESC LIMIT {}", user_id, limit));
      });
}

Result<void> SqlOrderStore::set_status(std::int64_t order_id, OrderStatus from, OrderStatus to,
                                       std::string_view failure_reason) {
  const std::int64_t now = to_ns(clock_.wall_now());
  const std::string from_text = to_string(from);
  const std::string to_text = to_string(to);
  const std::string reason(failure_reason);
  auto result = dialect_.write([&](soci::session& sql) -> Result<void> {
    return soci_shared::transition_order(sql, order_id, from_text, to_text, reason, now);
  });
  if (result) {
    dialect_.record_write(order_key(order_id));
  }
  return result;
}

Result<std::vector<OutboxEntry>> SqlOrderStore::pending_outbox(int limit) {
  if (auto checked = checked_limit(limit, kMaxOutboxBatch); !checked.ok()) {
    return checked.error();
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return dialect_.write([&](soci::session& sql) -> Result<std::vector<OutboxEntry>> {
    return soci_shared::claim_pending_outbox(sql, limit, now,
                                             dialect_.fragments.lock_rows_skip_locked);
  });
}

Result<void> SqlOrderStore::mark_outbox_sent(const std::vector<std::int64_t>& ids) {
  if (ids.empty()) {
    return {};
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return dialect_.write([&](soci::session& sql) -> Result<void> {
    soci_shared::mark_outbox_sent(sql, ids, now);
    return {};
  });
}

Result<OrderBacklog> SqlOrderStore::backlog() {
  return dialect_.read(Consistency::strong, {}, [&](soci::session& sql) -> Result<OrderBacklog> {
    return soci_shared::select_backlog(sql);
  });
}

Result<std::vector<std::int64_t>> SqlOrderStore::pending_orders_created_before(
    WallTime cutoff, std::int64_t after_id, int limit) {
  if (auto checked = checked_limit(limit, kMaxOutboxBatch); !checked.ok()) {
    return checked.error();
  }
  const std::int64_t cutoff_ns = to_ns(cutoff);
  return dialect_.read(
      Consistency::strong, {}, [&](soci::session& sql) -> Result<std::vector<std::int64_t>> {
        return soci_shared::select_pending_orders_before(sql, cutoff_ns, after_id, limit);
      });
}

}  // namespace crest::store
