#pragma once
// Orders lost, counted where they live: the orders table on the MariaDB primary. An order the
// shop accepted (a 2xx to checkout) must end confirmed or failed with a reason; none may stay
// pending once the platform has recovered.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/error.hpp"

namespace crest::demo {

struct OrderCounts {
  std::uint64_t pending = 0;
  std::uint64_t confirmed = 0;
  std::uint64_t failed = 0;
  std::uint64_t other = 0;  // a status this code does not know
  std::uint64_t total() const { return pending + confirmed + failed + other; }
  std::uint64_t finished() const { return confirmed + failed; }
};

// `status<TAB>count` lines (the mariadb client's --batch --skip-column-names output).
Result<OrderCounts> parse_order_counts(std::string_view batch_output);

struct DatabaseAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string user = "crest";
  std::string password = "crest";  // passed in the environment (MYSQL_PWD), never on argv
  std::string database = "crest";
};

// Counts orders by status with the mariadb client; with a window, only orders created in
// [from, to) (Unix seconds). An error quoting the client's message when it fails.
Result<OrderCounts> count_orders(const DatabaseAddress& db, const std::string& scratch_dir,
                                 std::optional<std::pair<double, double>> window = std::nullopt);

struct StoredOrder {
  std::string id;
  std::string status;
};

// `id<TAB>status` lines (the mariadb client's --batch --skip-column-names output of
// `SELECT id, status FROM orders`). An error naming the line when one is not that.
Result<std::vector<StoredOrder>> parse_stored_orders(std::string_view batch_output);
OrderCounts count_by_status(const std::vector<StoredOrder>& orders);

// Every order's id and status with the mariadb client (one query); with a window, only orders
// created in [from, to) (Unix seconds).
Result<std::vector<StoredOrder>> read_orders(
    const DatabaseAddress& db, const std::string& scratch_dir,
    std::optional<std::pair<double, double>> window = std::nullopt);

// The checkouts the load generator saw accepted over the load runs on one platform: their count
// (2xx answers) and, when every run recorded them (`record: true` on the checkout's order_id
// capture), their order ids.
struct AcceptedCheckouts {
  std::uint64_t count = 0;
  std::vector<std::string> ids;
  // Why the ids are not complete ("peak.json: no recorded order ids"), one per run; empty when
  // they are.
  std::vector<std::string> ids_incomplete;
  bool has_ids() const { return ids_incomplete.empty(); }
  // One run's accepted checkouts: `ids` is nullopt when the run recorded none, and `not_kept` is
  // how many the load engine left out at its recording limit.
  void add(std::uint64_t accepted_2xx, const std::vector<std::string>* run_ids,
           std::uint64_t not_kept, const std::string& run_name);
};

struct OrderAudit {
  std::uint64_t accepted = 0;  // 2xx answers to checkout that the load generator saw
  OrderCounts stored;          // every order in the database (the window), by status
  // By ids (every load run recorded its accepted order ids): the comparison below is exact.
  // Otherwise the count comparison, and fallback_reason says why.
  bool by_ids = false;
  std::string fallback_reason;
  std::uint64_t accepted_ids = 0;  // distinct ids accepted
  std::uint64_t without_id = 0;    // 2xx answers whose id was not recorded (no id in the body)
  OrderCounts accepted_stored;     // the accepted ids as the database holds them
  std::uint64_t missing = 0;       // accepted ids the database does not hold
  std::vector<std::string> missing_ids;  // the first few of them
  // Stored orders the load never saw accepted: checkouts in flight when a run's hard stop cut
  // them, or past their timeout, that the shop took all the same.
  std::uint64_t not_seen_accepted = 0;

  // Accepted orders that are neither confirmed nor failed: pending ones, or ones missing. By ids
  // exactly; by counts, accepted - confirmed - failed (a timed-out checkout the shop took then
  // hides a real loss of the same size).
  std::uint64_t lost() const;
  // Orders that ended neither confirmed nor failed among those the audit judges.
  std::uint64_t pending() const { return by_ids ? accepted_stored.pending : stored.pending; }
  bool ok() const { return lost() == 0 && stored.pending == 0; }
  // By ids: "0 lost: 243 accepted (by order id), 236 confirmed + 7 failed, 0 pending; 2 more
  // stored that the load never saw accepted (...)", naming the first missing ids. By counts:
  // "0 lost: 243 accepted, 264 confirmed + 7 failed, 0 pending (counts: WHY)".
  std::string describe() const;
};

// The audit of `accepted` against the orders the database holds.
OrderAudit audit_orders(const AcceptedCheckouts& accepted, const std::vector<StoredOrder>& stored);

}  // namespace crest::demo
