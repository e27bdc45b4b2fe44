#pragma once
// Domain types shared by every store port and adapter. Plain values: no I/O, no behaviour
// beyond small conversions, so services, adapters and tests can all build them freely.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/clock.hpp"

namespace crest::store {

using WallTime = Clock::WallTime;

// Which copy of the data a read may come from. Adapters with read replicas (MySQL) serve
// `eventual` from a replica and `strong` from the primary (read-your-writes, e.g. an order
// right after checkout); single-copy adapters (SQLite, DynamoDB strongly consistent reads)
// treat both alike.
enum class Consistency : std::uint8_t { eventual, strong };

struct Category {
  std::int64_t id = 0;  // 0 on insert: the store assigns one
  std::string slug;     // unique
  std::string name;
};

struct Product {
  std::int64_t id = 0;  // 0 on insert: the store assigns one
  std::int64_t category_id = 0;
  std::string sku;  // unique
  std::string name;
  std::string description;
  std::int64_t price_cents = 0;
  std::int64_t stock = 0;
  std::int64_t version = 1;  // bumped on every change; a cache key suffix or ETag
  WallTime updated_at{};
};

enum class ProductSort : std::uint8_t { relevance_or_id, price_asc, price_desc, name_asc, newest };

struct ProductQuery {
  static constexpr int max_page_size = 100;

  std::optional<std::int64_t> category_id;
  std::string text;    // case-insensitive substring of name or description; empty matches all
  int page = 1;        // 1-based
  int page_size = 20;  // 1..max_page_size, else invalid_argument
  ProductSort sort = ProductSort::relevance_or_id;
};

struct ProductPage {
  std::vector<Product> items;
  std::int64_t total = 0;  // matching products over all pages
  int page = 1;
  int page_size = 20;
};

struct User {
  std::int64_t id = 0;
  std::string email;  // unique, stored lower-case
  std::string name;
  std::string password_hash;  // never logged
  WallTime created_at{};
};

struct Session {
  std::string token;  // never logged
  std::int64_t user_id = 0;
  WallTime expires_at{};
};

struct CartLine {
  std::int64_t product_id = 0;
  std::int64_t quantity = 0;

  friend bool operator==(const CartLine&, const CartLine&) = default;
};

struct Cart {
  std::int64_t user_id = 0;
  std::vector<CartLine> lines;  // sorted by product_id, quantities > 0
};

// Cart lines a checkout took out of the cart (compare-and-delete) and has not yet turned into
// its order: the order store and the cart store are different databases with real backends, so
// the claim is what makes a crash between the two writes recoverable.
struct CartClaim {
  std::string idempotency_key;  // the checkout's
  std::vector<CartLine> lines;  // sorted by product_id
  WallTime claimed_at{};
};

enum class OrderStatus : std::uint8_t { pending, confirmed, failed };

const char* to_string(OrderStatus status) noexcept;
std::optional<OrderStatus> parse_order_status(std::string_view text) noexcept;

struct OrderLine {
  std::int64_t product_id = 0;
  std::int64_t quantity = 0;
  std::int64_t unit_price_cents = 0;

  friend bool operator==(const OrderLine&, const OrderLine&) = default;
};

struct Order {
  std::int64_t id = 0;
  std::int64_t user_id = 0;
  std::string idempotency_key;
  OrderStatus status = OrderStatus::pending;
  std::string failure_reason;    // empty unless failed
  std::vector<OrderLine> lines;  // sorted by product_id
  std::int64_t total_cents = 0;
  WallTime created_at{};
  WallTime updated_at{};
};

struct NewOrder {
  std::int64_t user_id = 0;
  std::string idempotency_key;   // unique per user
  std::vector<OrderLine> lines;  // non-empty
  std::int64_t total_cents = 0;
  std::string trace_id;  // the checkout's; carried in the queue message to the worker's logs
};

struct CreatedOrder {
  Order order;
  bool created = false;  // false: the idempotency key was seen before; `order` is that order
};

// A row of the transactional outbox, written in the same transaction as its order.
struct OutboxEntry {
  std::int64_t id = 0;
  std::string payload;  // JSON, e.g. {"order_id":42}
  WallTime created_at{};
};

// What is waiting in the order flow, for the relay's gauges: the real backlog, not a batch.
struct OrderBacklog {
  std::int64_t unsent_outbox = 0;                     // outbox rows not yet published
  std::int64_t pending_orders = 0;                    // orders neither confirmed nor failed
  std::optional<WallTime> oldest_pending_created_at;  // empty when nothing is pending
};

// A wall time as nanoseconds since the Unix epoch, the form the stores keep it in, and back.
std::int64_t to_ns(WallTime t);
WallTime from_ns(std::int64_t ns);

// Lower-cases ASCII letters; e-mail addresses are compared in this form.
std::string normalize_email(std::string_view email);

}  // namespace crest::store
