#include "crest/demo/order_audit.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "crest/stack/child_process.hpp"

namespace crest::demo {

Result<OrderCounts> parse_order_counts(std::string_view text) {
  OrderCounts counts;
  int line_number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++line_number;
    if (line.empty()) continue;
    const auto tab = line.find('\t');
    std::uint64_t n = 0;
    const auto number = tab == std::string_view::npos ? std::string_view{} : line.substr(tab + 1);
    const auto parsed = std::from_chars(number.data(), number.data() + number.size(), n);
    if (number.empty() || parsed.ec != std::errc{} || parsed.ptr != number.data() + number.size()) {
      return Error{ErrorKind::invalid_argument,
                   fmt::format("order counts, line {}: want 'status<TAB>count', got '{}'",
                               line_number, line)};
    }
    const auto status = line.substr(0, tab);
    (status == "pending"     ? counts.pending
     : status == "confirmed" ? counts.confirmed
     : status == "failed"    ? counts.failed
                             : counts.other) += n;
  }
  return counts;
}

Result<OrderCounts> count_orders(const DatabaseAddress& db, const std::string& scratch_dir,
                                 std::optional<std::pair<double, double>> window) {
  std::string sql = "SELECT status, COUNT(*) FROM orders";
  if (window) {
    sql += fmt::format(" WHERE created_at_ns >= {} AND created_at_ns < {}",
                       static_cast<std::int64_t>(window->first * 1e9),
                       static_cast<std::int64_t>(window->second * 1e9));
  }
  sql += " GROUP BY status";
  auto client = stack::find_program("mariadb");
  if (!client.ok()) return client.error();
  const auto out = (std::filesystem::path(scratch_dir) / "order-counts.txt").string();
  stack::ProcessSpec spec;
  spec.program = *client;
  spec.args = {"--no-defaults",
               "--host=" + db.host,
               fmt::format("--port={}", db.port),
               "--user=" + db.user,
               "--batch",
               "--skip-column-names",
               "--database=" + db.database,
               "--execute=" + sql};
  spec.env = {{"MYSQL_PWD", db.password}};
  spec.log_path = out;
  std::error_code ec;
  std::filesystem::remove(out, ec);  // the child appends to its log
  auto process = stack::ChildProcess::spawn(spec);
  if (!process.ok()) return process.error();
  const auto status = process->wait_for_exit(std::chrono::seconds(20));
  std::ifstream in(out);
  std::stringstream text;
  text << in.rdbuf();
  if (!status) {
    process->stop(std::chrono::milliseconds(200));
    return Error{ErrorKind::timeout, "counting orders: the mariadb client did not answer in 20 s"};
  }
  if (*status != 0) {
    return Error{ErrorKind::unavailable,
                 fmt::format("counting orders on {}:{}: {}", db.host, db.port, text.str())};
  }
  return parse_order_counts(text.str());
}

std::string OrderAudit::describe() const {
  auto text = fmt::format("{} lost: {} accepted, {} confirmed + {} failed, {} pending", lost(),
                          accepted, stored.confirmed, stored.failed, stored.pending);
  if (stored.total() > accepted) {
    text += fmt::format(
        " ({} more stored than the load saw accepted: checkouts it gave up on at its "
        "timeout, which the shop still took)",
        stored.total() - accepted);
  }
  return text;
}

}  // namespace crest::demo
