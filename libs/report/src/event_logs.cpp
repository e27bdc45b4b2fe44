// Prometheus captures, the autoscaler's and the chaos tool's event logs, and diagnosis files.
#include <algorithm>
#include <fstream>
#include <map>

#include "crest/autoscale/response_time.hpp"
#include "crest/chaos/fault_log.hpp"
#include "crest/report/inputs.hpp"
#include "json_file.hpp"

namespace crest::report {
namespace {

using nlohmann::json;

Error bad(const std::string& where, const std::string& why) {
  return Error{ErrorKind::invalid_argument, where + ": " + why};
}

std::optional<Family> family_from(std::string_view name) {
  for (auto f :
       {Family::latency, Family::errors, Family::throughput, Family::load, Family::resources,
        Family::database, Family::cache, Family::queue, Family::scaling}) {
    if (name == to_string(f)) {
      return f;
    }
  }
  return std::nullopt;
}

// "{container="catalog-1", pod="x"}" without the metric name, or the name alone.
std::string label_of(const json& metric) {
  std::string out;
  for (const auto& [key, value] : metric.items()) {
    if (key == "__name__" || !value.is_string()) {
      continue;
    }
    out += (out.empty() ? "" : ",") + key + "=" + value.get<std::string>();
  }
  if (out.empty() && metric.contains("__name__")) {
    return metric["__name__"].get<std::string>();
  }
  return out.empty() ? "value" : out;
}

double seconds_of(Clock::WallTime t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

double origin(const Phase& phase, const json& result) {
  if (!std::isnan(phase.started_at)) {
    return phase.started_at;
  }
  double first = INFINITY;
  for (const auto& series : result) {
    if (series.contains("values") && !series["values"].empty()) {
      first = std::min(first, series["values"][0][0].get<double>());
    }
  }
  return std::isfinite(first) ? first : 0;
}

Result<Chart> chart_from_matrix(const Phase& phase, const json& answer, Chart chart,
                                const std::string& where) {
  const json* data = &answer;
  if (answer.contains("status")) {
    if (answer["status"] != "success") {
      return bad(where, "Prometheus answered status '" + answer["status"].dump() + "'");
    }
    data = &answer["data"];
  }
  if (!data->is_object() || data->value("resultType", "") != "matrix" ||
      !(*data)["result"].is_array()) {
    return bad(where, "not a query_range answer (want data.resultType 'matrix')");
  }
  const json& result = (*data)["result"];
  const double t0 = origin(phase, result);
  for (const auto& item : result) {
    if (!item.contains("values") || !item["values"].is_array()) {
      return bad(where, "a series has no 'values'");
    }
    Series series{label_of(item.value("metric", json::object())), {}, {}};
    for (const auto& sample : item["values"]) {
      if (!sample.is_array() || sample.size() != 2 || !sample[0].is_number() ||
          !sample[1].is_string()) {
        return bad(where, "a sample is not [time, \"value\"]");
      }
      series.t.push_back(sample[0].get<double>() - t0);
      const std::string text = sample[1].get<std::string>();
      char* end = nullptr;
      double y = std::strtod(text.c_str(), &end);
      series.y.push_back(end == text.c_str() ? NAN : y);
    }
    chart.series.push_back(std::move(series));
  }
  return chart;
}

}  // namespace

Result<std::vector<json>> read_json_lines(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return bad(path, "cannot be opened");
  }
  std::vector<json> out;
  std::string text;
  for (std::size_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    json item = json::parse(text, nullptr, false);
    if (item.is_discarded() || !item.is_object()) {
      return bad(path + ":" + std::to_string(line), "not a JSON object");
    }
    out.push_back(std::move(item));
  }
  return out;
}

std::optional<double> parse_timestamp(const json& value) {
  if (value.is_number()) {
    return value.get<double>();
  }
  if (!value.is_string()) {
    return std::nullopt;
  }
  auto wall = autoscale::parse_rfc3339(value.get<std::string>());
  if (!wall) {
    return std::nullopt;
  }
  return seconds_of(*wall);
}

Result<void> add_prometheus_json(Phase& phase, const json& doc, std::string_view title) {
  const std::string where = std::string(title);
  if (doc.contains("queries")) {
    if (!doc["queries"].is_object()) {
      return bad(where, "'queries' must be an object of named query_range answers");
    }
    for (const auto& [id, query] : doc["queries"].items()) {
      if (!query.is_object() || !query.contains("data")) {
        return bad(where, "query '" + id + "' has no 'data'");
      }
      Chart chart{id, query.value("title", id), query.value("unit", ""), Family::resources, {}};
      if (auto f = family_from(query.value("family", "resources"))) {
        chart.family = *f;
      } else {
        return bad(where, "query '" + id + "': unknown family '" + query.value("family", "") + "'");
      }
      auto made = chart_from_matrix(phase, query["data"], std::move(chart), where + " " + id);
      if (!made) {
        return made.error();
      }
      phase.charts.push_back(std::move(*made));
    }
    return {};
  }
  auto made = chart_from_matrix(phase, doc, Chart{where, where, "", Family::resources, {}}, where);
  if (!made) {
    return made.error();
  }
  phase.charts.push_back(std::move(*made));
  return {};
}

Result<void> add_prometheus_file(Phase& phase, const std::string& path) {
  auto doc = read_json_file(path);
  if (!doc) {
    return doc.error();
  }
  std::string title = path.substr(path.find_last_of('/') + 1);
  if (auto dot = title.rfind(".json"); dot != std::string::npos) {
    title.resize(dot);
  }
  auto added = add_prometheus_json(phase, *doc, title);
  if (!added) {
    return Error{added.error().kind, path + ": " + added.error().message};
  }
  return {};
}

Result<void> add_autoscaler_events(Phase& phase, const std::string& path) {
  auto lines = read_json_lines(path);
  if (!lines) {
    return lines.error();
  }
  std::ifstream log(path);
  auto responses = autoscale::autoscaling_response_times(log, path);
  if (!responses) {
    return responses.error();
  }
  if (std::isnan(phase.started_at)) {
    return {};  // cannot be placed on the run's clock
  }
  const double t0 = phase.started_at;
  std::map<std::string, std::pair<Series, Series>> replicas;  // service -> desired, current
  for (const json& event : *lines) {
    if (event.value("kind", "") != "decision") {
      continue;
    }
    const double t = *parse_timestamp(event["ts"]) - t0;  // checked by the reader above
    const std::string service = event.value("service", "");
    const int current = event.value("current", 0);
    const int desired = event.value("desired", current);
    auto& [want, have] = replicas[service];
    want.label = service + " desired";
    have.label = service + " current";
    want.t.push_back(t);
    want.y.push_back(desired);
    have.t.push_back(t);
    have.y.push_back(current);
    if (desired != current) {
      phase.events.push_back(
          {t, service + " " + std::to_string(current) + "→" + std::to_string(desired)});
    }
  }
  for (const auto& r : *responses) {
    phase.scale_responses.push_back(
        {r.service, r.from_replicas, r.to_replicas, seconds_of(r.decision) - t0,
         seconds_of(r.breach) - t0,
         r.serving ? std::optional<double>(seconds_of(*r.serving) - t0) : std::nullopt});
  }
  if (!replicas.empty()) {
    Chart chart{"replicas", "Instances desired vs current", "instances", Family::scaling, {}};
    for (auto& [service, pair] : replicas) {
      chart.series.push_back(std::move(pair.first));
      chart.series.push_back(std::move(pair.second));
    }
    phase.charts.push_back(std::move(chart));
  }
  return {};
}

Result<void> add_fault_events(Phase& phase, const std::string& path) {
  auto records = chaos::read_fault_log(path);
  if (!records) {
    return records.error();
  }
  if (std::isnan(phase.started_at)) {
    return {};
  }
  for (const auto& r : *records) {
    const double start = seconds_of(r.start) - phase.started_at;
    const double end = r.end ? seconds_of(*r.end) - phase.started_at : phase.summary.duration_s;
    phase.faults.push_back(
        {start, end, r.target.empty() ? r.fault : r.fault + " (" + r.target + ")"});
  }
  return {};
}

Result<void> add_diagnosis(Phase& phase, const std::string& path) {
  auto doc = read_json_file(path);
  if (!doc) {
    return doc.error();
  }
  phase.diagnosis = std::move(*doc);
  return {};
}

}  // namespace crest::report
