#include "crest/diagnose/db_top.hpp"

#include <soci/mysql/soci-mysql.h>
#include <soci/soci.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crest/diagnose/parsers.hpp"

namespace crest::diagnose {

namespace {

constexpr double kPicoseconds = 1e12;

// "wait/io/file/innodb/innodb_data_file" -> "io/file"; "idle" is not load.
std::string wait_class(const std::string& event) {
  std::string_view e = event;
  if (e.rfind("wait/", 0) == 0) {
    e.remove_prefix(5);
  }
  const auto first = e.find('/');
  if (first == std::string_view::npos) {
    return std::string(e);
  }
  const auto second = e.find('/', first + 1);
  return std::string(e.substr(0, second));
}

struct DigestDelta {
  const DigestRow* row = nullptr;
  double calls = 0, timer_ps = 0, examined = 0, returned = 0, no_index = 0;
};

// Counters of `now` minus `before`; a counter that went down (a TRUNCATE or a restart) counts
// from zero.
double delta(double now, double before) {
  return now >= before ? now - before : now;
}

bool monitoring_statement(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.rfind("show ", 0) == 0 || text.find("performance_schema") != std::string::npos ||
         text.find("information_schema") != std::string::npos;
}

// A statement's row (by digest and schema) in a snapshot, if it has one.
const DigestRow* find_digest(const DigestSnapshot& snapshot, const std::string& digest,
                             const std::string& schema) {
  for (const auto& r : snapshot.digests) {
    if (r.digest == digest && r.schema == schema) return &r;
  }
  return nullptr;
}

bool is_own_query(const DigestRow& d) {
  return d.digest_text.find("performance_schema") != std::string::npos ||
         d.digest_text.find("`information_schema` . `GLOBAL_STATUS`") != std::string::npos;
}

}  // namespace

DbTop compute_db_top(const std::vector<DigestSnapshot>& snapshots, std::optional<double> from,
                     std::optional<double> to) {
  DbTop top;
  if (snapshots.empty()) {
    return top;
  }
  top.server = snapshots.front().server;
  top.from = snapshots.front().t;
  top.to = snapshots.back().t;
  struct Total {
    DigestLoad load;
    double timer_ps = 0, examined = 0, returned = 0, no_index = 0;
  };
  std::map<std::string, Total> totals;
  double covered = 0;
  for (std::size_t i = 1; i < snapshots.size(); ++i) {
    const auto& a = snapshots[i - 1];
    const auto& b = snapshots[i];
    const double seconds = b.t - a.t;
    if (seconds <= 0) {
      continue;
    }
    const bool restarted = b.uptime_s > 0 && a.uptime_s > 0 && b.uptime_s < a.uptime_s;
    std::map<std::string, const DigestRow*> before;
    for (const auto& d : a.digests) {
      before[d.schema + "\x1f" + d.digest] = &d;
    }
    LoadInterval interval{a.t, b.t, 0, {}};
    double statement_ps = 0;
    const bool counted = (!from || b.t > *from) && (!to || a.t < *to);
    for (const auto& d : b.digests) {
      if (is_own_query(d)) {
        continue;
      }
      auto it = restarted ? before.end() : before.find(d.schema + "\x1f" + d.digest);
      const DigestRow zero{};
      const DigestRow& p = it == before.end() ? zero : *it->second;
      const bool reset = d.count_star < p.count_star;
      const DigestRow& base = reset ? zero : p;
      const double calls = delta(d.count_star, base.count_star);
      if (calls <= 0) {
        continue;
      }
      const double timer = delta(d.sum_timer_wait_ps, base.sum_timer_wait_ps);
      statement_ps += timer;
      if (!counted) {
        continue;
      }
      auto& t = totals[d.schema + "\x1f" + d.digest];
      t.load.schema = d.schema;
      t.load.digest = d.digest;
      t.load.digest_text = d.digest_text;
      t.load.calls += calls;
      t.timer_ps += timer;
      t.examined += delta(d.sum_rows_examined, base.sum_rows_examined);
      t.returned += delta(d.sum_rows_sent, base.sum_rows_sent) +
                    delta(d.sum_rows_affected, base.sum_rows_affected);
      t.no_index += delta(d.sum_no_index_used, base.sum_no_index_used);
      t.load.max_latency_s = std::max(t.load.max_latency_s, d.max_timer_wait_ps / kPicoseconds);
      if (d.quantile_95_ps) {
        t.load.p95_latency_s = *d.quantile_95_ps / kPicoseconds;
      }
    }
    interval.aas = statement_ps / kPicoseconds / seconds;
    std::map<std::string, double> wait_before;
    for (const auto& w : a.waits) {
      wait_before[w.event_name] = w.sum_timer_wait_ps;
    }
    double waited_ps = 0;
    for (const auto& w : b.waits) {
      if (w.event_name == "idle" || w.event_name.rfind("idle", 0) == 0) {
        continue;
      }
      const double d = delta(w.sum_timer_wait_ps, restarted ? 0 : wait_before[w.event_name]);
      if (d > 0) {
        interval.by_wait_class[wait_class(w.event_name)] += d / kPicoseconds / seconds;
        waited_ps += d;
      }
    }
    // Statement time not spent in an instrumented wait is on CPU (or in uninstrumented waits).
    interval.by_wait_class["cpu"] =
        std::max(0.0, statement_ps - waited_ps) / kPicoseconds / seconds;
    if (counted) {
      covered += std::min(b.t, to.value_or(b.t)) - std::max(a.t, from.value_or(a.t));
    }
    top.intervals.push_back(std::move(interval));
  }
  if (from) {
    top.from = std::max(top.from, *from);
  }
  if (to) {
    top.to = std::min(top.to, *to);
  }
  covered = std::max(covered, 1e-9);
  for (auto& [key, t] : totals) {
    t.load.aas = t.timer_ps / kPicoseconds / covered;
    t.load.calls_per_s = t.load.calls / covered;
    t.load.mean_latency_s = t.timer_ps / kPicoseconds / t.load.calls;
    t.load.rows_examined_per_row_returned = t.examined / std::max(t.returned, 1.0);
    t.load.no_index = t.no_index > 0;
    top.digests.push_back(t.load);
  }
  std::sort(top.digests.begin(), top.digests.end(),
            [](const DigestLoad& a, const DigestLoad& b) { return a.aas > b.aas; });
  return top;
}

std::vector<DbTop> compute_db_tops(const std::vector<DigestSnapshot>& snapshots,
                                   std::optional<double> from, std::optional<double> to) {
  std::map<std::string, std::vector<DigestSnapshot>> per_server;
  for (const auto& s : snapshots) {
    per_server[s.server].push_back(s);
  }
  std::vector<DbTop> out;
  for (auto& [server, list] : per_server) {
    std::stable_sort(list.begin(), list.end(),
                     [](const auto& a, const auto& b) { return a.t < b.t; });
    out.push_back(compute_db_top(list, from, to));
  }
  return out;
}

std::vector<Series> db_load_series(const std::vector<DigestSnapshot>& snapshots,
                                   std::size_t max_digests) {
  std::vector<Series> out;
  std::map<std::string, std::vector<DigestSnapshot>> per_server;
  for (const auto& s : snapshots) {
    per_server[s.server].push_back(s);
  }
  for (auto& [server, list] : per_server) {
    std::stable_sort(list.begin(), list.end(),
                     [](const auto& a, const auto& b) { return a.t < b.t; });
    const auto whole = compute_db_top(list);
    Series total{"crest_db_aas", {{"db_server", server}}, {}, {}, "digest snapshots"};
    for (const auto& i : whole.intervals) {
      total.t.push_back(i.to);
      total.v.push_back(i.aas);
    }
    out.push_back(std::move(total));
    // The server's time per statement: load that rose only because more statements came (a
    // failed cache's misses) is its callers' doing, as for a client's time spent per call.
    Series per_call{
        "crest_db_seconds_per_call", {{"db_server", server}}, {}, {}, "digest snapshots"};
    for (std::size_t i = 1; i < list.size(); ++i) {
      std::unordered_map<std::string, const DigestRow*> previous;
      for (const auto& r : list[i - 1].digests) previous[r.schema + '.' + r.digest] = &r;
      double timer = 0, calls = 0;
      for (const auto& r : list[i].digests) {
        if (is_own_query(r)) continue;
        const auto it = previous.find(r.schema + '.' + r.digest);
        const DigestRow* before = it == previous.end() ? nullptr : it->second;
        timer += delta(r.sum_timer_wait_ps, before ? before->sum_timer_wait_ps : 0);
        calls += delta(r.count_star, before ? before->count_star : 0);
      }
      if (calls > 0 && list[i].t > list[i - 1].t) {
        per_call.t.push_back(list[i].t);
        per_call.v.push_back(timer / kPicoseconds / calls);
      }
    }
    out.push_back(std::move(per_call));
    std::size_t digests = 0;
    for (std::size_t k = 0; k < whole.digests.size() && digests < max_digests; ++k) {
      const auto& d = whole.digests[k];
      // The monitoring's statements (an exporter's SHOW GLOBAL STATUS / VARIABLES) measure how
      // starved the server is, not what the application asks of it: no series of their own.
      if (monitoring_statement(d.digest_text)) {
        continue;
      }
      ++digests;
      const Labels labels{{"db_server", server}, {"digest", d.digest}};
      Series load{"crest_db_digest_aas", labels, {}, {}, "digest snapshots"};
      // Rows the statement reads per second: an index lost turns a few into thousands.
      Series rows{"crest_db_digest_rows_examined", labels, {}, {}, "digest snapshots"};
      // Per call, the companions that tell a slower or costlier statement from more of them.
      Series time_per_call{"crest_db_digest_seconds_per_call", labels, {}, {}, "digest snapshots"};
      Series rows_per_call{"crest_db_digest_rows_per_call", labels, {}, {}, "digest snapshots"};
      for (std::size_t i = 1; i < list.size(); ++i) {
        const double seconds = list[i].t - list[i - 1].t;
        if (seconds <= 0) {
          continue;
        }
        double timer = 0, examined = 0, calls = 0;
        if (const DigestRow* now = find_digest(list[i], d.digest, d.schema); now != nullptr) {
          const DigestRow* before = find_digest(list[i - 1], d.digest, d.schema);
          timer = delta(now->sum_timer_wait_ps, before ? before->sum_timer_wait_ps : 0);
          examined = delta(now->sum_rows_examined, before ? before->sum_rows_examined : 0);
          calls = delta(now->count_star, before ? before->count_star : 0);
        }
        load.t.push_back(list[i].t);
        load.v.push_back(timer / kPicoseconds / seconds);
        rows.t.push_back(list[i].t);
        rows.v.push_back(examined / seconds);
        if (calls > 0) {
          time_per_call.t.push_back(list[i].t);
          time_per_call.v.push_back(timer / kPicoseconds / calls);
          rows_per_call.t.push_back(list[i].t);
          rows_per_call.v.push_back(examined / calls);
        }
      }
      for (auto* series : {&load, &rows, &time_per_call, &rows_per_call}) {
        out.push_back(std::move(*series));
      }
    }
  }
  return out;
}

namespace {

std::string shorten(std::string text, std::size_t width) {
  for (auto& c : text) {
    if (c == '\n' || c == '\t') {
      c = ' ';
    }
  }
  if (text.size() > width) {
    text = text.substr(0, width - 3) + "...";
  }
  return text;
}

std::string ms(double seconds) {
  return fmt::format("{:.2f}", seconds * 1000);
}

}  // namespace

std::string format_db_top(const DbTop& top, std::size_t rows) {
  std::string out =
      fmt::format("db top: {}  {} .. {}\n", top.server, format_time(top.from), format_time(top.to));
  out += "\nload (average active sessions) by wait class:\n";
  const std::size_t first = top.intervals.size() > 20 ? top.intervals.size() - 20 : 0;
  for (std::size_t i = first; i < top.intervals.size(); ++i) {
    const auto& in = top.intervals[i];
    std::string classes;
    std::vector<std::pair<std::string, double>> sorted(in.by_wait_class.begin(),
                                                       in.by_wait_class.end());
    std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.second > b.second; });
    for (const auto& [name, v] : sorted) {
      if (v >= 0.005) {
        classes += fmt::format(" {}={:.2f}", name, v);
      }
    }
    const int bar = static_cast<int>(std::lround(std::min(in.aas, 20.0) * 2));
    out += fmt::format("  {}  {:6.2f} {:<40} {}\n", format_time(in.to).substr(11, 12), in.aas,
                       std::string(static_cast<std::size_t>(bar), '#'), classes);
  }
  out += fmt::format("\ntop SQL by load:\n  {:>6} {:>8} {:>9} {:>9} {:>9} {:>10} {:<8} {}\n", "AAS",
                     "calls/s", "mean ms", "p95 ms", "max ms", "exam/ret", "index", "digest text");
  for (std::size_t i = 0; i < top.digests.size() && i < rows; ++i) {
    const auto& d = top.digests[i];
    out +=
        fmt::format("  {:6.2f} {:8.1f} {:>9} {:>9} {:>9} {:10.1f} {:<8} {}\n", d.aas, d.calls_per_s,
                    ms(d.mean_latency_s), d.p95_latency_s ? ms(*d.p95_latency_s) : std::string("-"),
                    ms(d.max_latency_s), d.rows_examined_per_row_returned,
                    d.no_index ? "no index" : "yes", shorten(d.digest_text, 90));
  }
  if (top.digests.empty()) {
    out += "  (no statements ran between the snapshots)\n";
  }
  return out;
}

std::string db_top_json(const std::vector<DbTop>& tops, std::size_t rows) {
  using nlohmann::json;
  json servers = json::array();
  for (const auto& top : tops) {
    json intervals = json::array();
    for (const auto& i : top.intervals) {
      intervals.push_back({{"from", format_time(i.from)},
                           {"to", format_time(i.to)},
                           {"aas", i.aas},
                           {"by_wait_class", i.by_wait_class}});
    }
    json digests = json::array();
    for (std::size_t k = 0; k < top.digests.size() && k < rows; ++k) {
      const auto& d = top.digests[k];
      digests.push_back(
          {{"schema", d.schema},
           {"digest", d.digest},
           {"digest_text", d.digest_text},
           {"aas", d.aas},
           {"calls", d.calls},
           {"calls_per_s", d.calls_per_s},
           {"mean_latency_ms", d.mean_latency_s * 1000},
           {"p95_latency_ms", d.p95_latency_s ? json(*d.p95_latency_s * 1000) : json(nullptr)},
           {"max_latency_ms", d.max_latency_s * 1000},
           {"rows_examined_per_row_returned", d.rows_examined_per_row_returned},
           {"index_used", !d.no_index}});
    }
    servers.push_back({{"server", top.server},
                       {"from", format_time(top.from)},
                       {"to", format_time(top.to)},
                       {"load", intervals},
                       {"top_sql", digests}});
  }
  return json{{"servers", servers}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

namespace {

std::string quote(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "'";
}

}  // namespace

Result<DigestSnapshot> take_digest_snapshot(const DbConnection& c) {
  try {
    std::string connect = fmt::format(
        "user={} password={} dbname=performance_schema connect_timeout=5 read_timeout=10",
        quote(c.user), quote(c.password));
    connect += c.socket.empty() ? fmt::format(" host={} port={}", quote(c.host), c.port)
                                : fmt::format(" unix_socket={}", quote(c.socket));
    soci::session sql(soci::mysql, connect);
    DigestSnapshot s;
    s.server = c.server_name;
    s.t =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::string uptime;
    sql << "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = "
           "'UPTIME'",
        soci::into(uptime);
    s.uptime_s = std::atof(uptime.c_str());
    soci::rowset<soci::row> rows =
        sql.prepare
        << "SELECT IFNULL(SCHEMA_NAME, ''), IFNULL(DIGEST, ''), IFNULL(DIGEST_TEXT, ''), "
           "CAST(COUNT_STAR AS DOUBLE), CAST(SUM_TIMER_WAIT AS DOUBLE), "
           "CAST(MAX_TIMER_WAIT AS DOUBLE), CAST(SUM_LOCK_TIME AS DOUBLE), "
           "CAST(SUM_ROWS_EXAMINED AS DOUBLE), CAST(SUM_ROWS_SENT AS DOUBLE), "
           "CAST(SUM_ROWS_AFFECTED AS DOUBLE), CAST(SUM_NO_INDEX_USED AS DOUBLE), "
           "CAST(SUM_NO_GOOD_INDEX_USED AS DOUBLE), CAST(SUM_ERRORS AS DOUBLE) "
           "FROM performance_schema.events_statements_summary_by_digest";
    for (const auto& r : rows) {
      DigestRow d;
      d.schema = r.get<std::string>(0);
      d.digest = r.get<std::string>(1);
      d.digest_text = r.get<std::string>(2);
      d.count_star = r.get<double>(3);
      d.sum_timer_wait_ps = r.get<double>(4);
      d.max_timer_wait_ps = r.get<double>(5);
      d.sum_lock_time_ps = r.get<double>(6);
      d.sum_rows_examined = r.get<double>(7);
      d.sum_rows_sent = r.get<double>(8);
      d.sum_rows_affected = r.get<double>(9);
      d.sum_no_index_used = r.get<double>(10);
      d.sum_no_good_index_used = r.get<double>(11);
      d.sum_errors = r.get<double>(12);
      s.digests.push_back(std::move(d));
    }
    soci::rowset<soci::row> waits =
        sql.prepare
        << "SELECT EVENT_NAME, CAST(SUM_TIMER_WAIT AS DOUBLE) FROM "
           "performance_schema.events_waits_summary_global_by_event_name WHERE SUM_TIMER_WAIT > 0";
    for (const auto& r : waits) {
      s.waits.push_back({r.get<std::string>(0), r.get<double>(1)});
    }
    return s;
  } catch (const std::exception& e) {
    return Error{
        ErrorKind::unavailable,
        fmt::format("performance_schema snapshot from {}: {}",
                    c.socket.empty() ? fmt::format("{}:{}", c.host, c.port) : c.socket, e.what())};
  }
}

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) {
  g_stop = 1;
}

}  // namespace

int db_top_command(int argc, char** argv) {
  CLI::App app{"crest db top: database load by SQL digest, as Performance Insights shows it",
               "crest db top"};
  std::string snapshots_file, save_file, password_env, watch_text;
  DbConnection conn;
  std::size_t rows = 10;
  int count = 0;
  bool as_json = false;
  app.add_option("--snapshots", snapshots_file, "saved digest snapshots (JSON lines) to replay");
  app.add_option("--host", conn.host, "MariaDB/MySQL host (127.0.0.1)");
  app.add_option("--port", conn.port, "port (3306)");
  app.add_option("--socket", conn.socket, "a Unix socket instead of host:port");
  app.add_option("--user", conn.user, "user with SELECT on performance_schema (root)");
  app.add_option("--password-env", password_env, "environment variable holding the password");
  app.add_option("--server-name", conn.server_name, "name for this server in snapshots (primary)");
  app.add_option("--watch", watch_text, "take a snapshot every interval (e.g. 1s) and redraw");
  app.add_option("--count", count,
                 "with --watch: stop after this many snapshots (0: until Ctrl-C)");
  app.add_option("--save", save_file, "append every snapshot to this file (JSON lines)");
  app.add_option("--top", rows, "digests to show (10)");
  app.add_flag("--json", as_json, "print JSON instead of the table");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!password_env.empty()) {
    const char* value = std::getenv(password_env.c_str());
    if (value == nullptr) {
      std::cerr << "crest db top: --password-env " << password_env << " is not set\n";
      return 2;
    }
    conn.password = value;
  }
  auto print = [&](const std::vector<DigestSnapshot>& snaps) {
    const auto tops = compute_db_tops(snaps);
    if (as_json) {
      std::cout << db_top_json(tops, rows);
    } else {
      for (const auto& t : tops) {
        std::cout << format_db_top(t, rows);
      }
    }
    std::cout.flush();
  };
  if (!snapshots_file.empty()) {
    auto text = read_text_file(snapshots_file);
    if (!text.ok()) {
      std::cerr << "crest db top: " << text.error().message << "\n";
      return 2;
    }
    auto snaps = parse_digest_snapshots(*text, snapshots_file);
    if (!snaps.ok()) {
      std::cerr << "crest db top: " << snaps.error().message << "\n";
      return 2;
    }
    if (snaps->size() < 2) {
      std::cerr << "crest db top: " << snapshots_file
                << ": need at least two snapshots for a delta\n";
      return 2;
    }
    print(*snaps);
    return 0;
  }
  double interval_s = 1;
  if (!watch_text.empty()) {
    char* end = nullptr;
    interval_s = std::strtod(watch_text.c_str(), &end);
    const std::string unit = end == nullptr ? "" : end;
    if (unit == "ms") {
      interval_s /= 1000;
    } else if (unit == "m") {
      interval_s *= 60;
    } else if (!unit.empty() && unit != "s") {
      std::cerr << "crest db top: --watch: expected a duration such as 1s or 500ms, got '"
                << watch_text << "'\n";
      return 2;
    }
    if (!(interval_s >= 0.1)) {
      std::cerr << "crest db top: --watch: at least 100ms\n";
      return 2;
    }
  }
  std::ofstream save;
  if (!save_file.empty()) {
    save.open(save_file, std::ios::app);
    if (!save) {
      std::cerr << "crest db top: cannot write " << save_file << "\n";
      return 2;
    }
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::vector<DigestSnapshot> snaps;
  const int wanted = watch_text.empty() ? 2 : count;
  while (g_stop == 0 && (wanted == 0 || static_cast<int>(snaps.size()) < wanted)) {
    auto s = take_digest_snapshot(conn);
    if (!s.ok()) {
      std::cerr << "crest db top: " << s.error().message << "\n";
      return 1;
    }
    if (save) {
      save << digest_snapshot_to_json_line(*s) << "\n";
      save.flush();
    }
    snaps.push_back(std::move(*s));
    if (snaps.size() > 600) {
      snaps.erase(snaps.begin());
    }
    if (snaps.size() >= 2 && !watch_text.empty()) {
      if (!as_json) {
        std::cout << "\x1b[H\x1b[2J";
      }
      print(snaps);
    }
    if (wanted != 0 && static_cast<int>(snaps.size()) >= wanted) {
      break;
    }
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(interval_s);
    while (g_stop == 0 && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  if (watch_text.empty() && snaps.size() >= 2) {
    print(snaps);
  }
  return 0;
}

}  // namespace crest::diagnose
