#include "crest/demo/order_audit.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "crest/stack/child_process.hpp"

namespace crest::demo {

namespace {
constexpr std::size_t kMissingIdsNamed = 5;  // missing ids named in the text
}  // namespace

namespace {

// Calls on_line(number, line) for each non-empty line of the client's output; the first error it
// returns ends the reading.
template <typename OnLine>
Result<void> for_each_line(std::string_view text, OnLine on_line) {
  int line_number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++line_number;
    if (line.empty()) continue;
    if (auto r = on_line(line_number, line); !r.ok()) return r;
  }
  return {};
}

void add_status(OrderCounts& counts, std::string_view status, std::uint64_t n) {
  (status == "pending"     ? counts.pending
   : status == "confirmed" ? counts.confirmed
   : status == "failed"    ? counts.failed
                           : counts.other) += n;
}

}  // namespace

Result<OrderCounts> parse_order_counts(std::string_view text) {
  OrderCounts counts;
  auto read = for_each_line(text, [&](int line_number, std::string_view line) -> Result<void> {
    const auto tab = line.find('\t');
    std::uint64_t n = 0;
    const auto number = tab == std::string_view::npos ? std::string_view{} : line.substr(tab + 1);
    const auto parsed = std::from_chars(number.data(), number.data() + number.size(), n);
    if (number.empty() || parsed.ec != std::errc{} || parsed.ptr != number.data() + number.size()) {
      return Error{ErrorKind::invalid_argument,
                   fmt::format("order counts, line {}: want 'status<TAB>count', got '{}'",
                               line_number, line)};
    }
    add_status(counts, line.substr(0, tab), n);
    return {};
  });
  if (!read.ok()) return read.error();
  return counts;
}

namespace {

// Runs one query with the mariadb client (--batch --skip-column-names) and returns its output.
// `what` names the query in errors ("counting orders").
Result<std::string> run_query(const DatabaseAddress& db, const std::string& scratch_dir,
                              const std::string& sql, const std::string& output_name,
                              const std::string& what) {
  auto client = stack::find_program("mariadb");
  if (!client.ok()) return client.error();
  const auto out = (std::filesystem::path(scratch_dir) / output_name).string();
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
    return Error{ErrorKind::timeout, what + ": the mariadb client did not answer in 20 s"};
  }
  if (*status != 0) {
    return Error{ErrorKind::unavailable,
                 fmt::format("{} on {}:{}: {}", what, db.host, db.port, text.str())};
  }
  return text.str();
}

std::string window_clause(std::optional<std::pair<double, double>> window) {
  if (!window) return "";
  return fmt::format(" WHERE created_at_ns >= {} AND created_at_ns < {}",
                     static_cast<std::int64_t>(window->first * 1e9),
                     static_cast<std::int64_t>(window->second * 1e9));
}

// A line as quoted in an error: at most 80 bytes of it.
std::string quoted(std::string_view line) {
  return line.size() <= 80 ? std::string(line) : std::string(line.substr(0, 80)) + "...";
}

}  // namespace

Result<OrderCounts> count_orders(const DatabaseAddress& db, const std::string& scratch_dir,
                                 std::optional<std::pair<double, double>> window) {
  auto text =
      run_query(db, scratch_dir,
                "SELECT status, COUNT(*) FROM orders" + window_clause(window) + " GROUP BY status",
                "order-counts.txt", "counting orders");
  if (!text.ok()) return text.error();
  return parse_order_counts(*text);
}

Result<std::vector<StoredOrder>> parse_stored_orders(std::string_view text) {
  std::vector<StoredOrder> orders;
  auto read = for_each_line(text, [&](int line_number, std::string_view line) -> Result<void> {
    const auto tab = line.find('\t');
    const auto id = line.substr(0, tab);
    const auto status = tab == std::string_view::npos ? std::string_view{} : line.substr(tab + 1);
    if (id.empty() || id.find_first_not_of("0123456789") != std::string_view::npos ||
        status.empty() || status.find('\t') != std::string_view::npos) {
      return Error{ErrorKind::invalid_argument,
                   fmt::format("orders, line {}: want 'id<TAB>status' (a numeric id), got '{}'",
                               line_number, quoted(line))};
    }
    orders.push_back({std::string(id), std::string(status)});
    return {};
  });
  if (!read.ok()) return read.error();
  return orders;
}

OrderCounts count_by_status(const std::vector<StoredOrder>& orders) {
  OrderCounts counts;
  for (const auto& o : orders) add_status(counts, o.status, 1);
  return counts;
}

Result<std::vector<StoredOrder>> read_orders(const DatabaseAddress& db,
                                             const std::string& scratch_dir,
                                             std::optional<std::pair<double, double>> window) {
  auto text = run_query(db, scratch_dir, "SELECT id, status FROM orders" + window_clause(window),
                        "orders.txt", "reading orders");
  if (!text.ok()) return text.error();
  return parse_stored_orders(*text);
}

void AcceptedCheckouts::add(std::uint64_t accepted_2xx, const std::vector<std::string>* run_ids,
                            std::uint64_t not_kept, const std::string& run_name) {
  count += accepted_2xx;
  if (run_ids == nullptr) {
    if (accepted_2xx > 0) {  // a run without checkouts has no ids to miss
      ids_incomplete.push_back(run_name +
                               ": no recorded order ids (an older output, or a plan without "
                               "record: true on the checkout's order_id capture)");
    }
    return;
  }
  if (not_kept > 0) {
    ids_incomplete.push_back(
        fmt::format("{}: {} order ids past the load engine's recording limit were not kept",
                    run_name, not_kept));
  }
  ids.insert(ids.end(), run_ids->begin(), run_ids->end());
}

OrderAudit audit_orders(const AcceptedCheckouts& accepted, const std::vector<StoredOrder>& stored) {
  OrderAudit audit;
  audit.accepted = accepted.count;
  audit.stored = count_by_status(stored);
  if (!accepted.has_ids()) {
    for (const auto& why : accepted.ids_incomplete) {
      audit.fallback_reason += (audit.fallback_reason.empty() ? "" : "; ") + why;
    }
    return audit;
  }
  audit.by_ids = true;
  std::unordered_map<std::string_view, std::string_view> status_of;
  status_of.reserve(stored.size());
  for (const auto& o : stored) status_of.emplace(o.id, o.status);
  std::unordered_set<std::string_view> seen;
  seen.reserve(accepted.ids.size());
  for (const auto& id : accepted.ids) {
    if (!seen.insert(id).second) continue;
    const auto found = status_of.find(id);
    if (found == status_of.end()) {
      ++audit.missing;
      if (audit.missing_ids.size() < kMissingIdsNamed) audit.missing_ids.push_back(id);
      continue;
    }
    const auto status = found->second;
    (status == "pending"     ? audit.accepted_stored.pending
     : status == "confirmed" ? audit.accepted_stored.confirmed
     : status == "failed"    ? audit.accepted_stored.failed
                             : audit.accepted_stored.other) += 1;
  }
  audit.accepted_ids = seen.size();
  audit.without_id =
      accepted.count > accepted.ids.size() ? accepted.count - accepted.ids.size() : 0;
  for (const auto& o : stored) {
    audit.not_seen_accepted += seen.contains(o.id) ? 0 : 1;
  }
  return audit;
}

std::uint64_t OrderAudit::lost() const {
  if (by_ids) return missing + accepted_stored.pending + accepted_stored.other;
  return accepted > stored.finished() ? accepted - stored.finished() : 0;
}

std::string OrderAudit::describe() const {
  if (by_ids) {
    auto text = fmt::format(
        "{} lost: {} accepted (by order id), {} confirmed + {} failed, {} pending", lost(),
        accepted_ids, accepted_stored.confirmed, accepted_stored.failed, accepted_stored.pending);
    if (accepted_stored.other > 0) {
      text += fmt::format(", {} in another status", accepted_stored.other);
    }
    if (missing > 0) {
      std::string named;
      for (const auto& id : missing_ids) named += (named.empty() ? "" : ", ") + id;
      text += fmt::format("; {} not in the database: {}{}", missing, named,
                          missing > missing_ids.size() ? ", ..." : "");
    }
    if (not_seen_accepted > 0) {
      text += fmt::format(
          "; {} more stored that the load never saw accepted (checkouts whose answer it never "
          "saw: in flight when a run stopped, or past its timeout)",
          not_seen_accepted);
    }
    if (without_id > 0) {
      text +=
          fmt::format("; {} accepted checkouts had no recorded order id to compare", without_id);
    }
    return text;
  }
  auto text = fmt::format("{} lost: {} accepted, {} confirmed + {} failed, {} pending", lost(),
                          accepted, stored.confirmed, stored.failed, stored.pending);
  if (stored.total() > accepted) {
    text += fmt::format(
        " ({} more stored than the load saw accepted: checkouts whose answer it never saw, in "
        "flight when a run stopped or past its timeout, which can hide as many lost)",
        stored.total() - accepted);
  }
  if (!fallback_reason.empty()) {
    text += " (compared by count, not by order id: " + fallback_reason + ")";
  }
  return text;
}

}  // namespace crest::demo
