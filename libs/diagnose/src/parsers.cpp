#include "crest/diagnose/parsers.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crest/metrics/latency_histogram.hpp"

namespace crest::diagnose {

using nlohmann::json;

namespace {

Error bad(const std::string& source, int line, const std::string& what) {
  return Error{ErrorKind::invalid_argument, line > 0 ? fmt::format("{}:{}: {}", source, line, what)
                                                     : fmt::format("{}: {}", source, what)};
}

int line_of_byte(std::string_view text, std::size_t byte) {
  byte = std::min(byte, text.size());
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(byte), '\n'));
}

Result<json> parse_document(std::string_view text, const std::string& source) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    const auto byte = e.byte == 0 ? 0 : e.byte - 1;
    const auto last = text.find_last_not_of(" \t\r\n");
    const bool at_end = last == std::string_view::npos || byte >= last;
    return bad(source, line_of_byte(text, byte),
               at_end ? "truncated JSON (the document ends early)"
                      : fmt::format("malformed JSON: {}", e.what()));
  }
}

// Splits into lines, with their 1-based numbers; a final line without '\n' counts.
template <typename Fn>
Result<void> for_each_line(std::string_view text, Fn&& fn) {
  int number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    const bool last = end == std::string_view::npos;
    if (last) {
      end = text.size();
    }
    auto line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    ++number;
    if (auto r = fn(line, number, last); !r.ok()) {
      return r;
    }
    pos = end + 1;
  }
  return {};
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

Result<json> parse_json_line(std::string_view line, const std::string& source, int number,
                             bool last) {
  try {
    auto j = json::parse(line.begin(), line.end());
    if (!j.is_object()) {
      return bad(source, number, "expected a JSON object on this line");
    }
    return j;
  } catch (const json::parse_error& e) {
    return bad(source, number,
               last && (e.byte >= line.size() || line.back() != '}')
                   ? "truncated JSON line (the file ends mid-object)"
                   : fmt::format("malformed JSON: {}", e.what()));
  }
}

// A number that may arrive as a JSON number or a numeric string (Prometheus sends strings).
std::optional<double> number_of(const json& j) {
  if (j.is_number()) {
    return j.get<double>();
  }
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    if (s == "NaN") {
      return std::nan("");
    }
    if (s == "+Inf" || s == "Inf") {
      return HUGE_VAL;
    }
    if (s == "-Inf") {
      return -HUGE_VAL;
    }
    double v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && end == s.data() + s.size()) {
      return v;
    }
  }
  return std::nullopt;
}

std::optional<double> time_of(const json& j) {
  if (j.is_number()) {
    return j.get<double>();
  }
  if (j.is_string()) {
    return parse_time(j.get_ref<const std::string&>());
  }
  return std::nullopt;
}

std::string string_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return {};
  }
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// A boolean that may be written true/false, "Yes"/"No" (as SHOW SLAVE STATUS prints) or 1/0;
// true when absent.
bool flag_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return true;
  }
  if (it->is_boolean()) {
    return it->get<bool>();
  }
  if (it->is_number()) {
    return it->get<double>() != 0;
  }
  return string_field(j, key) == "Yes";
}

std::optional<double> optional_number(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return std::nullopt;
  }
  auto v = number_of(*it);
  if (v && !std::isfinite(*v)) {
    return std::nullopt;  // "NaN" or "Inf" where a count or a time belongs
  }
  return v;
}

void sort_by_time(Series& s) {
  if (std::is_sorted(s.t.begin(), s.t.end())) {
    return;
  }
  std::vector<std::size_t> order(s.t.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    order[i] = i;
  }
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return s.t[a] < s.t[b]; });
  std::vector<double> t, v;
  t.reserve(order.size());
  v.reserve(order.size());
  for (auto i : order) {
    t.push_back(s.t[i]);
    v.push_back(s.v[i]);
  }
  s.t = std::move(t);
  s.v = std::move(v);
}

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

// Per-second buckets from t0 to t1 inclusive (at most ~1e6 buckets, coarser beyond that).
struct Buckets {
  double t0 = 0;
  double step = 1;
  std::size_t n = 0;
  Buckets(double from, double to) : t0(std::floor(from)) {
    const double span = std::max(0.0, std::floor(to) - t0);
    step = span > 1e6 ? std::ceil(span / 1e6) : 1.0;
    n = static_cast<std::size_t>(span / step) + 1;
  }
  std::size_t index(double t) const {
    return std::min(n - 1, static_cast<std::size_t>(std::max(0.0, (t - t0) / step)));
  }
  Series make(std::string name, Labels labels, std::string source) const {
    Series s{
        std::move(name), std::move(labels), {}, std::vector<double>(n, 0.0), std::move(source)};
    s.t.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      s.t[i] = t0 + static_cast<double>(i) * step;
    }
    return s;
  }
};

}  // namespace

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{ErrorKind::not_found, fmt::format("{}: cannot open the file", path)};
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
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

Result<std::vector<LogEvent>> parse_json_logs(std::string_view text, const std::string& source) {
  std::vector<LogEvent> out;
  auto r = for_each_line(text, [&](std::string_view line, int number, bool last) -> Result<void> {
    if (blank(line)) {
      return {};
    }
    auto j = parse_json_line(line, source, number, last);
    if (!j.ok()) {
      return j.error();
    }
    auto ts = j->find("ts");
    if (ts == j->end()) {
      return bad(source, number, "missing field 'ts'");
    }
    auto t = time_of(*ts);
    if (!t) {
      return bad(source, number, "field 'ts' is not an RFC 3339 time");
    }
    LogEvent e;
    e.t = *t;
    e.level = string_field(*j, "level");
    std::transform(e.level.begin(), e.level.end(), e.level.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    e.service = string_field(*j, "service");
    e.message = string_field(*j, "msg");
    if (e.message.empty()) {
      e.message = string_field(*j, "message");
    }
    e.trace_id = string_field(*j, "trace_id");
    e.source = source;
    e.line = number;
    out.push_back(std::move(e));
    return {};
  });
  if (!r.ok()) {
    return r.error();
  }
  return out;
}

Result<std::vector<LogEvent>> parse_logback_logs(std::string_view text, const std::string& source,
                                                 const std::string& default_service) {
  std::vector<LogEvent> out;
  auto r = for_each_line(text, [&](std::string_view line, int number, bool) -> Result<void> {
    if (blank(line)) {
      return {};
    }
    std::istringstream in{std::string(line)};
    std::string first, level;
    in >> first;
    std::optional<double> t;
    if (first.size() == 10 && first[4] == '-') {  // Boot 2: "2026-11-30 08:47:19.123"
      std::string clock;
      in >> clock;
      t = parse_time(first + " " + clock);
    } else {
      t = parse_time(first);
    }
    if (!t) {
      if (std::isdigit(static_cast<unsigned char>(line.front()))) {
        return bad(source, number, "a log line whose time does not parse");
      }
      if (out.empty()) {
        return bad(source, number, "not a Spring Boot (Logback) log line: no time at its start");
      }
      if (out.back().message.size() < 4096) {
        out.back().message += "\n" + std::string(line);  // stack trace or wrapped message
      }
      return {};
    }
    in >> level;
    static const char* kLevels[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
    if (std::none_of(std::begin(kLevels), std::end(kLevels),
                     [&](const char* l) { return level == l; })) {
      return bad(source, number, fmt::format("unknown log level '{}'", level));
    }
    const auto dashes = line.find(" --- ");
    const auto colon = line.find(" : ", dashes == std::string_view::npos ? 0 : dashes);
    if (dashes == std::string_view::npos || colon == std::string_view::npos) {
      return bad(source, number, "expected '--- [thread] logger : message' after the level");
    }
    LogEvent e;
    e.t = *t;
    e.level = level == "WARN"                        ? "warn"
              : level == "ERROR" || level == "FATAL" ? "error"
              : level == "INFO"                      ? "info"
                                                     : "debug";
    e.service = default_service;
    // Boot 3.2+: "--- [app] [thread] logger"; earlier: "--- [thread] logger".
    auto rest = line.substr(dashes + 5, colon - dashes - 5);
    if (rest.size() > 0 && rest[0] == '[') {
      const auto close = rest.find(']');
      const auto next = close == std::string_view::npos ? close : rest.find('[', close);
      if (close != std::string_view::npos && next != std::string_view::npos) {
        auto app = rest.substr(1, close - 1);
        while (!app.empty() && app.front() == ' ') {
          app.remove_prefix(1);
        }
        if (!app.empty()) {
          e.service = std::string(app);
        }
      }
    }
    e.message = std::string(line.substr(colon + 3));
    e.source = source;
    e.line = number;
    out.push_back(std::move(e));
    return {};
  });
  if (!r.ok()) {
    return r.error();
  }
  return out;
}

namespace {

// "Query_time: 0.06  Lock_time: 0.0001  Rows_sent: 1  Rows_examined: 20000" into key/values.
bool read_slow_fields(std::string_view line, std::map<std::string, double>& fields) {
  std::istringstream in{std::string(line.substr(1))};
  std::string key;
  while (in >> key) {
    if (key.empty() || key.back() != ':') {
      continue;
    }
    key.pop_back();
    std::string value;
    if (!(in >> value)) {
      return false;
    }
    double v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec == std::errc() && end == value.data() + value.size()) {
      fields[key] = v;
    } else if (key == "Query_time" || key == "Lock_time" || key == "Rows_sent" ||
               key == "Rows_examined") {
      return false;
    }
  }
  return true;
}

// MariaDB's "# Time: 231130  8:47:19" (local time, read as UTC) or MySQL's RFC 3339.
std::optional<double> slow_log_time(std::string_view value) {
  while (!value.empty() && value.front() == ' ') {
    value.remove_prefix(1);
  }
  if (auto t = parse_time(value)) {
    return t;
  }
  int yy = 0, mm = 0, dd = 0, h = 0, m = 0, s = 0;
  if (std::sscanf(std::string(value).c_str(), "%2d%2d%2d %d:%d:%d", &yy, &mm, &dd, &h, &m, &s) ==
      6) {
    return parse_time(fmt::format("20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}Z", yy, mm, dd, h, m, s));
  }
  return std::nullopt;
}

}  // namespace

Result<std::vector<SlowQuery>> parse_slow_log(std::string_view text, const std::string& source,
                                              const std::string& server) {
  std::vector<SlowQuery> out;
  std::optional<SlowQuery> current;
  std::optional<double> header_time;
  int entry_line = 0;
  bool in_statement = false;
  auto finish = [&]() {
    if (current && !current->sql.empty()) {
      current->normalized = normalize_sql(current->sql);
      out.push_back(std::move(*current));
    }
    current.reset();
    in_statement = false;
  };
  auto r = for_each_line(text, [&](std::string_view line, int number, bool) -> Result<void> {
    if (line.rfind("# Time:", 0) == 0) {
      finish();
      header_time = slow_log_time(line.substr(7));
      if (!header_time) {
        return bad(source, number, "'# Time:' is not a time");
      }
      return {};
    }
    if (line.rfind("# Query_time:", 0) == 0) {
      finish();
      std::map<std::string, double> fields;
      if (!read_slow_fields(line, fields) || !fields.count("Query_time")) {
        return bad(source, number, "malformed '# Query_time:' line");
      }
      current = SlowQuery{};
      current->server = server;
      current->source = source;
      current->line = number;
      current->query_time_s = fields["Query_time"];
      current->lock_time_s = fields["Lock_time"];
      current->rows_sent = static_cast<std::uint64_t>(fields["Rows_sent"]);
      current->rows_examined = static_cast<std::uint64_t>(fields["Rows_examined"]);
      current->t = header_time.value_or(0);
      entry_line = number;
      return {};
    }
    if (line.rfind("#", 0) == 0) {
      if (line.rfind("# User@Host:", 0) == 0) {
        finish();
      }
      return {};  // Thread_id, Rows_affected, explain lines
    }
    if (!current) {
      return {};  // the server's banner ("Tcp port: ...", "Time Id Command Argument")
    }
    if (line.rfind("SET timestamp=", 0) == 0 && !in_statement) {
      double ts = 0;
      auto digits = line.substr(14);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ts);
      if (ec != std::errc() || end == digits.data() + digits.size() || *end != ';') {
        return bad(source, number, "malformed 'SET timestamp=N;'");
      }
      current->t = ts;
      return {};
    }
    if ((line.rfind("use ", 0) == 0 || line.rfind("USE ", 0) == 0) && !in_statement) {
      return {};
    }
    in_statement = true;
    if (!current->sql.empty()) {
      current->sql += '\n';
    }
    current->sql += std::string(line);
    if (!line.empty() && line.back() == ';') {
      current->sql.pop_back();
      if (current->t == 0) {
        return bad(source, entry_line, "a slow-log entry without '# Time:' or 'SET timestamp'");
      }
      finish();
    }
    return {};
  });
  if (!r.ok()) {
    return r.error();
  }
  if (current) {
    return bad(source, entry_line,
               "truncated slow-log entry: the file ends before its statement's ';'");
  }
  return out;
}

Result<std::vector<DigestSnapshot>> parse_digest_snapshots(std::string_view text,
                                                           const std::string& source) {
  std::vector<DigestSnapshot> out;
  auto r = for_each_line(text, [&](std::string_view line, int number, bool last) -> Result<void> {
    if (blank(line)) {
      return {};
    }
    auto j = parse_json_line(line, source, number, last);
    if (!j.ok()) {
      return j.error();
    }
    DigestSnapshot s;
    auto t = j->contains("ts") ? time_of((*j)["ts"]) : std::nullopt;
    if (!t) {
      return bad(source, number, "field 'ts' is missing or not a time");
    }
    s.t = *t;
    s.server = string_field(*j, "server");
    if (s.server.empty()) {
      s.server = "primary";
    }
    s.uptime_s = optional_number(*j, "uptime_s").value_or(0);
    auto digests = j->find("digests");
    if (digests == j->end() || !digests->is_array()) {
      return bad(source, number, "field 'digests' must be an array");
    }
    for (std::size_t i = 0; i < digests->size(); ++i) {
      const auto& d = (*digests)[i];
      if (!d.is_object()) {
        return bad(source, number, fmt::format("digests[{}]: expected an object", i));
      }
      DigestRow row;
      row.schema = string_field(d, "schema");
      row.digest = string_field(d, "digest");
      row.digest_text = string_field(d, "digest_text");
      struct Field {
        const char* name;
        double* into;
        bool required;
      };
      const Field fields[] = {{"count_star", &row.count_star, true},
                              {"sum_timer_wait", &row.sum_timer_wait_ps, true},
                              {"max_timer_wait", &row.max_timer_wait_ps, false},
                              {"sum_lock_time", &row.sum_lock_time_ps, false},
                              {"sum_rows_examined", &row.sum_rows_examined, false},
                              {"sum_rows_sent", &row.sum_rows_sent, false},
                              {"sum_rows_affected", &row.sum_rows_affected, false},
                              {"sum_no_index_used", &row.sum_no_index_used, false},
                              {"sum_no_good_index_used", &row.sum_no_good_index_used, false},
                              {"sum_errors", &row.sum_errors, false}};
      for (const auto& f : fields) {
        auto it = d.find(f.name);
        if (it == d.end() || it->is_null()) {
          if (f.required) {
            return bad(source, number, fmt::format("digests[{}].{}: missing", i, f.name));
          }
          continue;
        }
        auto v = number_of(*it);
        if (!v || !std::isfinite(*v)) {
          return bad(source, number, fmt::format("digests[{}].{}: not a number", i, f.name));
        }
        *f.into = *v;
      }
      row.quantile_95_ps = optional_number(d, "quantile_95");
      if (row.digest.empty()) {
        row.digest = row.digest_text;
      }
      s.digests.push_back(std::move(row));
    }
    if (auto waits = j->find("waits"); waits != j->end() && waits->is_array()) {
      for (std::size_t i = 0; i < waits->size(); ++i) {
        const auto& w = (*waits)[i];
        auto v = w.is_object() ? optional_number(w, "sum_timer_wait") : std::nullopt;
        if (!v) {
          return bad(source, number, fmt::format("waits[{}].sum_timer_wait: not a number", i));
        }
        s.waits.push_back({string_field(w, "event_name"), *v});
      }
    }
    out.push_back(std::move(s));
    return {};
  });
  if (!r.ok()) {
    return r.error();
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.t < b.t; });
  return out;
}

std::string digest_snapshot_to_json_line(const DigestSnapshot& s) {
  json j;
  j["ts"] = format_time(s.t);
  j["server"] = s.server;
  j["uptime_s"] = s.uptime_s;
  json digests = json::array();
  for (const auto& d : s.digests) {
    json row{{"schema", d.schema},
             {"digest", d.digest},
             {"digest_text", d.digest_text},
             {"count_star", d.count_star},
             {"sum_timer_wait", d.sum_timer_wait_ps},
             {"max_timer_wait", d.max_timer_wait_ps},
             {"sum_lock_time", d.sum_lock_time_ps},
             {"sum_rows_examined", d.sum_rows_examined},
             {"sum_rows_sent", d.sum_rows_sent},
             {"sum_rows_affected", d.sum_rows_affected},
             {"sum_no_index_used", d.sum_no_index_used},
             {"sum_no_good_index_used", d.sum_no_good_index_used},
             {"sum_errors", d.sum_errors}};
    if (d.quantile_95_ps) {
      row["quantile_95"] = *d.quantile_95_ps;
    }
    digests.push_back(std::move(row));
  }
  j["digests"] = std::move(digests);
  json waits = json::array();
  for (const auto& w : s.waits) {
    waits.push_back({{"event_name", w.event_name}, {"sum_timer_wait", w.sum_timer_wait_ps}});
  }
  j["waits"] = std::move(waits);
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<std::vector<Series>> parse_replica_status(std::string_view text, const std::string& source) {
  std::map<std::string, Series> lag, running;
  auto r = for_each_line(text, [&](std::string_view line, int number, bool last) -> Result<void> {
    if (blank(line)) {
      return {};
    }
    auto j = parse_json_line(line, source, number, last);
    if (!j.ok()) {
      return j.error();
    }
    auto t = j->contains("ts") ? time_of((*j)["ts"]) : std::nullopt;
    if (!t) {
      return bad(source, number, "field 'ts' is missing or not a time");
    }
    const auto replica = string_field(*j, "replica");
    if (replica.empty()) {
      return bad(source, number, "field 'replica' is missing");
    }
    auto behind = j->find("seconds_behind_master");
    if (behind == j->end()) {
      return bad(source, number,
                 "field 'seconds_behind_master' is missing (use null when unknown)");
    }
    auto io = flag_field(*j, "io_running");
    auto sql = flag_field(*j, "sql_running");
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
      l.t.push_back(*t);
      l.v.push_back(*v);
    }
    u.t.push_back(*t);
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

Result<std::vector<ScalingEvent>> parse_autoscaler_log(std::string_view text,
                                                       const std::string& source) {
  std::vector<ScalingEvent> out;
  auto r = for_each_line(text, [&](std::string_view line, int number, bool last) -> Result<void> {
    if (blank(line)) {
      return {};
    }
    auto j = parse_json_line(line, source, number, last);
    if (!j.ok()) {
      return j.error();
    }
    ScalingEvent e;
    auto t = j->contains("ts") ? time_of((*j)["ts"]) : std::nullopt;
    if (!t) {
      return bad(source, number, "field 'ts' is missing or not an RFC 3339 time");
    }
    e.t = *t;
    e.kind = string_field(*j, "kind");
    if (e.kind != "decision" && e.kind != "pod" && e.kind != "node") {
      return bad(source, number,
                 fmt::format("field 'kind' must be decision, pod or node, not '{}'", e.kind));
    }
    e.service = string_field(*j, "service");
    if (e.service.empty() && e.kind != "node") {
      return bad(source, number, "field 'service' is missing");
    }
    for (auto [key, into] : {std::pair{"current", &e.current}, std::pair{"desired", &e.desired},
                             std::pair{"max", &e.max}}) {
      auto it = j->find(key);
      if (it != j->end() && !it->is_null()) {
        auto v = number_of(*it);
        if (!v || !std::isfinite(*v)) {
          return bad(source, number, fmt::format("field '{}' is not a number", key));
        }
        *into = *v;
      }
    }
    if (e.kind == "decision" && (!e.current || !e.desired)) {
      return bad(source, number, "a decision needs 'current' and 'desired'");
    }
    e.reason = string_field(*j, "reason");
    e.line = number;
    e.source = source;
    out.push_back(std::move(e));
    return {};
  });
  if (!r.ok()) {
    return r.error();
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.t < b.t; });
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

std::vector<Series> log_rate_series(const std::vector<LogEvent>& logs) {
  if (logs.empty()) {
    return {};
  }
  double lo = logs.front().t, hi = logs.front().t;
  for (const auto& e : logs) {
    lo = std::min(lo, e.t);
    hi = std::max(hi, e.t);
  }
  Buckets b(lo, hi);
  std::map<std::string, std::pair<Series, Series>> per_service;
  for (const auto& e : logs) {
    const auto service = e.service.empty() ? std::string("unknown") : e.service;
    auto it = per_service.find(service);
    if (it == per_service.end()) {
      it =
          per_service
              .emplace(service, std::pair{b.make("log_errors", {{"service", service}}, e.source),
                                          b.make("log_warnings", {{"service", service}}, e.source)})
              .first;
    }
    if (e.level == "error" || e.level == "fatal" || e.level == "critical") {
      it->second.first.v[b.index(e.t)] += 1 / b.step;
    } else if (e.level == "warn" || e.level == "warning") {
      it->second.second.v[b.index(e.t)] += 1 / b.step;
    }
  }
  std::vector<Series> out;
  for (auto& [s, pair] : per_service) {
    out.push_back(std::move(pair.first));
    out.push_back(std::move(pair.second));
  }
  return out;
}

std::vector<Series> slow_log_series(const std::vector<SlowQuery>& queries) {
  if (queries.empty()) {
    return {};
  }
  double lo = queries.front().t, hi = queries.front().t;
  for (const auto& q : queries) {
    lo = std::min(lo, q.t);
    hi = std::max(hi, q.t);
  }
  Buckets b(lo, hi);
  std::map<std::string, std::pair<Series, Series>> per_server;
  for (const auto& q : queries) {
    auto it = per_server.find(q.server);
    if (it == per_server.end()) {
      it = per_server
               .emplace(
                   q.server,
                   std::pair{
                       b.make("crest_db_slow_queries", {{"db_server", q.server}}, q.source),
                       b.make("crest_db_slow_query_seconds", {{"db_server", q.server}}, q.source)})
               .first;
    }
    it->second.first.v[b.index(q.t)] += 1 / b.step;
    it->second.second.v[b.index(q.t)] += q.query_time_s / b.step;
  }
  std::vector<Series> out;
  for (auto& [s, pair] : per_server) {
    out.push_back(std::move(pair.first));
    out.push_back(std::move(pair.second));
  }
  return out;
}

std::vector<Series> scaling_series(const std::vector<ScalingEvent>& events) {
  std::map<std::string, std::vector<const ScalingEvent*>> per_service;
  for (const auto& e : events) {
    if (e.kind == "decision") {
      per_service[e.service].push_back(&e);
    }
  }
  std::vector<Series> out;
  for (const auto& [service, list] : per_service) {
    Buckets b(list.front()->t, list.back()->t);
    Series desired =
        b.make("crest_autoscaler_desired_replicas", {{"service", service}}, list.front()->source);
    Series current =
        b.make("crest_autoscaler_current_replicas", {{"service", service}}, list.front()->source);
    Series max =
        b.make("crest_autoscaler_max_replicas", {{"service", service}}, list.front()->source);
    bool has_max = false;
    std::size_t k = 0;
    double d = *list.front()->desired, c = *list.front()->current,
           m = list.front()->max.value_or(0);
    for (std::size_t i = 0; i < b.n; ++i) {
      while (k < list.size() && b.index(list[k]->t) <= i) {
        d = *list[k]->desired;
        c = *list[k]->current;
        if (list[k]->max) {
          m = *list[k]->max;
          has_max = true;
        }
        ++k;
      }
      desired.v[i] = d;
      current.v[i] = c;
      max.v[i] = m;
    }
    out.push_back(std::move(desired));
    out.push_back(std::move(current));
    if (has_max) {
      out.push_back(std::move(max));
    }
  }
  return out;
}

}  // namespace crest::diagnose
