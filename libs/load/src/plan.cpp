#include "crest/load/plan.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "feed.hpp"
#include "plan_parser.hpp"

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
    case Executor::per_vu_iterations:
      return "per-vu-iterations";
    case Executor::shared_iterations:
      return "shared-iterations";
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
    case Executor::per_vu_iterations:
      return vus;
    case Executor::shared_iterations:
      return static_cast<int>(std::min<std::int64_t>(vus, std::max<std::int64_t>(1, iterations)));
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
    expect_map(
        root, "the plan",
        {"target", "variables", "data", "journeys", "load", "thresholds", "setup", "teardown"});
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
    if (!root["load"]) {
      fail(root,
           "missing 'load' (expected load: {executor: constant-vus, vus: 10, duration: 30s})");
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
    stages.push_back(
        Stage{duration(s["duration"], "stage duration"), number(s["target"], "stage target")});
  }
  return stages;
}

void PlanParser::parse_load(const YAML::Node& node) {
  expect_map(node, "load",
             {"executor", "vus", "duration", "start_vus", "stages", "rate", "time_unit",
              "start_rate", "pre_allocated_vus", "max_vus", "pacing", "graceful_stop", "threads",
              "source_addresses", "processes", "iterations", "max_duration"});
  auto& l = plan_.load;
  const std::string executor =
      node["executor"] ? scalar(node["executor"], "load.executor") : "constant-vus";
  std::set<std::string> allowed = {"executor", "pacing",           "graceful_stop",
                                   "threads",  "source_addresses", "processes"};
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
  } else if (executor == "per-vu-iterations") {
    l.executor = Executor::per_vu_iterations;
    allowed.insert({"vus", "iterations", "max_duration"});
  } else if (executor == "shared-iterations") {
    l.executor = Executor::shared_iterations;
    allowed.insert({"vus", "iterations", "max_duration"});
  } else {
    fail(node["executor"], "unknown executor '" + executor +
                               "' (expected constant-vus, ramping-vus, constant-arrival-rate, "
                               "ramping-arrival-rate, per-vu-iterations or shared-iterations)");
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
    case Executor::per_vu_iterations:
    case Executor::shared_iterations:
      l.vus = node["vus"] ? integer(node["vus"], "load.vus", 1) : 1;
      l.iterations = node["iterations"] ? integer(node["iterations"], "load.iterations", 1) : 1;
      l.duration = node["max_duration"] ? duration(node["max_duration"], "load.max_duration")
                                        : std::chrono::minutes(10);
      break;
  }
  if (l.is_open_model()) {
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
    if (l.is_open_model()) {
      fail(node["pacing"], "pacing applies to closed models (not to arrival-rate executors)");
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
      expect_map(kv.second, "threshold", {"conditions", "abort_on_fail", "delay_abort_eval"});
      conds.reset(kv.second["conditions"]);  // reset: operator= would write into kv.second
      if (!conds) {
        fail(kv.second, "missing 'conditions' in threshold");
      }
      if (kv.second["abort_on_fail"]) {
        t->abort_on_fail = boolean(kv.second["abort_on_fail"], "abort_on_fail");
      }
      if (kv.second["delay_abort_eval"]) {
        t->delay_abort_eval = duration(kv.second["delay_abort_eval"], "delay_abort_eval");
        if (!t->abort_on_fail) {
          fail(kv.second["delay_abort_eval"], "delay_abort_eval needs abort_on_fail: true");
        }
      }
    }
    auto add = [&](const YAML::Node& c) {
      auto cond = parse_threshold_condition(scalar(c, "threshold condition"));
      if (!cond.ok()) {
        fail(c, cond.error().message);
      }
      if (const auto mismatch = condition_mismatch(*t, *cond); !mismatch.empty()) {
        fail(c, mismatch);
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
    if (t->tag_key == "step" && std::find(plan_.step_names.begin(), plan_.step_names.end(),
                                          t->tag_value) == plan_.step_names.end()) {
      fail(kv.first, "threshold names step '" + t->tag_value + "', which no journey has");
    }
    if (t->tag_key == "journey" &&
        std::none_of(plan_.journeys.begin(), plan_.journeys.end(),
                     [&](const Journey& j) { return j.name == t->tag_value; })) {
      fail(kv.first,
           "threshold names journey '" + t->tag_value + "', which the plan does not have");
    }
    if (t->tag_key == "group" &&
        std::none_of(plan_.groups.begin(), plan_.groups.end(),
                     [&](const Group& g) { return g.name == t->tag_value; })) {
      fail(kv.first, "threshold names group '" + t->tag_value + "', which the plan does not have");
    }
    if (t->tag_key != "step" && t->tag_key != "journey" && t->tag_key != "group" &&
        !t->tag_key.empty()) {
      if (t->metric == ThresholdMetric::iteration_duration ||
          t->metric == ThresholdMetric::iterations ||
          t->metric == ThresholdMetric::dropped_iterations) {
        fail(kv.first, "threshold tag '" + t->tag_key + "' is a step tag: " + to_string(t->metric) +
                           " is not measured per step");
      }
      const bool tagged =
          std::any_of(plan_.journeys.begin(), plan_.journeys.end(), [&](const Journey& j) {
            return std::any_of(j.steps.begin(), j.steps.end(), [&](const Step& s) {
              return std::any_of(s.tags.begin(), s.tags.end(), [&](const auto& tag) {
                return tag.first == t->tag_key && tag.second == t->tag_value;
              });
            });
          });
      if (!tagged) {
        fail(kv.first, "threshold names tag " + t->tag_key + ":" + t->tag_value +
                           ", which no step sets (steps set tags with tags: {" + t->tag_key + ": " +
                           t->tag_value + "})");
      }
    }
    plan_.thresholds.push_back(std::move(t.value()));
  }
}

void PlanParser::apply_overrides(const YAML::Node& root) {
  auto& l = plan_.load;
  if (overrides_.vus) {
    l.vus = *overrides_.vus;
    if (l.is_open_model()) {
      l.max_vus = *overrides_.vus;
      l.pre_allocated_vus = std::min(l.pre_allocated_vus, l.max_vus);
    } else if (l.executor == Executor::ramping_vus) {
      throw Failure{invalid("--vus does not apply to ramping-vus (its stages set the VUs)")};
    }
  }
  if (overrides_.iterations) {
    // As k6: --iterations turns a constant-vus load into shared-iterations.
    if (l.executor == Executor::constant_vus) {
      l.executor = Executor::shared_iterations;
      if (!overrides_.duration) {
        l.duration = std::chrono::minutes(10);
      }
    }
    if (!l.is_iteration_based()) {
      throw Failure{invalid(std::string("--iterations does not apply to ") + to_string(l.executor) +
                            " (use constant-vus, per-vu-iterations or shared-iterations)")};
    }
    l.iterations = *overrides_.iterations;
  }
  if (overrides_.rate) {
    if (l.executor != Executor::constant_arrival_rate) {
      throw Failure{invalid("--rate applies to constant-arrival-rate plans only")};
    }
    l.rate = *overrides_.rate;
  }
  if (overrides_.duration) {
    if (l.executor == Executor::ramping_vus || l.executor == Executor::ramping_arrival_rate) {
      throw Failure{
          invalid("--duration does not apply to ramping executors (their stages set it)")};
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
      fail(root["data"][feed.name],
           "data '" + feed.name + "' is unique with " + std::to_string(feed.rows.size()) +
               " rows, but the load uses up to " + std::to_string(l.peak_vus()) +
               " virtual users (add rows, lower the VUs, or set on_exhausted: recycle)");
    }
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
