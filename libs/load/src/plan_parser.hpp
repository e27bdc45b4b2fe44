#pragma once
// The YAML plan parser behind load_plan: plan.cpp parses the top level, target and data;
// plan_load.cpp the load model (load:, scenarios:), thresholds and overrides; plan_steps.cpp the
// journeys and their steps; plan_captures.cpp a step's captures and checks. Every failure throws
// Failure internally and leaves parse() as a Result whose message is "file:line:column: ...".
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <charconv>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "crest/load/plan.hpp"

namespace crest::load {

// The parser's helpers are public to the two units that implement it, not to the library.
class PlanParser {
 public:
  PlanParser(std::string file, std::string base_dir, const PlanOverrides& overrides)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), overrides_(overrides) {}

  Result<Plan> parse(const std::string& text);

  struct Failure {
    Error error;
  };
  static Error invalid(std::string message) {
    return Error{ErrorKind::invalid_argument, std::move(message)};
  }

  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
    const auto mark = node.Mark();
    throw Failure{invalid(file_ + ":" + std::to_string(mark.line + 1) + ":" +
                          std::to_string(mark.column + 1) + ": " + message)};
  }
  [[noreturn]] void fail_at(const YAML::Mark& mark, const std::string& message) const {
    throw Failure{invalid(file_ + ":" + std::to_string(mark.line + 1) + ":" +
                          std::to_string(mark.column + 1) + ": " + message)};
  }

  void expect_map(const YAML::Node& node, const std::string& what,
                  const std::set<std::string>& keys) {
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
        fail(kv.first,
             "unknown key '" + key + "' in " + what + " (expected one of: " + allowed + ")");
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
      fail(node, "expected " + what + " to be an integer >= " + std::to_string(min) + ", got '" +
                     s + "'");
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
  // {{ env.NAME }} anywhere in `text`: a variable holding -e NAME=... or else the process
  // environment's NAME (empty when unset), declared before the template is compiled.
  void declare_env(std::string_view text) {
    for (auto open = text.find("{{"); open != std::string_view::npos;
         open = text.find("{{", open + 2)) {
      const auto close = text.find("}}", open);
      const auto inside =
          text.substr(open, close == std::string_view::npos ? text.npos : close - open);
      for (auto at = inside.find("env."); at != std::string_view::npos;
           at = inside.find("env.", at + 4)) {
        const char before = at == 0 ? ' ' : inside[at - 1];
        if (std::isalnum(static_cast<unsigned char>(before)) != 0 || before == '_' ||
            before == '.') {
          continue;
        }
        std::size_t end = at + 4;
        while (end < inside.size() &&
               (std::isalnum(static_cast<unsigned char>(inside[end])) != 0 || inside[end] == '_')) {
          ++end;
        }
        const std::string name(inside.substr(at + 4, end - at - 4));
        if (name.empty() || plan_.vars.find("env." + name) >= 0) {
          continue;
        }
        const int slot = plan_.vars.add("env." + name);
        std::string value;
        bool given = false;
        for (const auto& [k, v] : overrides_.vars) {
          if (k == name) {
            value = v;
            given = true;
          }
        }
        if (!given) {
          const char* from_env = std::getenv(name.c_str());
          value = from_env == nullptr ? "" : from_env;
        }
        plan_.initial_values.resize(plan_.vars.size());
        plan_.initial_values[static_cast<std::size_t>(slot)] = value;
        plan_.env_slots.emplace_back(slot, name);
      }
    }
  }
  Template tmpl(const YAML::Node& node, const std::string& what, Escape escape = Escape::none) {
    declare_env(scalar(node, what));
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
  void parse_journey_steps(const YAML::Node& node, Journey& journey);
  int once_journey(const YAML::Node& node, const std::string& name, Duration& timeout);
  void parse_steps(const YAML::Node& node, Journey& journey, std::vector<int>& groups);
  void parse_step(const YAML::Node& node, Journey& journey, const std::vector<int>& groups);
  int condition(const YAML::Node& node, Journey& journey);
  JsonPath json_path(const YAML::Node& node);
  std::regex regex(const YAML::Node& node);
  void parse_check_map(const YAML::Node& node, Step& step, bool one);
  Check json_check(const YAML::Node& node, Step& step);
  void parse_request(const YAML::Node& node, Step& step);
  void json_body(const YAML::Node& node, Template& out);
  void parse_captures(const YAML::Node& node, Step& step);
  void parse_checks(const YAML::Node& node, Step& step);
  ThinkTime parse_think(const YAML::Node& node);
  LoadSpec parse_load_spec(const YAML::Node& node, const std::string& what, bool scenario);
  void parse_load(const YAML::Node& node);
  void parse_scenarios(const YAML::Node& node);
  void finish_scenarios(const YAML::Node& root);
  void apply_load_overrides();
  std::vector<Stage> parse_stages(const YAML::Node& node);
  void parse_thresholds(const YAML::Node& node);
  void apply_overrides(const YAML::Node& root);

  std::string file_;
  std::string base_dir_;
  const PlanOverrides& overrides_;
  Plan plan_;
};

}  // namespace crest::load
