// A `crest run --out json=` file into a report phase.
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
  const json& run = *doc;
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
  }
  latency.series = {std::move(p50), std::move(p95), std::move(p99)};
  if (total.count() > 0) {
    sum.p50_ms = ms(total.percentile_us(50));
    sum.p95_ms = ms(total.percentile_us(95));
    sum.p99_ms = ms(total.percentile_us(99));
    sum.max_ms = ms(total.max_us());
  } else {
    phase.notes.push_back(path + ": no per-second histograms; percentiles unavailable");
  }
  phase.charts = {std::move(latency), std::move(throughput), std::move(errors), std::move(vus)};
  return phase;
}

}  // namespace crest::report
