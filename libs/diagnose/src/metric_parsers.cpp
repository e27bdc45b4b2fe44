// Series from metric stores and exports: Prometheus query_range, CloudWatch GetMetricData, a crest
// load run, replica status lines and HAProxy `show stat` snapshots.
#include "crest/diagnose/parsers.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <zlib.h>
#include <fstream>
#include <nlohmann/json.hpp>

#include "crest/metrics/latency_histogram.hpp"

#include "parser_support.hpp"

namespace crest::diagnose {

using namespace detail;

namespace {

Result<void> read_matrix(const json& response, const std::string& source, const std::string& where,
                         const std::string& default_name, std::vector<Series>& out) {
  if (!response.is_object()) {
    return bad(source, 0, where + ": expected a query_range response object");
  }
  if (response.contains("status") && string_field(response, "status") != "success") {
    return bad(source, 0,
               fmt::format("{}: the query failed: {}", where, string_field(response, "error")));
  }
  auto data = response.find("data");
  if (data == response.end() || !data->is_object()) {
    return bad(source, 0, where + ".data: missing");
  }
  auto type = string_field(*data, "resultType");
  if (type != "matrix" && type != "vector") {
    return bad(source, 0,
               fmt::format("{}.data.resultType: expected \"matrix\", got \"{}\"", where, type));
  }
  auto result = data->find("result");
  if (result == data->end() || !result->is_array()) {
    return bad(source, 0, where + ".data.result: expected an array");
  }
  for (std::size_t i = 0; i < result->size(); ++i) {
    const auto& item = (*result)[i];
    const auto path = fmt::format("{}.data.result[{}]", where, i);
    if (!item.is_object() || !item.contains("metric") || !item["metric"].is_object()) {
      return bad(source, 0, path + ".metric: expected an object");
    }
    Series s;
    s.source = source;
    for (const auto& [k, v] : item["metric"].items()) {
      if (!v.is_string()) {
        return bad(source, 0, fmt::format("{}.metric.{}: expected a string", path, k));
      }
      if (k == "__name__") {
        s.name = v.get<std::string>();
      } else {
        s.labels[k] = v.get<std::string>();
      }
    }
    if (s.name.empty()) {
      s.name = default_name.empty() ? "value" : default_name;
    }
    const json* values = nullptr;
    json single;
    if (item.contains("values")) {
      values = &item["values"];
    } else if (item.contains("value")) {
      single = json::array({item["value"]});
      values = &single;
    }
    if (values == nullptr || !values->is_array()) {
      return bad(source, 0, path + ".values: expected an array of [time, \"value\"]");
    }
    for (std::size_t k = 0; k < values->size(); ++k) {
      const auto& pair = (*values)[k];
      if (!pair.is_array() || pair.size() != 2) {
        return bad(source, 0, fmt::format("{}.values[{}]: expected [time, \"value\"]", path, k));
      }
      auto t = time_of(pair[0]);
      auto v = number_of(pair[1]);
      if (!t || !v) {
        return bad(source, 0, fmt::format("{}.values[{}]: not a number", path, k));
      }
      if (std::isfinite(*v)) {
        s.t.push_back(*t);
        s.v.push_back(*v);
      }
    }
    sort_by_time(s);
    out.push_back(std::move(s));
  }
  return {};
}

}  // namespace

Result<std::string> read_text_file(const std::string& path) {
  // zlib's reader passes a file that is not gzip through as it is, so saved exports may be
  // gzipped (FILE.gz) or not.
  gzFile in = gzopen(path.c_str(), "rb");
  if (in == nullptr) {
    return Error{ErrorKind::not_found, fmt::format("{}: cannot open the file", path)};
  }
  std::string text;
  char buffer[1 << 16];
  int n = 0;
  while ((n = gzread(in, buffer, sizeof buffer)) > 0) {
    text.append(buffer, static_cast<std::size_t>(n));
  }
  // A gzip stream cut short ends with Z_BUF_ERROR ("unexpected end of file") rather than -1.
  int code = Z_OK;
  const char* message = gzerror(in, &code);
  const std::string reason = message != nullptr ? message : "";
  gzclose(in);
  if (n < 0 || (code != Z_OK && code != Z_STREAM_END)) {
    return Error{
        ErrorKind::invalid_argument,
        fmt::format("{}: cannot read the file (truncated or corrupt gzip?): {}", path, reason)};
  }
  return text;
}

Result<std::vector<Series>> parse_prometheus_query_range(std::string_view text,
                                                         const std::string& source,
                                                         const std::string& default_name) {
  auto doc = parse_document(text, source);
  if (!doc.ok()) {
    return doc.error();
  }
  std::vector<Series> out;
  if (doc->is_object() && doc->contains("queries")) {
    const auto& queries = (*doc)["queries"];
    if (!queries.is_array()) {
      return bad(source, 0, "queries: expected an array");
    }
    for (std::size_t i = 0; i < queries.size(); ++i) {
      const auto& q = queries[i];
      const auto where = fmt::format("queries[{}]", i);
      if (!q.is_object() || !q.contains("response")) {
        return bad(source, 0, where + ".response: missing");
      }
      auto name = string_field(q, "name");
      if (auto r = read_matrix(q["response"], source, where + ".response", name, out); !r.ok()) {
        return r.error();
      }
    }
    return out;
  }
  if (auto r = read_matrix(*doc, source, "$", default_name, out); !r.ok()) {
    return r.error();
  }
  return out;
}

Result<std::vector<Series>> parse_cloudwatch_metric_data(std::string_view text,
                                                         const std::string& source) {
  auto doc = parse_document(text, source);
  if (!doc.ok()) {
    return doc.error();
  }
  if (!doc->is_object() || !doc->contains("MetricDataResults") ||
      !(*doc)["MetricDataResults"].is_array()) {
    return bad(source, 0, "MetricDataResults: expected an array");
  }
  std::vector<Series> out;
  const auto& results = (*doc)["MetricDataResults"];
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    const auto where = fmt::format("MetricDataResults[{}]", i);
    if (!r.is_object()) {
      return bad(source, 0, where + ": expected an object");
    }
    auto ts = r.find("Timestamps");
    auto vs = r.find("Values");
    if (ts == r.end() || vs == r.end() || !ts->is_array() || !vs->is_array()) {
      return bad(source, 0, where + ": Timestamps and Values must be arrays");
    }
    if (ts->size() != vs->size()) {
      return bad(source, 0,
                 fmt::format("{}: {} Timestamps but {} Values", where, ts->size(), vs->size()));
    }
    Series s;
    s.source = source;
    s.name = string_field(r, "Label");
    if (s.name.empty()) {
      s.name = string_field(r, "Id");
    }
    if (s.name.empty()) {
      return bad(source, 0, where + ": neither Label nor Id");
    }
    s.labels["id"] = string_field(r, "Id");
    for (std::size_t k = 0; k < ts->size(); ++k) {
      auto t = time_of((*ts)[k]);
      auto v = number_of((*vs)[k]);
      if (!t) {
        return bad(source, 0, fmt::format("{}.Timestamps[{}]: not a time", where, k));
      }
      if (!v) {
        return bad(source, 0, fmt::format("{}.Values[{}]: not a number", where, k));
      }
      if (!std::isfinite(*v)) {
        continue;
      }
      s.t.push_back(*t);
      s.v.push_back(*v);
    }
    sort_by_time(s);
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<Series>> parse_load_run(std::string_view text, const std::string& source,
                                           std::optional<double> start_unix) {
  auto doc = parse_document(text, source);
  if (!doc.ok()) {
    return doc.error();
  }
  if (!doc->is_object() || !doc->contains("timeline") || !(*doc)["timeline"].is_array()) {
    return bad(source, 0, "timeline: expected an array (is this `crest run --out json` output?)");
  }
  double start = 0;
  if (start_unix) {
    start = *start_unix;
  } else if (auto ms = optional_number(*doc, "start_unix_ms")) {
    start = *ms / 1000;
  }
  const Labels load{{"component", "load"}};
  Series p50{"load_p50_ms", load, {}, {}, source};
  Series p99{"load_p99_ms", load, {}, {}, source};
  Series requests{"load_requests", load, {}, {}, source};
  Series errors{"load_error_ratio", load, {}, {}, source};
  std::map<std::string, Series> step_errors;
  std::map<std::string, Series> step_p99;  // from each second's serialised histogram
  const auto& timeline = (*doc)["timeline"];
  for (std::size_t i = 0; i < timeline.size(); ++i) {
    const auto& p = timeline[i];
    const auto where = fmt::format("timeline[{}]", i);
    if (!p.is_object()) {
      return bad(source, 0, where + ": expected an object");
    }
    auto t = optional_number(p, "t");
    auto n = optional_number(p, "requests");
    auto f = optional_number(p, "failures");
    if (!t || !n || !f) {
      return bad(source, 0, where + ": t, requests and failures must be numbers");
    }
    const double at = start + *t;
    requests.t.push_back(at);
    requests.v.push_back(*n);
    if (*n > 0) {
      errors.t.push_back(at);
      errors.v.push_back(*f / *n);
      if (auto v = optional_number(p, "p50_ms")) {
        p50.t.push_back(at);
        p50.v.push_back(*v);
      }
      if (auto v = optional_number(p, "p99_ms")) {
        p99.t.push_back(at);
        p99.v.push_back(*v);
      }
    }
    if (auto steps = p.find("steps"); steps != p.end() && steps->is_object()) {
      for (const auto& [name, s] : steps->items()) {
        auto sn = s.is_object() ? optional_number(s, "requests") : std::nullopt;
        auto sf = s.is_object() ? optional_number(s, "failures") : std::nullopt;
        if (!sn || !sf) {
          return bad(
              source, 0,
              fmt::format("{}.steps.{}: requests and failures must be numbers", where, name));
        }
        if (auto h = s.find("histogram"); *sn > 0 && h != s.end() && h->is_string()) {
          auto histogram = metrics::LatencyHistogram::deserialise(h->get<std::string>());
          if (!histogram) {
            return bad(source, 0,
                       fmt::format("{}.steps.{}.histogram: not a serialised latency histogram",
                                   where, name));
          }
          if (histogram->count() > 0) {
            auto& series = step_p99[name];
            if (series.name.empty()) {
              series = Series{
                  "load_step_p99_ms", {{"component", "load"}, {"step", name}}, {}, {}, source};
            }
            series.t.push_back(at);
            series.v.push_back(static_cast<double>(histogram->percentile_us(99)) / 1000);
          }
        }
        if (*sn > 0) {
          auto& series = step_errors[name];
          if (series.name.empty()) {
            series = Series{
                "load_step_error_ratio", {{"component", "load"}, {"step", name}}, {}, {}, source};
          }
          series.t.push_back(at);
          series.v.push_back(*sf / *sn);
        }
      }
    }
  }
  std::vector<Series> out{std::move(p50), std::move(p99), std::move(requests), std::move(errors)};
  for (auto* per_step : {&step_errors, &step_p99}) {
    for (auto& [name, s] : *per_step) {
      out.push_back(std::move(s));
    }
  }
  for (auto& s : out) {
    sort_by_time(s);
  }
  return out;
}

Result<std::vector<Series>> parse_replica_status(std::string_view text, const std::string& source) {
  std::map<std::string, Series> lag, running;
  auto r = for_each_timed_json_line(
      text, source, [&](const json& record, double when, int number) -> Result<void> {
        const auto replica = string_field(record, "replica");
        if (replica.empty()) {
          return bad(source, number, "field 'replica' is missing");
        }
        auto behind = record.find("seconds_behind_master");
        if (behind == record.end()) {
          return bad(source, number,
                     "field 'seconds_behind_master' is missing (use null when unknown)");
        }
        auto io = flag_field(record, "io_running");
        auto sql = flag_field(record, "sql_running");
        auto& l = lag[replica];
        auto& u = running[replica];
        if (l.name.empty()) {
          l = Series{"crest_replica_lag_seconds", {{"replica", replica}}, {}, {}, source};
          u = Series{"crest_replica_running", {{"replica", replica}}, {}, {}, source};
        }
        if (!behind->is_null()) {
          auto v = number_of(*behind);
          if (!v || !std::isfinite(*v)) {
            return bad(source, number, "field 'seconds_behind_master' is not a number");
          }
          l.t.push_back(when);
          l.v.push_back(*v);
        }
        u.t.push_back(when);
        u.v.push_back(io && sql && !behind->is_null() ? 1.0 : 0.0);
        return {};
      });
  if (!r.ok()) {
    return r.error();
  }
  std::vector<Series> out;
  for (auto* m : {&lag, &running}) {
    for (auto& [name, s] : *m) {
      sort_by_time(s);
      out.push_back(std::move(s));
    }
  }
  return out;
}

Result<std::vector<Series>> parse_haproxy_stat_snapshots(std::string_view text,
                                                         const std::string& source) {
  std::map<std::string, Series> series;
  std::optional<double> now;
  std::vector<std::string> header;
  auto split = [](std::string_view line) {
    std::vector<std::string> cells;
    std::size_t pos = 0;
    while (true) {
      auto comma = line.find(',', pos);
      cells.emplace_back(
          line.substr(pos, comma == std::string_view::npos ? line.npos : comma - pos));
      if (comma == std::string_view::npos) {
        break;
      }
      pos = comma + 1;
    }
    return cells;
  };
  auto add = [&](const std::string& name, Labels labels, double v) {
    Series probe{name, labels, {}, {}, source};
    auto key = probe.display_name();
    auto& s = series[key];
    if (s.name.empty()) {
      s = std::move(probe);
    }
    s.t.push_back(*now);
    s.v.push_back(v);
  };
  auto r = for_each_line(text, [&](std::string_view line, int number, bool) -> Result<void> {
    if (blank(line)) {
      return {};
    }
    if (line.rfind("# ts:", 0) == 0) {
      now = parse_time(line.substr(5));
      if (!now) {
        return bad(source, number, "'# ts:' is not a time");
      }
      header.clear();
      return {};
    }
    if (line.rfind("# pxname", 0) == 0) {
      header = split(line.substr(2));
      return {};
    }
    if (!now) {
      return bad(source, number, "a stats row before any '# ts: <time>' line");
    }
    if (header.empty()) {
      return bad(source, number, "a stats row before HAProxy's '# pxname,svname,...' header");
    }
    auto cells = split(line);
    if (cells.size() < header.size() - 1) {
      return bad(
          source, number,
          fmt::format("{} fields, the header has {} (truncated?)", cells.size(), header.size()));
    }
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < cells.size(); ++i) {
      row[header[i]] = cells[i];
    }
    const auto proxy = row["pxname"];
    const auto name = row["svname"];
    auto num = [&](const std::string& key) -> std::optional<double> {
      const auto& s = row[key];
      if (s.empty()) {
        return 0.0;
      }
      double v = 0;
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      return ec == std::errc() && end == s.data() + s.size() && std::isfinite(v) ? std::optional(v)
                                                                                 : std::nullopt;
    };
    if (name == "FRONTEND") {
      return {};
    }
    if (name == "BACKEND") {
      auto act = num("act");
      auto errors = num("hrsp_5xx");
      if (!act || !errors) {
        return bad(source, number, "fields 'act' and 'hrsp_5xx' must be numbers");
      }
      add("haproxy_backend_active_servers", {{"proxy", proxy}}, *act);
      add("haproxy_backend_http_responses_total", {{"proxy", proxy}, {"code", "5xx"}}, *errors);
      return {};
    }
    const auto& status = row["status"];
    if (status.rfind("MAINT", 0) == 0) {
      return {};  // an unused template slot: not a failure
    }
    add("haproxy_server_status", {{"proxy", proxy}, {"server", name}},
        status.rfind("UP", 0) == 0 ? 1.0 : 0.0);
    return {};
  });
  if (!r.ok()) {
    return r.error();
  }
  std::vector<Series> out;
  for (auto& [k, s] : series) {
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace crest::diagnose
