#pragma once
// Parsers for every input of a diagnosis (docs/diagnose.md, "Input formats"). Each takes the
// text and the name to quote in errors (a file name), and returns the parsed values or an
// invalid_argument Error "SOURCE:LINE: what is wrong". None throws on bad input.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/diagnose/series.hpp"

namespace crest::diagnose {

Result<std::string> read_text_file(const std::string& path);

// A Prometheus /api/v1/query_range response, or crest's bundle {"queries":[{name,query,response}]}.
// `default_name` names series that have no __name__ (the result of a function).
Result<std::vector<Series>> parse_prometheus_query_range(std::string_view text,
                                                         const std::string& source,
                                                         const std::string& default_name = "");
// An AWS CloudWatch GetMetricData response (MetricDataResults).
Result<std::vector<Series>> parse_cloudwatch_metric_data(std::string_view text,
                                                         const std::string& source);
// `crest run --out json=F`: its per-second timeline. `start_unix` aligns the run's relative
// seconds; without it the file's start_unix_ms is used, else times stay relative.
Result<std::vector<Series>> parse_load_run(std::string_view text, const std::string& source,
                                           std::optional<double> start_unix = std::nullopt);
// JSON lines with ts, level, service, msg, trace_id. Blank lines are skipped.
Result<std::vector<LogEvent>> parse_json_logs(std::string_view text, const std::string& source);
// Spring Boot's default Logback console pattern (Boot 2 and 3).
Result<std::vector<LogEvent>> parse_logback_logs(std::string_view text, const std::string& source,
                                                 const std::string& default_service);
// MySQL / MariaDB slow query log.
Result<std::vector<SlowQuery>> parse_slow_log(std::string_view text, const std::string& source,
                                              const std::string& server);
// JSON lines of performance_schema digest snapshots (the format `crest db top --save` writes).
Result<std::vector<DigestSnapshot>> parse_digest_snapshots(std::string_view text,
                                                           const std::string& source);
std::string digest_snapshot_to_json_line(const DigestSnapshot& snapshot);
// JSON lines of replica status -> crest_replica_lag_seconds{replica} and
// crest_replica_running{replica} (1 when both threads run).
Result<std::vector<Series>> parse_replica_status(std::string_view text, const std::string& source);
// The autoscaler's JSON-lines event log.
Result<std::vector<ScalingEvent>> parse_autoscaler_log(std::string_view text,
                                                       const std::string& source);
// HAProxy `show stat` CSV snapshots, each after a "# ts: <time>" line.
Result<std::vector<Series>> parse_haproxy_stat_snapshots(std::string_view text,
                                                         const std::string& source);

// Derived series, shared by the command and the tests.
// Per-second counts of error and warning lines per service: log_errors{service}, log_warnings.
std::vector<Series> log_rate_series(const std::vector<LogEvent>& logs);
// crest_db_slow_queries{db_server} and crest_db_slow_query_seconds{db_server} per second.
std::vector<Series> slow_log_series(const std::vector<SlowQuery>& queries);
// crest_autoscaler_{desired,current,max}_replicas{service} from decision events (step series).
std::vector<Series> scaling_series(const std::vector<ScalingEvent>& events);

}  // namespace crest::diagnose
