#include "crest/load/plan.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace crest::load {

const char* to_string(Executor e) {
  switch (e) {
    case Executor::constant_vus:
      return "constant-vus";
    case Executor::ramping_vus:
      return "ramping-vus";
    case Executor::constant_arrival_rate:
      return "constant-arrival-rate";
    case Executor::ramping_arrival_rate:
      return "ramping-arrival-rate";
  }
  return "?";
}

Duration LoadSpec::total_duration() const {
  if (executor == Executor::ramping_vus || executor == Executor::ramping_arrival_rate) {
    Duration total{};
    for (const auto& s : stages) {
      total += s.duration;
    }
    return total;
  }
  return duration;
}

int LoadSpec::peak_vus() const {
  switch (executor) {
    case Executor::constant_vus:
      return vus;
    case Executor::ramping_vus: {
      double peak = start_vus;
      for (const auto& s : stages) {
        peak = std::max(peak, s.target);
      }
      return static_cast<int>(std::ceil(peak));
    }
    case Executor::constant_arrival_rate:
    case Executor::ramping_arrival_rate:
      return max_vus;
  }
  return vus;
}

namespace {

Error invalid(std::string message) { return Error{ErrorKind::invalid_argument, std::move(message)}; }

}  // namespace

Result<Duration> parse_duration(std::string_view text, bool bare_is_ms) {
  const std::string original(text);
  while (!text.empty() && text.front() == ' ') {
    text.remove_prefix(1);
  }
  while (!text.empty() && text.back() == ' ') {
    text.remove_suffix(1);
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || value < 0) {
    return invalid("expected a duration such as 250ms, 1.5s, 2m or 1h, got '" + original + "'");
  }
  const std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  double ns_per_unit = 0;
  if (unit == "ns") {
    ns_per_unit = 1;
  } else if (unit == "us" || unit == "µs") {
    ns_per_unit = 1e3;
  } else if (unit == "ms" || (unit.empty() && bare_is_ms)) {
    ns_per_unit = 1e6;
  } else if (unit == "s") {
    ns_per_unit = 1e9;
  } else if (unit == "m") {
    ns_per_unit = 60e9;
  } else if (unit == "h") {
    ns_per_unit = 3600e9;
  } else {
    return invalid("expected a duration such as 250ms, 1.5s, 2m or 1h, got '" + original + "'");
  }
  return Duration(static_cast<std::int64_t>(std::llround(value * ns_per_unit)));
}

Result<Origin> parse_origin(std::string_view url, std::string* path_out) {
  Origin o;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
    o.tls = true;
    o.port = 443;
  } else {
    return invalid("expected a URL starting with http:// or https://, got '" + std::string(url) + "'");
  }
  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  if (path_out != nullptr) {
    *path_out = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  }
  if (authority.empty()) {
    return invalid("URL '" + std::string(url) + "' has no host");
  }
  std::string_view host = authority;
  std::size_t colon = std::string_view::npos;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return invalid("URL '" + std::string(url) + "' has an unclosed IPv6 address");
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') {
      colon = close + 1;
    }
  } else {
    colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
    }
  }
  if (colon != std::string_view::npos) {
    unsigned port = 0;
    const auto p = authority.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || ptr != p.data() + p.size() || port == 0 || port > 65535) {
      return invalid("URL '" + std::string(url) + "' has an invalid port");
    }
    o.port = static_cast<std::uint16_t>(port);
  }
  if (host.empty()) {
    return invalid("URL '" + std::string(url) + "' has no host");
  }
  o.host = std::string(host);
  o.host_header = std::string(authority);
  return o;
}

Result<JsonPath> JsonPath::parse(std::string_view text) {
  JsonPath path;
  path.text = std::string(text);
  if (text.empty() || text.front() != '$') {
    return invalid("expected a JSON path starting with '$', as $.data.items[0].id, got '" +
                   std::string(text) + "'");
  }
  std::size_t i = 1;
  while (i < text.size()) {
    if (text[i] == '.') {
      std::size_t j = i + 1;
      while (j < text.size() && text[j] != '.' && text[j] != '[') {
        ++j;
      }
      if (j == i + 1) {
        return invalid("empty key in JSON path '" + std::string(text) + "'");
      }
      path.parts.emplace_back(std::string(text.substr(i + 1, j - i - 1)));
      i = j;
    } else if (text[i] == '[') {
      const auto close = text.find(']', i);
      if (close == std::string_view::npos) {
        return invalid("unclosed '[' in JSON path '" + std::string(text) + "'");
      }
      auto inner = text.substr(i + 1, close - i - 1);
      if (inner.size() >= 2 && (inner.front() == '\'' || inner.front() == '"') &&
          inner.back() == inner.front()) {
        path.parts.emplace_back(std::string(inner.substr(1, inner.size() - 2)));
      } else {
        std::size_t index = 0;
        auto [ptr, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), index);
        if (ec != std::errc() || ptr != inner.data() + inner.size()) {
          return invalid("expected an array index or quoted key in '[...]' of JSON path '" +
                         std::string(text) + "'");
        }
        path.parts.emplace_back(index);
      }
      i = close + 1;
    } else {
      return invalid("expected '.' or '[' in JSON path '" + std::string(text) + "'");
    }
  }
  return path;
}

Result<Threshold> parse_threshold_key(std::string_view key) {
  Threshold t;
  t.source = std::string(key);
  const auto brace = key.find('{');
  t.metric = std::string(key.substr(0, brace));
  static const std::set<std::string> kMetrics = {
      "http_req_duration", "http_req_service_duration", "http_req_failed", "http_reqs",
      "checks", "iteration_duration", "iterations", "group_duration", "dropped_iterations"};
  if (kMetrics.count(t.metric) == 0) {
    return invalid("unknown threshold metric '" + t.metric +
                   "' (expected http_req_duration, http_req_service_duration, http_req_failed, "
                   "http_reqs, checks, iteration_duration, iterations, group_duration or "
                   "dropped_iterations)");
  }
  if (brace != std::string_view::npos) {
    if (key.back() != '}') {
      return invalid("expected '}' at the end of threshold '" + std::string(key) + "'");
    }
    const auto tag = key.substr(brace + 1, key.size() - brace - 2);
    const auto colon = tag.find(':');
    if (colon == std::string_view::npos) {
      return invalid("expected {tag:value} in threshold '" + std::string(key) + "'");
    }
    t.tag_key = std::string(tag.substr(0, colon));
    t.tag_value = std::string(tag.substr(colon + 1));
    if (t.tag_key != "step" && t.tag_key != "journey" && t.tag_key != "group") {
      return invalid("unknown threshold tag '" + t.tag_key + "' (expected step, journey or group)");
    }
  }
  if (t.metric == "group_duration" && t.tag_key != "group") {
    return invalid("group_duration thresholds need a {group:name} tag");
  }
  return t;
}

Result<Threshold::Condition> parse_threshold_condition(std::string_view text) {
  Threshold::Condition c;
  c.text = std::string(text);
  std::string s;
  for (char ch : text) {
    if (ch != ' ') {
      s.push_back(ch);
    }
  }
  std::size_t op_pos = s.find_first_of("<>=!");
  if (op_pos == std::string::npos) {
    return invalid("expected a condition such as 'p(99) < 500ms' or 'rate < 0.01', got '" + c.text + "'");
  }
  const std::string agg = s.substr(0, op_pos);
  std::size_t op_len = (op_pos + 1 < s.size() && s[op_pos + 1] == '=') ? 2 : 1;
  c.op = s.substr(op_pos, op_len);
  if (c.op == "=" || c.op == "!") {
    return invalid("expected an operator <, <=, >, >=, == or != in '" + c.text + "'");
  }
  if (agg.size() > 3 && agg.substr(0, 2) == "p(" && agg.back() == ')') {
    c.aggregate = "p";
    const auto num = agg.substr(2, agg.size() - 3);
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), c.percentile);
    if (ec != std::errc() || ptr != num.data() + num.size() || c.percentile < 0 || c.percentile > 100) {
      return invalid("expected a percentile between 0 and 100 in '" + c.text + "'");
    }
  } else if (agg == "avg" || agg == "min" || agg == "max" || agg == "med" || agg == "rate" ||
             agg == "count") {
    c.aggregate = agg;
  } else {
    return invalid("unknown aggregate '" + agg + "' in '" + c.text +
                   "' (expected p(N), avg, min, max, med, rate or count)");
  }
  const std::string value = s.substr(op_pos + op_len);
  if (c.aggregate == "rate" || c.aggregate == "count") {
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), c.value);
    if (ec != std::errc() || ptr != value.data() + value.size()) {
      return invalid("expected a number after the operator in '" + c.text + "'");
    }
  } else {
    auto d = parse_duration(value, true);
    if (!d.ok()) {
      return invalid("expected a duration (as 500ms) after the operator in '" + c.text + "'");
    }
    c.value = static_cast<double>(d->count()) / 1e6;
  }
  return c;
}

namespace {

// Splits one CSV record set (RFC 4180 quoting).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  bool any = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          field.push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
      any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
        ++i;
      }
      if (any || !field.empty()) {
        row.push_back(std::move(field));
        rows.push_back(std::move(row));
      }
      row.clear();
      field.clear();
      any = false;
    } else {
      field.push_back(c);
      any = true;
    }
  }
  if (any || !field.empty()) {
    row.push_back(std::move(field));
    rows.push_back(std::move(row));
  }
  return rows;
}

class PlanParser {
 public:
  PlanParser(std::string file, std::string base_dir, const PlanOverrides& overrides)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), overrides_(overrides) {}

  Result<Plan> parse(const std::string& text);

 private:
  struct Failure {
    Error error;
  };

  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
    const auto mark = node.Mark();
    throw Failure{invalid(file_ + ":" + std::to_string(mark.line + 1) + ":" +
                          std::to_string(mark.column + 1) + ": " + message)};
  }
  [[noreturn]] void fail_at(const YAML::Mark& mark, const std::string& message) const {
    throw Failure{invalid(file_ + ":" + std::to_string(mark.line + 1) + ":" +
                          std::to_string(mark.column + 1) + ": " + message)};
  }

  void expect_map(const YAML::Node& node, const std::string& what, const std::set<std::string>& keys) {
    if (!node.IsMap()) {
      fail(node, "expected " + what + " to be a mapping");
    }
    for (const auto& kv : node) {
      const auto key = kv.first.as<std::string>();
      if (keys.count(key) == 0) {
        std::string allowed;
        for (const auto& k : keys) {
          allowed += (allowed.empty() ? "" : ", ") + k;
        }
        fail(kv.first, "unknown key '" + key + "' in " + what + " (expected one of: " + allowed + ")");
      }
    }
  }
  std::string scalar(const YAML::Node& node, const std::string& what) {
    if (!node.IsScalar()) {
      fail(node, "expected " + what + " to be a single value");
    }
    return node.Scalar();
  }
  double number(const YAML::Node& node, const std::string& what, double min = 0) {
    const auto s = scalar(node, what);
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || v < min) {
      fail(node, "expected " + what + " to be a number >= " + fmt_num(min) + ", got '" + s + "'");
    }
    return v;
  }
  int integer(const YAML::Node& node, const std::string& what, int min = 0) {
    const auto s = scalar(node, what);
    int v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || v < min) {
      fail(node, "expected " + what + " to be an integer >= " + std::to_string(min) + ", got '" + s + "'");
    }
    return v;
  }
  bool boolean(const YAML::Node& node, const std::string& what) {
    const auto s = scalar(node, what);
    if (s == "true" || s == "yes" || s == "on") {
      return true;
    }
    if (s == "false" || s == "no" || s == "off") {
      return false;
    }
    fail(node, "expected " + what + " to be true or false, got '" + s + "'");
  }
  Duration duration(const YAML::Node& node, const std::string& what) {
    auto d = parse_duration(scalar(node, what));
    if (!d.ok()) {
      fail(node, what + ": " + d.error().message);
    }
    return *d;
  }
  Template tmpl(const YAML::Node& node, const std::string& what, Escape escape = Escape::none) {
    auto t = Template::compile(scalar(node, what), plan_.vars, escape);
    if (!t.ok()) {
      fail(node, what + ": " + t.error().message);
    }
    return std::move(t.value());
  }
  static std::string fmt_num(double v) {
    std::ostringstream os;
    os << v;
    return os.str();
  }

  void parse_target(const YAML::Node& node);
  void parse_variables(const YAML::Node& node);
  void parse_data(const YAML::Node& node);
  void parse_journeys(const YAML::Node& node);
  void parse_steps(const YAML::Node& node, Journey& journey, int group);
  void parse_step(const YAML::Node& node, Journey& journey, int group);
  void parse_request(const YAML::Node& node, Step& step);
  void json_body(const YAML::Node& node, Template& out);
  void parse_captures(const YAML::Node& node, Step& step);
  void parse_checks(const YAML::Node& node, Step& step);
  ThinkTime parse_think(const YAML::Node& node);
  void parse_load(const YAML::Node& node);
  std::vector<Stage> parse_stages(const YAML::Node& node);
  void parse_thresholds(const YAML::Node& node);
  void apply_overrides(const YAML::Node& root);

  std::string file_;
  std::string base_dir_;
  const PlanOverrides& overrides_;
  Plan plan_;
};

Result<Plan> PlanParser::parse(const std::string& text) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return invalid(file_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                   std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  try {
    plan_.file = file_;
    if (!root.IsMap()) {
      fail(root, "expected the plan to be a mapping with target, journeys and load");
    }
    expect_map(root, "the plan", {"target", "variables", "data", "journeys", "load", "thresholds"});
    // Variables first: -e overrides and plan variables are visible to every template.
    if (root["variables"]) {
      parse_variables(root["variables"]);
    }
    for (const auto& [k, v] : overrides_.vars) {
      const int slot = plan_.vars.add(k);
      plan_.initial_values.resize(plan_.vars.size());
      plan_.initial_values[static_cast<std::size_t>(slot)] = v;
    }
    if (!root["target"]) {
      fail(root, "missing 'target' (expected target: {base_url: http://127.0.0.1:8080})");
    }
    parse_target(root["target"]);
    if (root["data"]) {
      parse_data(root["data"]);
    }
    if (!root["journeys"]) {
      fail(root, "missing 'journeys' (expected a list of journeys, each with steps)");
    }
    parse_journeys(root["journeys"]);
    if (!root["load"]) {
      fail(root, "missing 'load' (expected load: {executor: constant-vus, vus: 10, duration: 30s})");
    }
    parse_load(root["load"]);
    if (root["thresholds"]) {
      parse_thresholds(root["thresholds"]);
    }
    apply_overrides(root);
  } catch (const Failure& f) {
    return f.error;
  } catch (const YAML::Exception& e) {
    return invalid(file_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                   std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  plan_.initial_values.resize(plan_.vars.size());
  return std::move(plan_);
}

void PlanParser::parse_target(const YAML::Node& node) {
  if (node.IsScalar()) {
    auto o = parse_origin(node.Scalar());
    if (!o.ok()) {
      fail(node, "target: " + o.error().message);
    }
    plan_.target = *o;
  } else {
    expect_map(node, "target", {"base_url", "headers", "timeouts", "tls", "cookies"});
    if (!node["base_url"]) {
      fail(node, "missing 'base_url' in target (expected a URL such as http://127.0.0.1:8080)");
    }
    std::string url = scalar(node["base_url"], "target.base_url");
    if (overrides_.target) {
      url = *overrides_.target;
    }
    auto o = parse_origin(url);
    if (!o.ok()) {
      fail(node["base_url"], "target.base_url: " + o.error().message);
    }
    plan_.target = *o;
    if (const auto h = node["headers"]) {
      if (!h.IsMap()) {
        fail(h, "expected target.headers to be a mapping of name: value");
      }
      for (const auto& kv : h) {
        plan_.headers.emplace_back(kv.first.as<std::string>(), tmpl(kv.second, "header value"));
      }
    }
    if (const auto t = node["timeouts"]) {
      expect_map(t, "target.timeouts", {"connect", "request"});
      if (t["connect"]) {
        plan_.connect_timeout = duration(t["connect"], "target.timeouts.connect");
      }
      if (t["request"]) {
        plan_.request_timeout = duration(t["request"], "target.timeouts.request");
      }
    }
    if (const auto t = node["tls"]) {
      expect_map(t, "target.tls", {"insecure"});
      if (t["insecure"]) {
        plan_.tls_insecure = boolean(t["insecure"], "target.tls.insecure");
      }
    }
    if (node["cookies"]) {
      plan_.cookies = boolean(node["cookies"], "target.cookies");
    }
  }
  if (overrides_.target) {
    auto o = parse_origin(*overrides_.target);
    if (!o.ok()) {
      throw Failure{invalid("--target: " + o.error().message)};
    }
    plan_.target = *o;
  }
  plan_.origins.push_back(plan_.target);
}

void PlanParser::parse_variables(const YAML::Node& node) {
  if (!node.IsMap()) {
    fail(node, "expected variables to be a mapping of name: value");
  }
  for (const auto& kv : node) {
    const int slot = plan_.vars.add(kv.first.as<std::string>());
    plan_.initial_values.resize(plan_.vars.size());
    plan_.initial_values[static_cast<std::size_t>(slot)] = scalar(kv.second, "a variable's value");
  }
}

void PlanParser::parse_data(const YAML::Node& node) {
  if (!node.IsMap()) {
    fail(node, "expected data to be a mapping of feed name: {file, mode}");
  }
  for (const auto& kv : node) {
    Feed feed;
    feed.name = kv.first.as<std::string>();
    const auto& spec = kv.second;
    expect_map(spec, "data." + feed.name, {"file", "mode", "on_exhausted"});
    if (!spec["file"]) {
      fail(spec, "missing 'file' in data." + feed.name + " (expected a CSV file path)");
    }
    std::string path = scalar(spec["file"], "data." + feed.name + ".file");
    if (!path.empty() && path.front() != '/') {
      path = base_dir_ + "/" + path;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      fail(spec["file"], "cannot read CSV file '" + path + "'");
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto rows = parse_csv(ss.str());
    if (rows.size() < 2) {
      fail(spec["file"], "CSV file '" + path + "' needs a header row and at least one data row");
    }
    feed.columns = rows.front();
    for (std::size_t r = 1; r < rows.size(); ++r) {
      if (rows[r].size() != feed.columns.size()) {
        fail(spec["file"], "CSV file '" + path + "' row " + std::to_string(r + 1) + " has " +
                               std::to_string(rows[r].size()) + " fields, expected " +
                               std::to_string(feed.columns.size()));
      }
      feed.rows.push_back(std::move(rows[r]));
    }
    for (const auto& col : feed.columns) {
      feed.slots.push_back(plan_.vars.add(feed.name + "." + col));
    }
    if (spec["mode"]) {
      const auto mode = scalar(spec["mode"], "data mode");
      if (mode == "sequential") {
        feed.mode = Feed::Mode::sequential;
      } else if (mode == "random") {
        feed.mode = Feed::Mode::random;
      } else if (mode == "unique") {
        feed.mode = Feed::Mode::unique;
      } else {
        fail(spec["mode"], "unknown data mode '" + mode + "' (expected sequential, random or unique)");
      }
    }
    if (spec["on_exhausted"]) {
      const auto v = scalar(spec["on_exhausted"], "on_exhausted");
      if (v == "recycle") {
        feed.recycle = true;
      } else if (v != "error") {
        fail(spec["on_exhausted"], "expected on_exhausted to be error or recycle, got '" + v + "'");
      }
    }
    plan_.feeds.push_back(std::move(feed));
  }
}

void PlanParser::parse_journeys(const YAML::Node& node) {
  if (!node.IsSequence() || node.size() == 0) {
    fail(node, "expected journeys to be a non-empty list");
  }
  std::set<std::string> names;
  for (const auto& j : node) {
    expect_map(j, "a journey", {"name", "weight", "steps"});
    Journey journey;
    journey.name = j["name"] ? scalar(j["name"], "journey name")
                             : "journey" + std::to_string(plan_.journeys.size() + 1);
    if (!names.insert(journey.name).second) {
      fail(j, "duplicate journey name '" + journey.name + "'");
    }
    if (j["weight"]) {
      journey.weight = number(j["weight"], "journey weight");
      if (journey.weight <= 0) {
        fail(j["weight"], "expected journey weight to be > 0");
      }
    }
    if (!j["steps"]) {
      fail(j, "missing 'steps' in journey '" + journey.name + "'");
    }
    parse_steps(j["steps"], journey, -1);
    if (journey.steps.empty()) {
      fail(j["steps"], "journey '" + journey.name + "' has no request steps");
    }
    plan_.journeys.push_back(std::move(journey));
  }
}

void PlanParser::parse_steps(const YAML::Node& node, Journey& journey, int group) {
  if (!node.IsSequence()) {
    fail(node, "expected steps to be a list");
  }
  for (const auto& s : node) {
    if (s.IsMap() && s["group"]) {
      expect_map(s, "a group", {"group", "steps"});
      if (group >= 0) {
        fail(s, "groups cannot be nested");
      }
      Group g{scalar(s["group"], "group name")};
      plan_.groups.push_back(g);
      if (!s["steps"]) {
        fail(s, "missing 'steps' in group '" + g.name + "'");
      }
      parse_steps(s["steps"], journey, static_cast<int>(plan_.groups.size() - 1));
      continue;
    }
    parse_step(s, journey, group);
  }
}

void PlanParser::parse_step(const YAML::Node& node, Journey& journey, int group) {
  expect_map(node, "a step", {"name", "request", "capture", "check", "think"});
  Step step;
  step.group = group;
  if (!node["request"]) {
    fail(node, "missing 'request' in step (expected request: {method: GET, path: /})");
  }
  parse_request(node["request"], step);
  if (node["name"]) {
    step.name = scalar(node["name"], "step name");
  } else {
    const auto& r = node["request"];
    step.name = step.method + " " + (r["path"] ? r["path"].Scalar() : r["url"].Scalar());
  }
  if (node["check"]) {
    parse_checks(node["check"], step);
  }
  for (auto& c : step.checks) {
    const auto found = std::find(plan_.check_names.begin(), plan_.check_names.end(), c.name);
    c.id = static_cast<int>(found - plan_.check_names.begin());
    if (found == plan_.check_names.end()) {
      plan_.check_names.push_back(c.name);
    }
  }
  if (node["capture"]) {
    parse_captures(node["capture"], step);  // after checks and request: captures are for later steps
  }
  if (node["think"]) {
    step.think = parse_think(node["think"]);
  }
  const auto it = std::find(plan_.step_names.begin(), plan_.step_names.end(), step.name);
  if (it == plan_.step_names.end()) {
    plan_.step_names.push_back(step.name);
    step.metric = static_cast<int>(plan_.step_names.size() - 1);
  } else {
    step.metric = static_cast<int>(it - plan_.step_names.begin());
  }
  journey.steps.push_back(std::move(step));
}

void PlanParser::parse_request(const YAML::Node& node, Step& step) {
  expect_map(node, "request", {"method", "path", "url", "headers", "query", "json", "form", "body"});
  step.method = node["method"] ? scalar(node["method"], "request.method") : "GET";
  static const std::set<std::string> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
  if (kMethods.count(step.method) == 0) {
    fail(node["method"], "unknown method '" + step.method +
                             "' (expected GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS)");
  }
  if (node["path"] && node["url"]) {
    fail(node, "a request has either 'path' or 'url', not both");
  }
  if (node["path"]) {
    const auto path = scalar(node["path"], "request.path");
    if (path.empty() || path.front() != '/') {
      fail(node["path"], "expected request.path to start with '/', got '" + path + "'");
    }
    step.target = tmpl(node["path"], "request.path");
  } else if (node["url"]) {
    std::string path;
    auto o = parse_origin(scalar(node["url"], "request.url"), &path);
    if (!o.ok()) {
      fail(node["url"], "request.url: " + o.error().message);
    }
    if (o->host.find("{{") != std::string::npos) {
      fail(node["url"], "request.url: the scheme, host and port cannot be templated");
    }
    std::size_t index = 0;
    while (index < plan_.origins.size() && (plan_.origins[index].host_header != o->host_header ||
                                            plan_.origins[index].tls != o->tls)) {
      ++index;
    }
    if (index == plan_.origins.size()) {
      plan_.origins.push_back(*o);
    }
    step.origin = static_cast<int>(index);
    auto t = Template::compile(path.empty() ? "/" : path, plan_.vars);
    if (!t.ok()) {
      fail(node["url"], "request.url: " + t.error().message);
    }
    step.target = std::move(t.value());
  } else {
    fail(node, "missing 'path' or 'url' in request");
  }
  if (const auto q = node["query"]) {
    if (!q.IsMap()) {
      fail(q, "expected request.query to be a mapping of name: value");
    }
    bool first = step.target.segments().empty() ||
                 step.target.segments().front().text.find('?') == std::string::npos;
    for (const auto& kv : q) {
      step.target.append_literal(first ? "?" : "&");
      first = false;
      std::string key;
      append_escaped(key, kv.first.as<std::string>(), Escape::url);
      step.target.append_literal(key + "=");
      step.target.append(tmpl(kv.second, "query value", Escape::url));
    }
  }
  if (const auto h = node["headers"]) {
    if (!h.IsMap()) {
      fail(h, "expected request.headers to be a mapping of name: value");
    }
    for (const auto& kv : h) {
      step.headers.emplace_back(kv.first.as<std::string>(), tmpl(kv.second, "header value"));
    }
  }
  const int bodies = (node["json"] ? 1 : 0) + (node["form"] ? 1 : 0) + (node["body"] ? 1 : 0);
  if (bodies > 1) {
    fail(node, "a request has at most one of json, form and body");
  }
  if (node["json"]) {
    step.has_body = true;
    step.content_type = "application/json";
    json_body(node["json"], step.body);
  } else if (const auto f = node["form"]) {
    step.has_body = true;
    step.content_type = "application/x-www-form-urlencoded";
    if (!f.IsMap()) {
      fail(f, "expected request.form to be a mapping of name: value");
    }
    bool first = true;
    for (const auto& kv : f) {
      std::string key;
      append_escaped(key, kv.first.as<std::string>(), Escape::url);
      step.body.append_literal((first ? "" : "&") + key + "=");
      first = false;
      step.body.append(tmpl(kv.second, "form value", Escape::url));
    }
  } else if (node["body"]) {
    step.has_body = true;
    step.content_type = "text/plain";
    step.body = tmpl(node["body"], "request.body");
  }
  for (const auto& [name, value] : step.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "content-type") {
      step.content_type.clear();  // the step's own header wins
    }
    if (lower == "content-length" || lower == "host" || lower == "transfer-encoding") {
      fail(node["headers"], "header '" + name + "' is set by crest and cannot be given");
    }
  }
}

void PlanParser::json_body(const YAML::Node& node, Template& out) {
  if (node.IsMap()) {
    out.append_literal("{");
    bool first = true;
    for (const auto& kv : node) {
      if (!first) {
        out.append_literal(",");
      }
      first = false;
      out.append_literal(nlohmann::json(kv.first.as<std::string>()).dump() + ":");
      json_body(kv.second, out);
    }
    out.append_literal("}");
  } else if (node.IsSequence()) {
    out.append_literal("[");
    bool first = true;
    for (const auto& item : node) {
      if (!first) {
        out.append_literal(",");
      }
      first = false;
      json_body(item, out);
    }
    out.append_literal("]");
  } else if (node.IsNull()) {
    out.append_literal("null");
  } else {
    const std::string& s = node.Scalar();
    const bool plain = node.Tag() == "?";
    if (plain) {
      // Unquoted YAML numbers, booleans and null stay JSON literals.
      if (s == "true" || s == "false" || s == "null") {
        out.append_literal(s);
        return;
      }
      double d = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec == std::errc() && ptr == s.data() + s.size()) {
        out.append_literal(s);
        return;
      }
    }
    // "{{{ expr }}}" alone is emitted raw (a number from a template); otherwise a JSON string.
    if (s.size() > 6 && s.substr(0, 3) == "{{{" && s.substr(s.size() - 3) == "}}}" &&
        s.find("{{", 3) == std::string::npos) {
      out.append(tmpl(node, "JSON value"));
      return;
    }
    out.append_literal("\"");
    out.append(tmpl(node, "JSON value", Escape::json));
    out.append_literal("\"");
  }
}

void PlanParser::parse_captures(const YAML::Node& node, Step& step) {
  if (!node.IsSequence()) {
    fail(node, "expected capture to be a list of {name, json|regex|header|cookie}");
  }
  for (const auto& c : node) {
    expect_map(c, "a capture", {"name", "json", "regex", "group", "header", "cookie"});
    Capture cap;
    if (!c["name"]) {
      fail(c, "missing 'name' in capture (the variable to store the value in)");
    }
    cap.name = scalar(c["name"], "capture name");
    const int kinds = (c["json"] ? 1 : 0) + (c["regex"] ? 1 : 0) + (c["header"] ? 1 : 0) + (c["cookie"] ? 1 : 0);
    if (kinds != 1) {
      fail(c, "a capture needs exactly one of json, regex, header or cookie");
    }
    if (c["json"]) {
      cap.kind = Capture::Kind::json;
      cap.source = scalar(c["json"], "capture json path");
      auto p = JsonPath::parse(cap.source);
      if (!p.ok()) {
        fail(c["json"], p.error().message);
      }
      cap.path = std::move(p.value());
      step.needs_body = true;
    } else if (c["regex"]) {
      cap.kind = Capture::Kind::regex;
      cap.source = scalar(c["regex"], "capture regex");
      try {
        cap.pattern = std::regex(cap.source, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        fail(c["regex"], "invalid regular expression '" + cap.source + "': " + e.what());
      }
      cap.group = c["group"] ? integer(c["group"], "capture group") : 1;
      if (static_cast<std::size_t>(cap.group) > cap.pattern.mark_count()) {
        fail(c["group"] ? c["group"] : c["regex"],
             "regex '" + cap.source + "' has " + std::to_string(cap.pattern.mark_count()) +
                 " groups, group " + std::to_string(cap.group) + " asked for");
      }
      step.needs_body = true;
    } else if (c["header"]) {
      cap.kind = Capture::Kind::header;
      cap.source = scalar(c["header"], "capture header");
    } else {
      cap.kind = Capture::Kind::cookie;
      cap.source = scalar(c["cookie"], "capture cookie");
    }
    if (c["group"] && cap.kind != Capture::Kind::regex) {
      fail(c["group"], "'group' applies to regex captures only");
    }
    cap.slot = plan_.vars.add(cap.name);
    step.captures.push_back(std::move(cap));
  }
}

void PlanParser::parse_checks(const YAML::Node& node, Step& step) {
  expect_map(node, "check", {"status", "body_contains", "json", "latency_below"});
  if (const auto s = node["status"]) {
    Check c;
    c.kind = Check::Kind::status_in;
    step.checks_status = true;
    if (s.IsSequence()) {
      for (const auto& v : s) {
        c.statuses.push_back(integer(v, "status", 100));
      }
    } else {
      c.statuses.push_back(integer(s, "status", 100));
    }
    std::string list;
    for (int v : c.statuses) {
      list += (list.empty() ? "" : ",") + std::to_string(v);
    }
    c.name = step.name + ": status in [" + list + "]";
    step.checks.push_back(std::move(c));
  }
  if (const auto b = node["body_contains"]) {
    Check c;
    c.kind = Check::Kind::body_contains;
    c.text = scalar(b, "body_contains");
    c.name = step.name + ": body contains \"" + c.text + "\"";
    step.checks.push_back(std::move(c));
    step.needs_body = true;
  }
  if (const auto j = node["json"]) {
    expect_map(j, "check.json", {"path", "equals"});
    if (!j["path"] || !j["equals"]) {
      fail(j, "check.json needs 'path' and 'equals'");
    }
    Check c;
    c.kind = Check::Kind::json_equals;
    auto p = JsonPath::parse(scalar(j["path"], "check.json.path"));
    if (!p.ok()) {
      fail(j["path"], p.error().message);
    }
    c.path = std::move(p.value());
    Template t;
    json_body(j["equals"], t);
    if (!t.is_constant()) {
      fail(j["equals"], "check.json.equals must be a constant");
    }
    c.expected_json = nlohmann::json::parse(t.segments().empty() ? "null" : t.segments()[0].text).dump();
    c.name = step.name + ": " + c.path.text + " == " + c.expected_json;
    step.checks.push_back(std::move(c));
    step.needs_body = true;
  }
  if (const auto l = node["latency_below"]) {
    Check c;
    c.kind = Check::Kind::latency_below;
    c.limit = duration(l, "check.latency_below");
    c.name = step.name + ": latency < " + l.Scalar();
    step.checks.push_back(std::move(c));
  }
}

ThinkTime PlanParser::parse_think(const YAML::Node& node) {
  ThinkTime t;
  if (node.IsScalar()) {
    t.kind = ThinkTime::Kind::constant;
    t.a = duration(node, "think");
    return t;
  }
  expect_map(node, "think", {"uniform", "normal"});
  if (const auto u = node["uniform"]) {
    if (!u.IsSequence() || u.size() != 2) {
      fail(u, "expected think.uniform to be [low, high], as [1s, 3s]");
    }
    t.kind = ThinkTime::Kind::uniform;
    t.a = duration(u[0], "think.uniform low");
    t.b = duration(u[1], "think.uniform high");
    if (t.b < t.a) {
      fail(u, "think.uniform: high must not be below low");
    }
  } else if (const auto n = node["normal"]) {
    expect_map(n, "think.normal", {"mean", "stddev"});
    if (!n["mean"] || !n["stddev"]) {
      fail(n, "think.normal needs 'mean' and 'stddev'");
    }
    t.kind = ThinkTime::Kind::normal;
    t.a = duration(n["mean"], "think.normal.mean");
    t.b = duration(n["stddev"], "think.normal.stddev");
  } else {
    fail(node, "expected think to be a duration, {uniform: [low, high]} or {normal: {mean, stddev}}");
  }
  return t;
}

std::vector<Stage> PlanParser::parse_stages(const YAML::Node& node) {
  if (!node.IsSequence() || node.size() == 0) {
    fail(node, "expected stages to be a non-empty list of {duration, target}");
  }
  std::vector<Stage> stages;
  for (const auto& s : node) {
    expect_map(s, "a stage", {"duration", "target"});
    if (!s["duration"] || !s["target"]) {
      fail(s, "a stage needs 'duration' and 'target'");
    }
    stages.push_back(Stage{duration(s["duration"], "stage duration"), number(s["target"], "stage target")});
  }
  return stages;
}

void PlanParser::parse_load(const YAML::Node& node) {
  expect_map(node, "load",
             {"executor", "vus", "duration", "start_vus", "stages", "rate", "time_unit", "start_rate",
              "pre_allocated_vus", "max_vus", "pacing", "graceful_stop", "threads", "source_addresses",
              "processes"});
  auto& l = plan_.load;
  const std::string executor = node["executor"] ? scalar(node["executor"], "load.executor") : "constant-vus";
  std::set<std::string> allowed = {"executor", "pacing", "graceful_stop", "threads", "source_addresses",
                                   "processes"};
  if (executor == "constant-vus") {
    l.executor = Executor::constant_vus;
    allowed.insert({"vus", "duration"});
  } else if (executor == "ramping-vus") {
    l.executor = Executor::ramping_vus;
    allowed.insert({"start_vus", "stages"});
  } else if (executor == "constant-arrival-rate") {
    l.executor = Executor::constant_arrival_rate;
    allowed.insert({"rate", "time_unit", "duration", "pre_allocated_vus", "max_vus"});
  } else if (executor == "ramping-arrival-rate") {
    l.executor = Executor::ramping_arrival_rate;
    allowed.insert({"start_rate", "time_unit", "stages", "pre_allocated_vus", "max_vus"});
  } else {
    fail(node["executor"], "unknown executor '" + executor +
                               "' (expected constant-vus, ramping-vus, constant-arrival-rate or "
                               "ramping-arrival-rate)");
  }
  for (const auto& kv : node) {
    const auto key = kv.first.as<std::string>();
    if (allowed.count(key) == 0) {
      fail(kv.first, "key '" + key + "' does not apply to executor " + executor);
    }
  }
  auto require = [&](const char* key) {
    if (!node[key]) {
      fail(node, std::string("missing '") + key + "' for executor " + executor);
    }
    return node[key];
  };
  switch (l.executor) {
    case Executor::constant_vus:
      l.vus = integer(require("vus"), "load.vus", 1);
      l.duration = duration(require("duration"), "load.duration");
      break;
    case Executor::ramping_vus:
      l.start_vus = node["start_vus"] ? integer(node["start_vus"], "load.start_vus") : 0;
      l.stages = parse_stages(require("stages"));
      break;
    case Executor::constant_arrival_rate:
      l.rate = number(require("rate"), "load.rate");
      l.duration = duration(require("duration"), "load.duration");
      break;
    case Executor::ramping_arrival_rate:
      l.start_rate = node["start_rate"] ? number(node["start_rate"], "load.start_rate") : 0;
      l.stages = parse_stages(require("stages"));
      break;
  }
  if (l.executor == Executor::constant_arrival_rate || l.executor == Executor::ramping_arrival_rate) {
    if (node["time_unit"]) {
      l.time_unit = duration(node["time_unit"], "load.time_unit");
      if (l.time_unit.count() <= 0) {
        fail(node["time_unit"], "expected load.time_unit > 0");
      }
    }
    l.max_vus = integer(require("max_vus"), "load.max_vus", 1);
    l.pre_allocated_vus = node["pre_allocated_vus"]
                              ? integer(node["pre_allocated_vus"], "load.pre_allocated_vus")
                              : std::min(l.max_vus, 10);
    if (l.pre_allocated_vus > l.max_vus) {
      fail(node["pre_allocated_vus"], "pre_allocated_vus must not exceed max_vus");
    }
  }
  if (node["pacing"]) {
    if (l.executor != Executor::constant_vus && l.executor != Executor::ramping_vus) {
      fail(node["pacing"], "pacing applies to closed models (constant-vus, ramping-vus) only");
    }
    l.pacing = duration(node["pacing"], "load.pacing");
  }
  if (node["graceful_stop"]) {
    l.graceful_stop = duration(node["graceful_stop"], "load.graceful_stop");
  }
  if (node["threads"]) {
    l.threads = integer(node["threads"], "load.threads");
  }
  if (node["source_addresses"]) {
    l.source_addresses = integer(node["source_addresses"], "load.source_addresses");
  }
  if (node["processes"]) {
    l.processes = integer(node["processes"], "load.processes", 1);
  }
}

void PlanParser::parse_thresholds(const YAML::Node& node) {
  if (!node.IsMap()) {
    fail(node, "expected thresholds to be a mapping of metric: [conditions]");
  }
  for (const auto& kv : node) {
    auto t = parse_threshold_key(kv.first.as<std::string>());
    if (!t.ok()) {
      fail(kv.first, t.error().message);
    }
    YAML::Node conds = kv.second;
    if (kv.second.IsMap()) {
      expect_map(kv.second, "threshold", {"conditions", "abort_on_fail"});
      conds.reset(kv.second["conditions"]);  // reset: operator= would write into kv.second
      if (!conds) {
        fail(kv.second, "missing 'conditions' in threshold");
      }
      if (kv.second["abort_on_fail"]) {
        t->abort_on_fail = boolean(kv.second["abort_on_fail"], "abort_on_fail");
      }
    }
    auto add = [&](const YAML::Node& c) {
      auto cond = parse_threshold_condition(scalar(c, "threshold condition"));
      if (!cond.ok()) {
        fail(c, cond.error().message);
      }
      const bool duration_metric = t->metric.find("duration") != std::string::npos;
      const bool rate_metric = t->metric == "http_req_failed" || t->metric == "checks";
      if (duration_metric && (cond->aggregate == "rate" || cond->aggregate == "count")) {
        fail(c, t->metric + " takes p(N), avg, min, max or med, not " + cond->aggregate);
      }
      if (rate_metric && cond->aggregate != "rate") {
        fail(c, t->metric + " takes 'rate', as rate < 0.01");
      }
      if ((t->metric == "http_reqs" || t->metric == "iterations" || t->metric == "dropped_iterations") &&
          cond->aggregate != "count" && cond->aggregate != "rate") {
        fail(c, t->metric + " takes 'count' or 'rate' (per second)");
      }
      t->conditions.push_back(std::move(cond.value()));
    };
    if (conds.IsSequence()) {
      for (const auto& c : conds) {
        add(c);
      }
    } else {
      add(conds);
    }
    if (t->tag_key == "step" &&
        std::find(plan_.step_names.begin(), plan_.step_names.end(), t->tag_value) == plan_.step_names.end()) {
      fail(kv.first, "threshold names step '" + t->tag_value + "', which no journey has");
    }
    if (t->tag_key == "journey" &&
        std::none_of(plan_.journeys.begin(), plan_.journeys.end(), [&](const Journey& j) { return j.name == t->tag_value; })) {
      fail(kv.first, "threshold names journey '" + t->tag_value + "', which the plan does not have");
    }
    if (t->tag_key == "group" &&
        std::none_of(plan_.groups.begin(), plan_.groups.end(), [&](const Group& g) { return g.name == t->tag_value; })) {
      fail(kv.first, "threshold names group '" + t->tag_value + "', which the plan does not have");
    }
    plan_.thresholds.push_back(std::move(t.value()));
  }
}

void PlanParser::apply_overrides(const YAML::Node& root) {
  auto& l = plan_.load;
  if (overrides_.vus) {
    l.vus = *overrides_.vus;
    if (l.executor == Executor::constant_arrival_rate || l.executor == Executor::ramping_arrival_rate) {
      l.max_vus = *overrides_.vus;
      l.pre_allocated_vus = std::min(l.pre_allocated_vus, l.max_vus);
    } else if (l.executor == Executor::ramping_vus) {
      throw Failure{invalid("--vus does not apply to ramping-vus (its stages set the VUs)")};
    }
  }
  if (overrides_.rate) {
    if (l.executor != Executor::constant_arrival_rate) {
      throw Failure{invalid("--rate applies to constant-arrival-rate plans only")};
    }
    l.rate = *overrides_.rate;
  }
  if (overrides_.duration) {
    if (l.executor == Executor::ramping_vus || l.executor == Executor::ramping_arrival_rate) {
      throw Failure{invalid("--duration does not apply to ramping executors (their stages set it)")};
    }
    l.duration = *overrides_.duration;
  }
  if (overrides_.threads) {
    l.threads = *overrides_.threads;
  }
  if (overrides_.processes) {
    l.processes = *overrides_.processes;
  }
  // A unique feed with on_exhausted: error must have a row for every virtual user.
  for (const auto& feed : plan_.feeds) {
    if (feed.mode == Feed::Mode::unique && !feed.recycle &&
        static_cast<std::size_t>(l.peak_vus()) > feed.rows.size()) {
      fail(root["data"][feed.name], "data '" + feed.name + "' is unique with " +
                                        std::to_string(feed.rows.size()) + " rows, but the load uses up to " +
                                        std::to_string(l.peak_vus()) +
                                        " virtual users (add rows, lower the VUs, or set on_exhausted: recycle)");
    }
  }
}

}  // namespace

Result<Plan> parse_plan(const std::string& yaml_text, const std::string& file_name,
                        const PlanOverrides& overrides, const std::string& base_dir) {
  PlanParser parser(file_name, base_dir, overrides);
  return parser.parse(yaml_text);
}

Result<Plan> load_plan(const std::string& path, const PlanOverrides& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return invalid(path + ":1:1: cannot open plan file");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const auto slash = path.rfind('/');
  return parse_plan(ss.str(), path, overrides, slash == std::string::npos ? "." : path.substr(0, slash));
}

}  // namespace crest::load
