// The database's own records: the MySQL/MariaDB slow log, performance_schema digest snapshots,
// and the slow-query series.
#include "crest/diagnose/parsers.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "parser_support.hpp"

namespace crest::diagnose {

using namespace detail;

namespace {

// "Query_time: 0.06  Lock_time: 0.0001  Rows_sent: 1  Rows_examined: 20000" into key/values.
bool read_slow_fields(std::string_view line, std::map<std::string, double>& fields) {
  std::istringstream in{std::string(line.substr(1))};
  std::string key;
  while (in >> key) {
    if (key.empty() || key.back() != ':') {
      continue;
    }
    key.pop_back();
    std::string value;
    if (!(in >> value)) {
      return false;
    }
    double v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec == std::errc() && end == value.data() + value.size()) {
      fields[key] = v;
    } else if (key == "Query_time" || key == "Lock_time" || key == "Rows_sent" ||
               key == "Rows_examined") {
      return false;
    }
  }
  return true;
}

// MariaDB's "# Time: 231130  8:47:19" (local time, read as UTC) or MySQL's RFC 3339.
std::optional<double> slow_log_time(std::string_view value) {
  while (!value.empty() && value.front() == ' ') {
    value.remove_prefix(1);
  }
  if (auto t = parse_time(value)) {
    return t;
  }
  int yy = 0, mm = 0, dd = 0, h = 0, m = 0, s = 0;
  if (std::sscanf(std::string(value).c_str(), "%2d%2d%2d %d:%d:%d", &yy, &mm, &dd, &h, &m, &s) ==
      6) {
    return parse_time(fmt::format("20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}Z", yy, mm, dd, h, m, s));
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<SlowQuery>> parse_slow_log(std::string_view text, const std::string& source,
                                              const std::string& server) {
  std::vector<SlowQuery> out;
  std::optional<SlowQuery> current;
  std::optional<double> header_time;
  int entry_line = 0;
  bool in_statement = false;
  auto finish = [&]() {
    if (current && !current->sql.empty()) {
      current->normalized = normalize_sql(current->sql);
      out.push_back(std::move(*current));
    }
    current.reset();
    in_statement = false;
  };
  auto r = for_each_line(text, [&](std::string_view line, int number, bool) -> Result<void> {
    if (line.rfind("# Time:", 0) == 0) {
      finish();
      header_time = slow_log_time(line.substr(7));
      if (!header_time) {
        return bad(source, number, "'# Time:' is not a time");
      }
      return {};
    }
    if (line.rfind("# Query_time:", 0) == 0) {
      finish();
      std::map<std::string, double> fields;
      if (!read_slow_fields(line, fields) || !fields.count("Query_time")) {
        return bad(source, number, "malformed '# Query_time:' line");
      }
      current = SlowQuery{};
      current->server = server;
      current->source = source;
      current->line = number;
      current->query_time_s = fields["Query_time"];
      current->lock_time_s = fields["Lock_time"];
      current->rows_sent = static_cast<std::uint64_t>(fields["Rows_sent"]);
      current->rows_examined = static_cast<std::uint64_t>(fields["Rows_examined"]);
      current->t = header_time.value_or(0);
      entry_line = number;
      return {};
    }
    if (line.rfind("#", 0) == 0) {
      if (line.rfind("# User@Host:", 0) == 0) {
        finish();
      }
      return {};  // Thread_id, Rows_affected, explain lines
    }
    if (!current) {
      return {};  // the server's banner ("Tcp port: ...", "Time Id Command Argument")
    }
    if (line.rfind("SET timestamp=", 0) == 0 && !in_statement) {
      double ts = 0;
      auto digits = line.substr(14);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ts);
      if (ec != std::errc() || end == digits.data() + digits.size() || *end != ';') {
        return bad(source, number, "malformed 'SET timestamp=N;'");
      }
      current->t = ts;
      return {};
    }
    if ((line.rfind("use ", 0) == 0 || line.rfind("USE ", 0) == 0) && !in_statement) {
      return {};
    }
    in_statement = true;
    if (!current->sql.empty()) {
      current->sql += '\n';
    }
    current->sql += std::string(line);
    if (!line.empty() && line.back() == ';') {
      current->sql.pop_back();
      if (current->t == 0) {
        return bad(source, entry_line, "a slow-log entry without '# Time:' or 'SET timestamp'");
      }
      finish();
    }
    return {};
  });
  if (!r.ok()) {
    return r.error();
  }
  if (current) {
    return bad(source, entry_line,
               "truncated slow-log entry: the file ends before its statement's ';'");
  }
  return out;
}

Result<std::vector<DigestSnapshot>> parse_digest_snapshots(std::string_view text,
                                                           const std::string& source) {
  std::vector<DigestSnapshot> out;
  auto r = for_each_timed_json_line(
      text, source, [&](const json& record, double when, int number) -> Result<void> {
        DigestSnapshot s;
        s.t = when;
        s.server = string_field(record, "server");
        if (s.server.empty()) {
          s.server = "primary";
        }
        s.uptime_s = optional_number(record, "uptime_s").value_or(0);
        auto digests = record.find("digests");
        if (digests == record.end() || !digests->is_array()) {
          return bad(source, number, "field 'digests' must be an array");
        }
        for (std::size_t i = 0; i < digests->size(); ++i) {
          const auto& d = (*digests)[i];
          if (!d.is_object()) {
            return bad(source, number, fmt::format("digests[{}]: expected an object", i));
          }
          DigestRow row;
          row.schema = string_field(d, "schema");
          row.digest = string_field(d, "digest");
          row.digest_text = string_field(d, "digest_text");
          struct Field {
            const char* name;
            double* into;
            bool required;
          };
          const Field fields[] = {{"count_star", &row.count_star, true},
                                  {"sum_timer_wait", &row.sum_timer_wait_ps, true},
                                  {"max_timer_wait", &row.max_timer_wait_ps, false},
                                  {"sum_lock_time", &row.sum_lock_time_ps, false},
                                  {"sum_rows_examined", &row.sum_rows_examined, false},
                                  {"sum_rows_sent", &row.sum_rows_sent, false},
                                  {"sum_rows_affected", &row.sum_rows_affected, false},
                                  {"sum_no_index_used", &row.sum_no_index_used, false},
                                  {"sum_no_good_index_used", &row.sum_no_good_index_used, false},
                                  {"sum_errors", &row.sum_errors, false}};
          for (const auto& f : fields) {
            auto it = d.find(f.name);
            if (it == d.end() || it->is_null()) {
              if (f.required) {
                return bad(source, number, fmt::format("digests[{}].{}: missing", i, f.name));
              }
              continue;
            }
            auto v = number_of(*it);
            if (!v || !std::isfinite(*v)) {
              return bad(source, number, fmt::format("digests[{}].{}: not a number", i, f.name));
            }
            *f.into = *v;
          }
          row.quantile_95_ps = optional_number(d, "quantile_95");
          if (row.digest.empty()) {
            row.digest = row.digest_text;
          }
          s.digests.push_back(std::move(row));
        }
        if (auto waits = record.find("waits"); waits != record.end() && waits->is_array()) {
          for (std::size_t i = 0; i < waits->size(); ++i) {
            const auto& w = (*waits)[i];
            auto v = w.is_object() ? optional_number(w, "sum_timer_wait") : std::nullopt;
            if (!v) {
              return bad(source, number, fmt::format("waits[{}].sum_timer_wait: not a number", i));
            }
            s.waits.push_back({string_field(w, "event_name"), *v});
          }
        }
        out.push_back(std::move(s));
        return {};
      });
  if (!r.ok()) {
    return r.error();
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.t < b.t; });
  return out;
}

std::string digest_snapshot_to_json_line(const DigestSnapshot& s) {
  json j;
  j["ts"] = format_time(s.t);
  j["server"] = s.server;
  j["uptime_s"] = s.uptime_s;
  json digests = json::array();
  for (const auto& d : s.digests) {
    json row{{"schema", d.schema},
             {"digest", d.digest},
             {"digest_text", d.digest_text},
             {"count_star", d.count_star},
             {"sum_timer_wait", d.sum_timer_wait_ps},
             {"max_timer_wait", d.max_timer_wait_ps},
             {"sum_lock_time", d.sum_lock_time_ps},
             {"sum_rows_examined", d.sum_rows_examined},
             {"sum_rows_sent", d.sum_rows_sent},
             {"sum_rows_affected", d.sum_rows_affected},
             {"sum_no_index_used", d.sum_no_index_used},
             {"sum_no_good_index_used", d.sum_no_good_index_used},
             {"sum_errors", d.sum_errors}};
    if (d.quantile_95_ps) {
      row["quantile_95"] = *d.quantile_95_ps;
    }
    digests.push_back(std::move(row));
  }
  j["digests"] = std::move(digests);
  json waits = json::array();
  for (const auto& w : s.waits) {
    waits.push_back({{"event_name", w.event_name}, {"sum_timer_wait", w.sum_timer_wait_ps}});
  }
  j["waits"] = std::move(waits);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<Series> slow_log_series(const std::vector<SlowQuery>& queries) {
  if (queries.empty()) {
    return {};
  }
  double lo = queries.front().t, hi = queries.front().t;
  for (const auto& q : queries) {
    lo = std::min(lo, q.t);
    hi = std::max(hi, q.t);
  }
  Buckets b(lo, hi);
  std::map<std::string, std::pair<Series, Series>> per_server;
  for (const auto& q : queries) {
    auto it = per_server.find(q.server);
    if (it == per_server.end()) {
      it = per_server
               .emplace(
                   q.server,
                   std::pair{
                       b.make("crest_db_slow_queries", {{"db_server", q.server}}, q.source),
                       b.make("crest_db_slow_query_seconds", {{"db_server", q.server}}, q.source)})
               .first;
    }
    it->second.first.v[b.index(q.t)] += 1 / b.step;
    it->second.second.v[b.index(q.t)] += q.query_time_s / b.step;
  }
  std::vector<Series> out;
  for (auto& [s, pair] : per_server) {
    out.push_back(std::move(pair.first));
    out.push_back(std::move(pair.second));
  }
  return out;
}

}  // namespace crest::diagnose
