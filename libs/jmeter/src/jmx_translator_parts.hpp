#pragma once
// The JMX translator's insides, shared by its units (not part of the library's interface):
// jmx_translator.cpp (the tree walk's entry and the public functions), jmx_globals.cpp (test plan
// level elements and thread groups), jmx_controllers.cpp (controllers and their scoping),
// jmx_samplers.cpp (HTTP samplers, extractors, assertions, timers) and jmx_plan_emitter.cpp (the
// YAML plan: journeys, load model, scenarios).
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "crest/jmeter/jmx_translator.hpp"
#include "crest/load/plan.hpp"

namespace crest::jmeter::detail {

namespace fs = std::filesystem;

inline std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return "";
  }
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

inline std::optional<long long> to_integer(const std::string& text) {
  const auto t = trim(text);
  if (t.empty()) {
    return std::nullopt;
  }
  std::size_t used = 0;
  try {
    const auto v = std::stoll(t, &used);
    if (used == t.size()) {
      return v;
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

inline std::optional<double> to_number(const std::string& text) {
  const auto t = trim(text);
  if (t.empty()) {
    return std::nullopt;
  }
  std::size_t used = 0;
  try {
    const auto v = std::stod(t, &used);
    if (used == t.size() && std::isfinite(v)) {
      return v;
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

inline std::string ms_text(double ms) {
  if (ms >= 1000 && std::fmod(ms, 1000) == 0) {
    return fmt::format("{}s", static_cast<long long>(ms / 1000));
  }
  return fmt::format("{}ms", static_cast<long long>(std::llround(ms)));
}

inline bool enabled(const pugi::xml_node& element) {
  return std::string(element.attribute("enabled").as_string("true")) != "false";
}

inline std::string label_of(const pugi::xml_node& element) {
  const std::string name = element.attribute("testname").as_string();
  return name.empty() ? element.name() : name;
}

// A property as JMeter saves it: <stringProp name="X">v</stringProp> (also boolProp, intProp,
// longProp), or a doubleProp/objectProp written as <doubleProp><name>X</name><value>v</value>.
inline std::optional<std::string> prop(const pugi::xml_node& element, const char* name) {
  for (const auto& child : element.children()) {
    if (std::string(child.attribute("name").as_string()) == name) {
      return std::string(child.text().as_string());
    }
    if (std::string(child.child_value("name")) == name) {
      return std::string(child.child_value("value"));
    }
  }
  return std::nullopt;
}

inline std::string prop_or(const pugi::xml_node& element, const char* name,
                           const std::string& def = "") {
  auto v = prop(element, name);
  return v ? *v : def;
}

inline bool prop_bool(const pugi::xml_node& element, const char* name, bool def) {
  const auto v = prop(element, name);
  if (!v || trim(*v).empty()) {
    return def;
  }
  return trim(*v) == "true";
}

inline pugi::xml_node child_prop(const pugi::xml_node& element, const char* name) {
  for (const auto& child : element.children()) {
    if (std::string(child.attribute("name").as_string()) == name) {
      return child;
    }
  }
  return {};
}

// Name/value pairs of an Arguments element (user-defined variables, sampler arguments).
struct Argument {
  std::string name;
  std::string value;
};
inline std::vector<Argument> arguments_of(const pugi::xml_node& arguments) {
  std::vector<Argument> out;
  const auto collection = child_prop(arguments, "Arguments.arguments");
  for (const auto& e : collection.children()) {
    out.push_back({prop_or(e, "Argument.name"), prop_or(e, "Argument.value")});
  }
  return out;
}

inline std::string regex_escape(const std::string& text) {
  static const std::string special = R"(\^$.|?*+()[]{}/)";
  std::string out;
  for (const char c : text) {
    if (special.find(c) != std::string::npos) {
      out += '\\';
    }
    out += c;
  }
  return out;
}

inline std::string feed_safe_name(std::string text) {
  std::string out;
  for (const char c : text) {
    out += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_') ? c : '_';
  }
  return out.empty() ? "feed" : out;
}

inline std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (const char c : text) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

inline std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) {
    return v;
  }
  std::string out = "\"";
  for (const char c : v) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

struct Think {
  enum class Kind : std::uint8_t { none, constant, uniform, normal };
  Kind kind = Kind::none;
  double a = 0;  // constant / uniform low / normal mean (ms)
  double b = 0;  // uniform high / normal deviation (ms)
};

// A condition of an IfController that crest can evaluate: a variable against a literal.
struct SimpleCondition {
  std::string variable;  // crest expression ("token", "users.email")
  std::string op;        // == or !=
  std::string literal;
};

struct Located {
  pugi::xml_node element;
  std::string path;
};

// What JMeter's scoping rules make apply to the samplers of a controller.
struct Scope {
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<Located> timers;
  std::vector<Located> assertions;
  std::vector<Located> extractors;
};

struct ThreadGroupModel {
  std::string name;
  std::string path;
  long long threads = 1;
  double ramp_s = 0;
  double delay_s = 0;
  std::optional<double> duration_s;
  long long loops = -1;
  YAML::Node steps;
  int samplers = 0;
  std::optional<double> throughput_per_minute;  // arrivals of samples, whole thread group
};

class Translator {
 public:
  Translator(std::string file, JmxTranslateOptions options)
      : file_(std::move(file)), options_(std::move(options)) {}
  Result<JmxTranslation> run(const std::string& xml);

 private:
  static pugi::xml_node subtree_of(const pugi::xml_node& element);
  static std::vector<pugi::xml_node> elements_of(const pugi::xml_node& tree);
  void warn(const std::string& path, const std::string& message);
  std::string expr(const std::string& text, const std::string& path);
  std::string static_value(const std::string& text, const std::string& path);
  void collect_globals(const pugi::xml_node& test_plan, const pugi::xml_node& tree,
                       const std::string& path);
  void add_variable(const Argument& a, const std::string& path);
  void collect_globals_in(const pugi::xml_node& tree, const std::string& path);
  void declare(const std::string& name);
  void add_defaults(const pugi::xml_node& e, const std::string& path);
  void add_feed(const pugi::xml_node& e, const std::string& path);
  void walk_thread_groups(const pugi::xml_node& tree, const std::string& path);
  static bool is_listener(const std::string& tag);
  static bool is_global_or_listener(const std::string& tag, const pugi::xml_node& e);
  static bool is_timer(const std::string& tag);
  static bool is_throughput_timer(const std::string& tag);
  static bool is_assertion(const std::string& tag);
  static bool is_extractor(const std::string& tag);
  static bool is_scoped(const std::string& tag);
  long long static_integer(const pugi::xml_node& e, const char* name, long long def,
                           const std::string& path);
  // `phase`: 0 a ThreadGroup (a journey and its load), 1 a SetupThreadGroup (the plan's setup:),
  // 2 a PostThreadGroup (its teardown:).
  void add_thread_group(const pugi::xml_node& e, const std::string& path, int phase = 0);
  Scope extend(const Scope& parent, const pugi::xml_node& tree, const std::string& path,
               ThreadGroupModel& tg);
  static void add_headers(const pugi::xml_node& e,
                          std::vector<std::pair<std::string, std::string>>& headers);
  void add_throughput(const pugi::xml_node& e, const std::string& path, ThreadGroupModel& tg);
  YAML::Node walk(const pugi::xml_node& tree, const Scope& parent, const std::string& path,
                  ThreadGroupModel& tg, int transaction_depth);
  static void append_all(YAML::Node& to, const YAML::Node& from);
  void add_loop(const pugi::xml_node& e, const std::string& path, const YAML::Node& inner,
                YAML::Node& steps);
  void add_if(const pugi::xml_node& e, const std::string& path, const YAML::Node& inner,
              YAML::Node& steps);
  std::optional<SimpleCondition> parse_condition(std::string text);
  static YAML::Node loop_block(long long count, const YAML::Node& steps);
  static YAML::Node if_block(const SimpleCondition& c, const YAML::Node& steps);
  YAML::Node sampler_step(const pugi::xml_node& e, const Scope& parent, const std::string& path,
                          ThreadGroupModel& tg);
  std::string origin_of(const std::string& protocol, const std::string& domain,
                        const std::string& port, const std::string& path);
  void add_arguments(const pugi::xml_node& e, const std::string& path, const std::string& method,
                     YAML::Node& request);
  void add_capture(const Located& x, YAML::Node& captures);
  void add_match(const std::string& text, const std::string& path, YAML::Node& capture);
  static void add_default(const pugi::xml_node& e, const char* value_key, const char* empty_key,
                          YAML::Node& capture);
  void add_check(const Located& a, YAML::Node& check);
  YAML::Node think_of(const std::vector<Located>& timers);
  std::string emit();
  YAML::Node executor_for(const ThreadGroupModel& tg, bool delay_as_start);
  void add_load(YAML::Node& plan);
  struct Feed {
    std::string name;
    std::string file;
  };
  std::string file_;
  JmxTranslateOptions options_;
  std::vector<std::string> warnings_;
  JmeterVariables vars_;
  std::vector<std::pair<std::string, std::string>> static_values_;
  std::vector<std::pair<std::string, std::string>> variables_;
  std::vector<Feed> feeds_;
  bool cookies_ = false;
  bool have_defaults_ = false;
  std::string default_protocol_, default_domain_, default_port_;
  std::string connect_timeout_, response_timeout_;
  std::optional<std::string> target_;
  bool warned_redirects_ = false;
  bool warned_no_host_ = false;
  Scope plan_scope_;
  std::vector<ThreadGroupModel> groups_;
  // setUp and tearDown Thread Groups: their steps, in plan order, become setup: and teardown:.
  YAML::Node setup_steps_{YAML::NodeType::Sequence};
  YAML::Node teardown_steps_{YAML::NodeType::Sequence};
};

}  // namespace crest::jmeter::detail
