#pragma once
// What every diagnosis input becomes: time series (one name, labels, samples in Unix seconds),
// log events, slow-log statements, database digest snapshots and scaling events. Parsers produce
// these; scoring and rules consume them and never see a file format.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace crest::diagnose {

using Labels = std::map<std::string, std::string>;

struct Series {
  std::string name;
  Labels labels;
  std::vector<double> t;  // Unix seconds, ascending
  std::vector<double> v;
  std::string source;       // the file (or URL) it came from, for evidence
  bool per_second = false;  // already a per-second rate (a counter summed over instances)

  std::string label(const std::string& key) const {
    auto it = labels.find(key);
    return it == labels.end() ? std::string() : it->second;
  }
  // name{k="v",...}: how evidence names a series.
  std::string display_name() const;
};

struct LogEvent {
  double t = 0;
  std::string level;  // lower case: error, warn, info, debug...
  std::string service;
  std::string message;
  std::string trace_id;
  std::string source;
  int line = 0;
};

struct SlowQuery {
  double t = 0;  // when it finished (SET timestamp / # Time)
  std::string server;
  double query_time_s = 0;
  double lock_time_s = 0;
  std::uint64_t rows_sent = 0;
  std::uint64_t rows_examined = 0;
  std::string sql;
  std::string normalized;  // literals replaced by ?, whitespace collapsed
  std::string source;
  int line = 0;
};

struct DigestRow {
  std::string schema;
  std::string digest;
  std::string digest_text;
  double count_star = 0;
  double sum_timer_wait_ps = 0;
  double max_timer_wait_ps = 0;
  double sum_lock_time_ps = 0;
  double sum_rows_examined = 0;
  double sum_rows_sent = 0;
  double sum_rows_affected = 0;
  double sum_no_index_used = 0;
  double sum_no_good_index_used = 0;
  double sum_errors = 0;
  std::optional<double> quantile_95_ps;  // MySQL 8 only
};

struct WaitRow {
  std::string event_name;
  double sum_timer_wait_ps = 0;
};

struct DigestSnapshot {
  double t = 0;
  std::string server;
  double uptime_s = 0;
  std::vector<DigestRow> digests;
  std::vector<WaitRow> waits;
};

struct ScalingEvent {
  double t = 0;
  std::string kind;  // decision | pod | node
  std::string service;
  std::optional<double> current;
  std::optional<double> desired;
  std::optional<double> max;
  std::string reason;
  int line = 0;
  std::string source;
  std::optional<double> wanted;  // a decision's largest metric proposal, before min/max bounds
  std::string transition;        // pod: pending, started, ready...; node: requested, ready...
  std::string subject;           // the pod ("users-2") or node ("node-3") a transition is of
};

// Everything one diagnosis reads.
struct Inputs {
  std::vector<Series> series;
  std::vector<LogEvent> logs;
  std::vector<SlowQuery> slow_queries;
  std::vector<DigestSnapshot> digest_snapshots;
  std::vector<ScalingEvent> scaling_events;
};

// Only what happened in [from, to] (either bound optional): every series' samples, log lines,
// slow queries, digest snapshots and scaling events. `crest diagnose --from/--to` applies it to
// every input, so a whole load run or event log can be given for one incident's window.
Inputs within(Inputs in, std::optional<double> from, std::optional<double> to);

// RFC 3339 ("2026-11-30T08:47:19.123Z", "+01:00" offsets, a space instead of T, no zone = UTC)
// or Unix seconds; nullopt for anything else.
std::optional<double> parse_time(std::string_view text);
// RFC 3339 UTC with milliseconds.
std::string format_time(double unix_seconds);

// SQL with string and number literals replaced by '?', IN lists collapsed, whitespace single:
// the shape performance_schema's DIGEST_TEXT shows, so slow-log statements group like digests.
std::string normalize_sql(std::string_view sql);

}  // namespace crest::diagnose
