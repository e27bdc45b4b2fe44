// A `crest run --out json=` file into a report phase.
#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <sstream>

#include "crest/metrics/latency_histogram.hpp"
#include "crest/report/inputs.hpp"
#include "json_file.hpp"

namespace crest::report {
namespace {

using nlohmann::json;

Error unreadable(const std::string& path, const std::string& why) {
  return Error{ErrorKind::invalid_argument, path + ": " + why};
}

double ms(std::uint64_t micros) {
  return static_cast<double>(micros) / 1000.0;
}

double number_or_nan(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : NAN;
}

std::string text_of(const json& v, int digits = 3) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_number_integer() || v.is_number_unsigned()) {
    return v.dump();
  }
  if (v.is_number()) {
    return fmt::format("{:.{}f}", v.get<double>(), digits);
  }
  if (v.is_boolean()) {
    return v.get<bool>() ? "yes" : "no";
  }
  return v.is_null() ? "–" : v.dump();
}

// "p50 p90 p95 p99 max" of a histogram summary ({"p50_ms": ..}) as table cells.
void add_latency_cells(std::vector<std::string>& row, const json& h) {
  for (const char* key : {"p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"}) {
    row.push_back(h.is_object() && h.contains(key) ? text_of(h[key]) : "–");
  }
}

// The run's own verdicts and breakdowns, as crest run's summary prints them.
void add_run_tables(Phase& phase, const json& run) {
  auto array = [&](const char* key) {
    auto it = run.find(key);
    return it != run.end() && it->is_array() ? *it : json::array();
  };
  const double elapsed = run.value("elapsed_s", 0.0);
  Table thresholds{"Thresholds", {"metric", "condition", "value", "result"}, {}};
  for (const auto& t : array("thresholds")) {
    thresholds.rows.push_back(
        {text_of(t.value("metric", json())), text_of(t.value("condition", json())),
         text_of(t.value("value", json())), t.value("passed", false) ? "passed" : "FAILED"});
  }
  Table steps{"Steps (latency in ms)",
              {"step", "requests", "rate/s", "failures", "p50", "p90", "p95", "p99", "max"},
              {}};
  for (const auto& s : array("steps")) {
    const auto requests = s.value("requests", std::uint64_t{0});
    std::vector<std::string> row = {
        text_of(s.value("name", json())), std::to_string(requests),
        elapsed > 0 ? fmt::format("{:.1f}", static_cast<double>(requests) / elapsed) : "–",
        text_of(s.value("failures", json()))};
    add_latency_cells(row, s.value("http_req_duration", json()));
    steps.rows.push_back(std::move(row));
  }
  Table journeys{"Journeys (iteration duration in ms)",
                 {"journey", "iterations", "failed", "p50", "p90", "p95", "p99", "max"},
                 {}};
  for (const auto& j : array("journeys")) {
    std::vector<std::string> row = {text_of(j.value("name", json())),
                                    text_of(j.value("iterations", json())),
                                    text_of(j.value("failed", json()))};
    add_latency_cells(row, j.value("iteration_duration", json()));
    journeys.rows.push_back(std::move(row));
  }
  Table checks{"Checks", {"check", "passed", "failed"}, {}};
  for (const auto& c : array("checks")) {
    checks.rows.push_back({text_of(c.value("name", json())), text_of(c.value("passed", json())),
                           text_of(c.value("failed", json()))});
  }
  Table run_facts{"Run", {"", ""}, {}};
  for (const char* key : {"plan", "executor", "elapsed_s", "http_reqs", "http_req_failed",
                          "iterations", "dropped_iterations", "vus_max", "seed", "stop_reason",
                          "stop_detail", "workers", "partial"}) {
    if (run.contains(key)) {
      run_facts.rows.push_back({key, text_of(run[key])});
    }
  }
  for (auto* t : {&run_facts, &thresholds, &steps, &journeys, &checks}) {
    if (!t->rows.empty()) {
      phase.tables.push_back(std::move(*t));
    }
  }
}

}  // namespace

Result<json> read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return unreadable(path, "cannot be opened");
  }
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return unreadable(path, "is not valid JSON (truncated or malformed)");
  }
  return doc;
}

Result<Phase> phase_from_load_json(std::string name, const std::string& path) {
  auto doc = read_json_file(path);
  if (!doc) {
    return doc.error();
  }
  return phase_from_load_run(std::move(name), *doc, path);
}

Result<Phase> phase_from_load_run(std::string name, const json& run, const std::string& path) {
  if (!run.is_object() || !run.contains("timeline") || !run["timeline"].is_array() ||
      !run.contains("http_reqs")) {
    return unreadable(path, "is not a crest run JSON output (no 'http_reqs' and 'timeline')");
  }
  Phase phase;
  phase.name = std::move(name);
  if (auto it = run.find("start_unix_ms"); it != run.end() && it->is_number()) {
    phase.started_at = it->get<double>() / 1000.0;
  }
  PhaseSummary& sum = phase.summary;
  sum.duration_s = number_or_nan(run, "elapsed_s");
  sum.requests = run.value("http_reqs", std::uint64_t{0});
  sum.failures = run.value("http_req_failed", std::uint64_t{0});
  sum.throughput_rps = sum.duration_s > 0 ? static_cast<double>(sum.requests) / sum.duration_s : 0;

  Chart latency{"latency", "Request latency", "ms", Family::latency, {}};
  Series p50{"p50", {}, {}}, p95{"p95", {}, {}}, p99{"p99", {}, {}};
  Chart throughput{"throughput", "Throughput", "req/s", Family::throughput, {{"requests", {}, {}}}};
  Chart errors{"errors", "Error rate", "%", Family::errors, {{"failed requests", {}, {}}}};
  Chart vus{"vus", "Active virtual users", "VUs", Family::load, {{"VUs", {}, {}}}};
  Series allocated{"allocated", {}, {}};  // crest run's timeline has busy and allocated VUs
  Chart dropped{"dropped", "Dropped iterations", "per s", Family::load, {{"dropped", {}, {}}}};

  metrics::LatencyHistogram total;
  double previous_t = 0;
  std::size_t line = 0;
  for (const json& point : run["timeline"]) {
    ++line;
    if (!point.is_object() || !point.contains("t")) {
      return unreadable(path, "timeline entry " + std::to_string(line) + " has no 't'");
    }
    const double t = point["t"].get<double>();
    const double width = t - previous_t > 0 ? t - previous_t : 1.0;
    previous_t = t;
    const auto requests = point.value("requests", std::uint64_t{0});
    const auto failures = point.value("failures", std::uint64_t{0});
    // The second's latency: every step's histogram merged, so p95 is exact too.
    metrics::LatencyHistogram second;
    bool have_histograms = false;
    if (auto steps = point.find("steps"); steps != point.end() && steps->is_object()) {
      for (const auto& [step, data] : steps->items()) {
        auto text = data.find("histogram");
        if (text == data.end() || !text->is_string()) {
          continue;
        }
        auto h = metrics::LatencyHistogram::deserialise(text->get<std::string>());
        if (!h) {
          return unreadable(path, "timeline entry " + std::to_string(line) + ", step '" + step +
                                      "': histogram is corrupt");
        }
        second.merge(*h);
        have_histograms = true;
      }
    }
    p50.t.push_back(t);
    p95.t.push_back(t);
    p99.t.push_back(t);
    if (have_histograms && second.count() > 0) {
      p50.y.push_back(ms(second.percentile_us(50)));
      p95.y.push_back(ms(second.percentile_us(95)));
      p99.y.push_back(ms(second.percentile_us(99)));
      total.merge(second);
    } else {
      p50.y.push_back(requests > 0 ? number_or_nan(point, "p50_ms") : NAN);
      p95.y.push_back(NAN);
      p99.y.push_back(requests > 0 ? number_or_nan(point, "p99_ms") : NAN);
    }
    throughput.series[0].t.push_back(t);
    throughput.series[0].y.push_back(static_cast<double>(requests) / width);
    errors.series[0].t.push_back(t);
    errors.series[0].y.push_back(requests == 0 ? NAN : 100.0 * failures / requests);
    vus.series[0].t.push_back(t);
    vus.series[0].y.push_back(number_or_nan(point, "vus"));
    if (point.contains("vus_allocated")) {
      allocated.t.push_back(t);
      allocated.y.push_back(number_or_nan(point, "vus_allocated"));
    }
    dropped.series[0].t.push_back(t);
    dropped.series[0].y.push_back(number_or_nan(point, "dropped") / width);
  }
  latency.series = {std::move(p50), std::move(p95), std::move(p99)};
  if (!allocated.t.empty()) {
    vus.series[0].label = "busy";
    vus.series.push_back(std::move(allocated));
  }
  if (total.count() > 0) {
    sum.p50_ms = ms(total.percentile_us(50));
    sum.p95_ms = ms(total.percentile_us(95));
    sum.p99_ms = ms(total.percentile_us(99));
    sum.max_ms = ms(total.max_us());
  } else {
    phase.notes.push_back(path + ": no per-second histograms; percentiles unavailable");
  }
  phase.charts = {std::move(latency), std::move(throughput), std::move(errors), std::move(vus),
                  std::move(dropped)};
  add_run_tables(phase, run);
  return phase;
}

Result<std::string> render_load_run_html(const json& run, std::string title) {
  auto phase = phase_from_load_run("run", run, "crest run");
  if (!phase) {
    return phase.error();
  }
  Report report;
  report.title = std::move(title);
  report.show_slo = false;
  if (!std::isnan(phase->started_at)) {
    const auto started = static_cast<std::time_t>(phase->started_at);
    std::tm utc{};
    ::gmtime_r(&started, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    report.generated_at = std::string("from the run started ") + text;
  }
  report.phases.push_back(std::move(*phase));
  return render_html(report);
}

}  // namespace crest::report
