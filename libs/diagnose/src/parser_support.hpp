#pragma once
// What every parser of libs/diagnose shares: errors that name the file and line, JSON documents
// and JSON lines read without exceptions escaping, numbers and times in the shapes the inputs
// write them, and per-second buckets for series built from events.
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "crest/core/error.hpp"
#include "crest/diagnose/series.hpp"

namespace crest::diagnose::detail {

using nlohmann::json;

Error bad(const std::string& source, int line, const std::string& what);
int line_of_byte(std::string_view text, std::size_t byte);
// A whole JSON document; an Error names the line, and says "truncated" when it ends early.
Result<json> parse_document(std::string_view text, const std::string& source);

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

bool blank(std::string_view s);
// One JSON object per line; a last line cut short says "truncated".
Result<json> parse_json_line(std::string_view line, const std::string& source, int number,
                             bool last);
// Unix seconds, or an RFC 3339 string.
std::optional<double> time_of(const json& j);

// JSON lines with a time: each non-blank line parsed as an object whose `ts` is a time, then
// `fn(object, ts, line_number)`. A line that is not JSON, or has no `ts` or a bad one, is an
// error naming the file and line.
template <typename Fn>
Result<void> for_each_timed_json_line(std::string_view text, const std::string& source, Fn&& fn) {
  return for_each_line(text, [&](std::string_view line, int number, bool last) -> Result<void> {
    if (blank(line)) {
      return {};
    }
    auto j = parse_json_line(line, source, number, last);
    if (!j.ok()) {
      return j.error();
    }
    const auto ts = j->find("ts");
    if (ts == j->end()) {
      return bad(source, number, "missing field 'ts'");
    }
    const auto when = time_of(*ts);
    if (!when) {
      return bad(source, number, "field 'ts' is not an RFC 3339 time");
    }
    return fn(*j, *when, number);
  });
}

// A number that may arrive as a JSON number or a numeric string (Prometheus sends strings).
std::optional<double> number_of(const json& j);
std::string string_field(const json& j, const char* key);
// A boolean that may be written true/false, "Yes"/"No" (as SHOW SLAVE STATUS prints) or 1/0;
// true when absent.
bool flag_field(const json& j, const char* key);
std::optional<double> optional_number(const json& j, const char* key);
void sort_by_time(Series& s);

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

}  // namespace crest::diagnose::detail
