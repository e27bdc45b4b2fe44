// Prometheus captures, the autoscaler's and the chaos tool's event logs, and diagnosis files.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <map>

#include "crest/report/inputs.hpp"
#include "json_file.hpp"

namespace crest::report {
namespace {

using nlohmann::json;

Error bad(const std::string& where, const std::string& why) {
  return Error{ErrorKind::invalid_argument, where + ": " + why};
}

std::optional<Family> family_from(std::string_view name) {
  for (auto f : {Family::latency, Family::errors, Family::throughput, Family::load,
                 Family::resources, Family::database, Family::cache, Family::queue,
                 Family::scaling}) {
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
  const std::string text = value.get<std::string>();
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  double fraction = 0;
  std::size_t i = static_cast<std::size_t>(consumed);
  if (i < text.size() && text[i] == '.') {
    double scale = 0.1;
    for (++i; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      fraction += (text[i] - '0') * scale;
      scale /= 10;
    }
  }
  if (i >= text.size() || (text[i] != 'Z' && text.compare(i, std::string::npos, "+00:00") != 0)) {
    return std::nullopt;  // only UTC, as every log of ours writes
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + fraction;
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
  std::map<std::string, std::pair<Series, Series>> replicas;  // service -> desired, current
  std::map<std::string, double> breach;                        // service -> first breach
  std::size_t line = 0;
  for (const json& event : *lines) {
    ++line;
    auto ts = event.contains("ts") ? parse_timestamp(event["ts"]) : std::nullopt;
    if (!ts) {
      return bad(path + ":" + std::to_string(line), "no UTC 'ts'");
    }
    if (std::isnan(phase.started_at)) {
      continue;  // cannot place it on the run's clock
    }
    const double t = *ts - phase.started_at;
    const std::string kind = event.value("kind", "");
    const std::string service = event.value("service", "");
    if (kind == "decision") {
      const int current = event.value("current", 0);
      const int desired = event.value("desired", current);
      auto& [want, have] = replicas[service];
      want.label = service + " desired";
      have.label = service + " current";
      want.t.push_back(t);
      want.y.push_back(desired);
      have.t.push_back(t);
      have.y.push_back(current);
      if (desired > current && !breach.contains(service)) {
        breach[service] = t;
      }
      if (desired != current) {
        phase.events.push_back({t, service + " " + std::to_string(current) + "→" +
                                       std::to_string(desired)});
        ScaleResponse response{service, current, desired, t, std::nullopt, std::nullopt};
        if (auto b = event.find("breach_ts"); b != event.end()) {
          if (auto bt = parse_timestamp(*b)) {
            response.breach_t = *bt - phase.started_at;
          }
        }
        phase.scale_responses.push_back(response);
      }
    } else if (kind == "pod" && event.value("transition", "") == "serving") {
      for (auto it = phase.scale_responses.rbegin(); it != phase.scale_responses.rend(); ++it) {
        if (it->service == service && it->to > it->from && it->decision_t <= t) {
          it->serving_t = t;  // the last instance to serve closes the response
          break;
        }
      }
    }
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
  auto lines = read_json_lines(path);
  if (!lines) {
    return lines.error();
  }
  std::size_t line = 0;
  for (const json& event : *lines) {
    ++line;
    auto start = event.contains("start") ? parse_timestamp(event["start"]) : std::nullopt;
    if (!start) {
      return bad(path + ":" + std::to_string(line), "no UTC 'start'");
    }
    auto end = event.contains("end") ? parse_timestamp(event["end"]) : std::nullopt;
    if (std::isnan(phase.started_at)) {
      continue;
    }
    std::string label = event.value("fault", "fault");
    if (event.contains("target") && event["target"].is_string()) {
      label += " (" + event["target"].get<std::string>() + ")";
    }
    const double s = *start - phase.started_at;
    phase.faults.push_back({s, end ? *end - phase.started_at : phase.summary.duration_s, label});
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
