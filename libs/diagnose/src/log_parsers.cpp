// Service logs: JSON lines and Spring Boot (Logback) text, and the per-second error and warning
// series built from them.
#include "crest/diagnose/parsers.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "parser_support.hpp"

namespace crest::diagnose {

using namespace detail;

Result<std::vector<LogEvent>> parse_json_logs(std::string_view text, const std::string& source) {
  std::vector<LogEvent> out;
  auto r = for_each_timed_json_line(
      text, source, [&](const json& record, double when, int number) -> Result<void> {
        LogEvent e;
        e.t = when;
        e.level = string_field(record, "level");
        std::transform(e.level.begin(), e.level.end(), e.level.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        e.service = string_field(record, "service");
        e.message = string_field(record, "msg");
        if (e.message.empty()) {
          e.message = string_field(record, "message");
        }
        e.trace_id = string_field(record, "trace_id");
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

}  // namespace crest::diagnose
