#pragma once
// `crest db top`: database load as Performance Insights shows it, from performance_schema digest
// snapshots. Consecutive snapshots give per-interval deltas: average active sessions (AAS =
// statement time per second of wall time), split by wait class, and the top SQL digests by load.
// The same numbers feed diagnosis as the series crest_db_aas and crest_db_digest_aas.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/diagnose/series.hpp"

namespace crest::diagnose {

struct DigestLoad {
  std::string schema;
  std::string digest;
  std::string digest_text;
  double aas = 0;  // seconds of statement time per second
  double calls = 0;
  double calls_per_s = 0;
  double mean_latency_s = 0;
  std::optional<double> p95_latency_s;  // only where the server keeps QUANTILE_95
  double max_latency_s = 0;             // the largest seen so far (the server's MAX_TIMER_WAIT)
  double rows_examined_per_row_returned = 0;
  bool no_index = false;  // some executions used no index (a full scan)
};

struct LoadInterval {
  double from = 0;
  double to = 0;
  double aas = 0;
  std::map<std::string, double> by_wait_class;  // "cpu", "io/file", "lock/table", ...
};

struct DbTop {
  std::string server;
  double from = 0;
  double to = 0;
  std::vector<LoadInterval> intervals;
  std::vector<DigestLoad> digests;  // by AAS over [from, to], highest first
};

// Snapshots of one server, in time order; [from, to] limits the digest totals (default: all).
DbTop compute_db_top(const std::vector<DigestSnapshot>& snapshots,
                     std::optional<double> from = std::nullopt,
                     std::optional<double> to = std::nullopt);
// Every server in `snapshots` (grouped by `server`).
std::vector<DbTop> compute_db_tops(const std::vector<DigestSnapshot>& snapshots,
                                   std::optional<double> from = std::nullopt,
                                   std::optional<double> to = std::nullopt);

// crest_db_aas{db_server} per interval and crest_db_digest_aas{db_server,digest} for the
// `max_digests` digests with the most load overall (the application's: not the monitoring's
// SHOW ... and performance_schema statements).
std::vector<Series> db_load_series(const std::vector<DigestSnapshot>& snapshots,
                                   std::size_t max_digests = 20);

std::string format_db_top(const DbTop& top, std::size_t rows);
std::string db_top_json(const std::vector<DbTop>& tops, std::size_t rows);

struct DbConnection {
  std::string host = "127.0.0.1";
  unsigned port = 3306;
  std::string socket;  // a Unix socket instead of host:port
  std::string user = "root";
  std::string password;
  std::string server_name = "primary";  // how snapshots name it
};
// One snapshot of performance_schema over a new connection (statement digests, waits, uptime).
Result<DigestSnapshot> take_digest_snapshot(const DbConnection& connection);

// `crest db top ...` (docs/diagnose.md). Exit 0, 2 on usage or input errors, 1 when the
// server cannot be reached.
int db_top_command(int argc, char** argv);

}  // namespace crest::diagnose
