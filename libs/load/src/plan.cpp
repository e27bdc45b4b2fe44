#include "crest/load/plan.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "crest/core/host_port.hpp"
#include "feed.hpp"
#include "plan_parser.hpp"

namespace crest::load {

namespace {

Error invalid(std::string message) {
  return Error{ErrorKind::invalid_argument, std::move(message)};
}

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
    return invalid("expected a URL starting with http:// or https://, got '" + std::string(url) +
                   "'");
  }
  const auto slash = rest.find('/');
  const auto authority = rest.substr(0, slash);
  if (path_out != nullptr) {
    *path_out = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  }
  auto at = crest::parse_host_port(
      authority, {.default_port = o.port, .allow_port_zero = false, .allow_empty_host = false});
  if (!at.ok()) {
    // "has no valid port (1..65535)", "names no host", ...: the URL, then what is wrong.
    return invalid("URL '" + std::string(url) + "': host and port " + at.error().message);
  }
  o.port = at->port;
  o.host = std::move(at->host);
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
      if (inner == "*") {
        path.parts.emplace_back(kEveryIndex);
      } else if (inner.size() >= 2 && (inner.front() == '\'' || inner.front() == '"') &&
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
    expect_map(root, "the plan",
               {"target", "variables", "data", "journeys", "load", "scenarios", "thresholds",
                "setup", "teardown"});
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
    // setup first: what it captures is visible to every journey's templates.
    if (root["setup"]) {
      plan_.setup = once_journey(root["setup"], "setup", plan_.setup_timeout);
    }
    parse_journeys(root["journeys"]);
    if (root["teardown"]) {
      plan_.teardown = once_journey(root["teardown"], "teardown", plan_.teardown_timeout);
    }
    if (root["load"] && root["scenarios"]) {
      fail(root["scenarios"], "a plan has either load: (one scenario) or scenarios:, not both");
    }
    if (root["scenarios"]) {
      parse_scenarios(root["scenarios"]);
    } else if (root["load"]) {
      parse_load(root["load"]);
    } else {
      fail(root,
           "missing 'load' (expected load: {executor: constant-vus, vus: 10, duration: 30s}, or "
           "scenarios:)");
    }
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

int PlanParser::once_journey(const YAML::Node& node, const std::string& name, Duration& timeout) {
  expect_map(node, name, {"steps", "timeout"});
  if (!node["steps"]) {
    fail(node, "missing 'steps' in " + name);
  }
  Journey journey;
  journey.name = name;
  journey.weight = 0;  // never picked by weight: it runs once
  parse_journey_steps(node["steps"], journey);
  if (node["timeout"]) {
    timeout = duration(node["timeout"], name + ".timeout");
    if (timeout.count() <= 0) {
      fail(node["timeout"], "expected " + name + ".timeout > 0");
    }
  }
  if (std::any_of(plan_.journeys.begin(), plan_.journeys.end(),
                  [&](const Journey& j) { return j.name == name; })) {
    fail(node, "a journey is already named '" + name + "' (setup and teardown use their names)");
  }
  plan_.journeys.push_back(std::move(journey));
  return static_cast<int>(plan_.journeys.size() - 1);
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
    auto table = read_csv_feed(path);
    if (!table.ok()) {
      fail(spec["file"], table.error().message);
    }
    feed.columns = std::move(table->columns);
    feed.rows = std::move(table->rows);
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
        fail(spec["mode"],
             "unknown data mode '" + mode + "' (expected sequential, random or unique)");
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
  return parse_plan(ss.str(), path, overrides,
                    slash == std::string::npos ? "." : path.substr(0, slash));
}

}  // namespace crest::load
