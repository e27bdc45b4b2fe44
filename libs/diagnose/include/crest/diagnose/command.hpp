#pragma once
// `crest diagnose`: reads every input given on the command line, diagnoses, prints
// (docs/diagnose.md). Also the live Prometheus reader it uses.
#include <optional>
#include <string>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/diagnose/series.hpp"

namespace crest::diagnose {

struct PrometheusQuery {
  std::string name;  // names the series that have no __name__
  std::string promql;
};
// The queries for the candidate series of docs/diagnose.md (SLOs, then every raw series name).
std::vector<PrometheusQuery> default_prometheus_queries();

// Runs each query through /api/v1/query_range on `base_url` (http://127.0.0.1:9090) and
// returns crest's bundle JSON ({"queries":[{name, query, response}]}), which
// parse_prometheus_query_range reads. Each request has a 10 s timeout.
Result<std::string> fetch_prometheus_bundle(const std::string& base_url,
                                            const std::vector<PrometheusQuery>& queries,
                                            double from, double to, double step_s);

// The input files of one diagnosis, by format. Slow logs and Logback logs may be "name=FILE"
// (the server / service name; otherwise the file's stem).
struct InputFiles {
  std::vector<std::string> prometheus, cloudwatch, load_runs, json_logs, logback_logs, slow_logs,
      digests, replica_status, autoscaler_logs, haproxy;
  std::optional<double> load_start;
};
// Reads and parses every file; the first error names the file (and line).
Result<Inputs> read_inputs(const InputFiles& files);

// Exit 0 when a diagnosis was printed, 2 on usage or input errors, 1 when Prometheus could not
// be read.
int diagnose_command(int argc, char** argv);

}  // namespace crest::diagnose
