#pragma once
// Readers that turn run outputs into report phases. Each returns an Error naming the file (and
// the line, for JSON-lines logs) when the input is unreadable; none throws.
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/report/report.hpp"

namespace crest::report {

// A `crest run --out json=` file: summary, latency p50/p95/p99, throughput, error rate and VUs
// per second (per-second step histograms are merged exactly for the percentiles).
Result<Phase> phase_from_load_json(std::string name, const std::string& path);
// The same from the parsed document; `source` names it in errors and notes. Besides the charts
// (latency percentiles, throughput, errors, VUs, dropped iterations) the phase gets the run's
// tables: thresholds, steps, journeys and checks.
Result<Phase> phase_from_load_run(std::string name, const nlohmann::json& run,
                                  const std::string& source);
// One run's own page (crest run --out html=FILE): the report page with that one phase, its
// thresholds as the verdict (no SLO column). `run` is the document crest run --out json writes.
Result<std::string> render_load_run_html(const nlohmann::json& run, std::string title);

// A Prometheus `/api/v1/query_range` answer (one chart; title from `title`) or a saved capture
// `{"queries": {ID: {"title", "unit", "family", "expr", "data": <query_range answer>}}}` (one
// chart each). Timestamps become phase seconds via the phase's `started_at` (or, when the run
// gave none, the first sample).
Result<void> add_prometheus_file(Phase& phase, const std::string& path);
Result<void> add_prometheus_json(Phase& phase, const nlohmann::json& doc, std::string_view title);

// The autoscaler's JSON-lines event log: decisions become markers and scale responses, and the
// desired/current replica counts per service a chart.
Result<void> add_autoscaler_events(Phase& phase, const std::string& path);
// The chaos event log (JSON lines with fault, target, start/end): shaded fault windows.
Result<void> add_fault_events(Phase& phase, const std::string& path);
// A `crest diagnose --json` file, embedded as it is.
Result<void> add_diagnosis(Phase& phase, const std::string& path);

// Everything one phase is built from; only the load run is required.
struct PhaseInputs {
  std::string name;
  std::string load_json;
  std::vector<std::string> prometheus;  // query_range answers or captures
  std::string autoscaler_events;        // "" when absent
  std::string fault_events;
  std::string diagnosis;
};

// The whole report, phases in the order given; the first unreadable input is the error.
Result<Report> build_report(const std::vector<PhaseInputs>& phases, Slo slo, std::string title);

// report.html, report.md and report.json in `dir` (created if absent); their paths.
Result<std::vector<std::string>> write_report(const Report& report, const std::string& dir);

// "2026-11-30T09:00:00.123Z" (or a number of Unix seconds) into Unix seconds.
std::optional<double> parse_timestamp(const nlohmann::json& value);

}  // namespace crest::report
