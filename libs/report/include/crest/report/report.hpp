#pragma once
// The peak-readiness report: phases (one load run each, e.g. baseline and scaled), their charts
// over time, fault windows, scaling events and SLO verdicts, rendered as one self-contained
// HTML page, a Markdown summary and the JSON both were built from.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace crest::report {

// One line on a chart. `t` is seconds since the phase started; a NaN `y` is a gap.
struct Series {
  std::string label;
  std::vector<double> t;
  std::vector<double> y;
};

// The six families a peak-readiness review asks for, plus the load itself.
enum class Family { latency, errors, throughput, load, resources, database, cache, queue, scaling };
const char* to_string(Family family);

struct Chart {
  std::string id;  // unique within a phase, e.g. "latency"
  std::string title;
  std::string unit;  // "ms", "req/s", "%", "cores", "bytes", "s", "instances", ...
  Family family = Family::latency;
  std::vector<Series> series;

  bool has_data() const;
};

// A fault window (shaded) or a scaling event (a vertical marker), in phase seconds.
struct Band {
  double start = 0;
  double end = 0;
  std::string label;
};
struct Marker {
  double t = 0;
  std::string label;
};

// Breach -> decision -> serving for one scale-out, from the autoscaler's event log.
struct ScaleResponse {
  std::string service;
  int from = 0;
  int to = 0;
  double decision_t = 0;            // phase seconds
  std::optional<double> breach_t;   // when the metric first crossed its target
  std::optional<double> serving_t;  // when the last new instance took traffic
};

// A table of text cells under a phase (a run's thresholds, steps, checks).
struct Table {
  std::string title;
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
};

struct Slo {
  double p99_ms = 500;
  double error_rate = 0.01;
};

struct PhaseSummary {
  double duration_s = 0;
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  double throughput_rps = 0;
  double p50_ms = NAN;
  double p95_ms = NAN;
  double p99_ms = NAN;
  double max_ms = NAN;
  double error_rate() const { return requests == 0 ? 0 : static_cast<double>(failures) / requests; }
  bool slo_held(const Slo& slo) const;
};

struct Phase {
  std::string name;
  double started_at = NAN;  // Unix seconds, from the load run's `start_unix_ms`
  PhaseSummary summary;
  std::vector<Chart> charts;
  std::vector<Band> faults;
  std::vector<Marker> events;
  std::vector<ScaleResponse> scale_responses;
  nlohmann::json diagnosis;        // the diagnosis JSON as given, or null
  std::vector<std::string> notes;  // inputs that were missing or partly unreadable
  std::vector<Table> tables;       // shown under the phase's charts

  Chart* chart(const std::string& id);
};

struct Report {
  std::string title = "Crest peak-readiness report";
  std::string generated_at;  // UTC, RFC 3339
  Slo slo;
  bool show_slo =
      true;  // false for one run's own page (crest run --out html): its thresholds judge it
  std::vector<Phase> phases;
  // A verdict set by whoever made the runs (crest demo), shown first: {"headline", "tables":
  // [{"title", "columns": [...], "rows": [{"cells": [...], "ok": true|false|null}]}]}; or null.
  nlohmann::json verdict;
};

nlohmann::json to_json(const Report& report);
std::string render_markdown(const Report& report);
// The verdict's headline and tables as Markdown ("" when the verdict is null).
std::string render_verdict_markdown(const nlohmann::json& verdict);
// One HTML file that opens without network: uPlot and its CSS are inlined.
std::string render_html(const Report& report);

}  // namespace crest::report
