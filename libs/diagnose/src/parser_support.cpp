#include "parser_support.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace crest::diagnose::detail {

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

}  // namespace crest::diagnose::detail
