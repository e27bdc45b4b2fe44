#pragma once
// Orders lost, counted where they live: the orders table on the MariaDB primary. An order the
// shop accepted (a 2xx to checkout) must end confirmed or failed with a reason; none may stay
// pending once the platform has recovered.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

struct OrderAudit {
  std::uint64_t accepted = 0;  // 2xx answers to checkout that the load generator saw
  OrderCounts stored;
  // Accepted orders that are neither confirmed nor failed: pending ones, or ones missing.
  std::uint64_t lost() const {
    return accepted > stored.finished() ? accepted - stored.finished() : 0;
  }
  bool ok() const { return lost() == 0 && stored.pending == 0; }
  // "0 lost: 243 accepted, 264 confirmed + 7 failed, 0 pending", and when the database holds
  // more orders than the load generator saw accepted (a checkout it gave up on at its timeout
  // that the shop still took), how many more and why.
  std::string describe() const;
};

}  // namespace crest::demo
