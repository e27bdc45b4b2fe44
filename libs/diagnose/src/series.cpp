#include "crest/diagnose/series.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <ctime>

#include <fmt/format.h>

#include "crest/core/rfc3339.hpp"

namespace crest::diagnose {

std::string Series::display_name() const {
  if (labels.empty()) {
    return name;
  }
  std::string out = name + "{";
  bool first = true;
  for (const auto& [key, value] : labels) {
    out += fmt::format("{}{}=\"{}\"", first ? "" : ",", key, value);
    first = false;
  }
  return out + "}";
}

std::optional<double> parse_time(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  if (s.empty()) {
    return std::nullopt;
  }
  if (s.size() < 10 || s[4] != '-') {  // Unix seconds
    double value = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value)) {
      return std::nullopt;
    }
    return value;
  }
  return parse_rfc3339(s);
}

Inputs within(Inputs in, std::optional<double> from, std::optional<double> to) {
  const auto outside = [&](double t) { return (from && t < *from) || (to && t > *to); };
  const auto keep = [&](auto& list) {
    std::erase_if(list, [&](const auto& item) { return outside(item.t); });
  };
  for (auto& s : in.series) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < s.t.size(); ++i) {
      if (!outside(s.t[i])) {
        s.t[kept] = s.t[i];
        s.v[kept++] = s.v[i];
      }
    }
    s.t.resize(kept);
    s.v.resize(kept);
  }
  std::erase_if(in.series, [](const Series& s) { return s.t.empty(); });
  keep(in.logs);
  keep(in.slow_queries);
  keep(in.digest_snapshots);
  keep(in.scaling_events);
  return in;
}

std::string format_time(double unix_seconds) {
  return format_rfc3339_ms(unix_seconds);
}

std::string normalize_sql(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  std::size_t i = 0;
  auto is_word = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '.';
  };
  while (i < sql.size()) {
    const char c = sql[i];
    if (c == '\'' || c == '"') {
      const char quote = c;
      ++i;
      while (i < sql.size() && sql[i] != quote) {
        i += (sql[i] == '\\' && i + 1 < sql.size()) ? 2 : 1;
      }
      ++i;
      out += '?';
    } else if (std::isdigit(static_cast<unsigned char>(c)) &&
               (out.empty() || !is_word(out.back()))) {
      while (i < sql.size() && (is_word(sql[i]))) {
        ++i;
      }
      out += '?';
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) {
        ++i;
      }
      if (!out.empty() && out.back() != ' ') {
        out += ' ';
      }
    } else {
      out += c;
      ++i;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) {
    out.pop_back();
  }
  // (?, ?, ?) -> (...), as digests collapse IN lists.
  std::string collapsed;
  collapsed.reserve(out.size());
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (out[k] == '(' && k + 1 < out.size() && out[k + 1] == '?') {
      std::size_t j = k + 1;
      bool only_params = true;
      while (j < out.size() && out[j] != ')') {
        if (out[j] != '?' && out[j] != ',' && out[j] != ' ') {
          only_params = false;
          break;
        }
        ++j;
      }
      if (only_params && j < out.size()) {
        collapsed += "(...)";
        k = j;
        continue;
      }
    }
    collapsed += out[k];
  }
  return collapsed;
}

}  // namespace crest::diagnose
