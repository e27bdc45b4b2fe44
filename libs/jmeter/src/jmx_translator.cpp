// A .jmx tree walked once: global elements first (variables, CSV feeds, HTTP defaults, cookie
// manager), then each thread group's tree into journey steps, with JMeter's scoping: config,
// timers, assertions and post-processors apply to every sampler below the controller holding
// them. The YAML is emitted with yaml-cpp and parsed again by the load library's own parser
// in the tests, so a translation that the engine would refuse cannot pass them.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <pugixml.hpp>
#include <set>
#include <sstream>

#include "crest/jmeter/jmx_translator.hpp"
#include "crest/load/plan.hpp"

namespace crest::jmeter {
namespace {

namespace fs = std::filesystem;

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return "";
  }
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::optional<long long> to_integer(const std::string& text) {
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

std::optional<double> to_number(const std::string& text) {
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

std::string ms_text(double ms) {
  if (ms >= 1000 && std::fmod(ms, 1000) == 0) {
    return fmt::format("{}s", static_cast<long long>(ms / 1000));
  }
  return fmt::format("{}ms", static_cast<long long>(std::llround(ms)));
}

bool enabled(const pugi::xml_node& element) {
  return std::string(element.attribute("enabled").as_string("true")) != "false";
}

std::string label_of(const pugi::xml_node& element) {
  const std::string name = element.attribute("testname").as_string();
  return name.empty() ? element.name() : name;
}

// A property as JMeter saves it: <stringProp name="X">v</stringProp> (also boolProp, intProp,
// longProp), or a doubleProp/objectProp written as <doubleProp><name>X</name><value>v</value>.
std::optional<std::string> prop(const pugi::xml_node& element, const char* name) {
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

std::string prop_or(const pugi::xml_node& element, const char* name, const std::string& def = "") {
  auto v = prop(element, name);
  return v ? *v : def;
}

bool prop_bool(const pugi::xml_node& element, const char* name, bool def) {
  const auto v = prop(element, name);
  if (!v || trim(*v).empty()) {
    return def;
  }
  return trim(*v) == "true";
}

pugi::xml_node child_prop(const pugi::xml_node& element, const char* name) {
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
std::vector<Argument> arguments_of(const pugi::xml_node& arguments) {
  std::vector<Argument> out;
  const auto collection = child_prop(arguments, "Arguments.arguments");
  for (const auto& e : collection.children()) {
    out.push_back({prop_or(e, "Argument.name"), prop_or(e, "Argument.value")});
  }
  return out;
}

std::string regex_escape(const std::string& text) {
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

std::string feed_safe_name(std::string text) {
  std::string out;
  for (const char c : text) {
    out += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_') ? c : '_';
  }
  return out.empty() ? "feed" : out;
}

std::vector<std::string> split(const std::string& text, char sep) {
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

std::string csv_field(const std::string& v) {
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

  Result<JmxTranslation> run(const std::string& xml) {
    pugi::xml_document doc;
    const auto parsed = doc.load_string(xml.c_str());
    if (!parsed) {
      return Error{ErrorKind::invalid_argument,
                   fmt::format("{}: not a JMeter test plan: XML error at byte {}: {}", file_,
                               parsed.offset, parsed.description())};
    }
    const auto root = doc.child("jmeterTestPlan");
    if (!root) {
      return Error{ErrorKind::invalid_argument,
                   file_ + ": not a JMeter test plan (no <jmeterTestPlan> root element)"};
    }
    const auto top = root.child("hashTree");
    const auto test_plan = top.child("TestPlan");
    if (!test_plan) {
      return Error{ErrorKind::invalid_argument, file_ + ": no <TestPlan> element"};
    }
    const std::string plan_path = label_of(test_plan);
    collect_globals(test_plan, subtree_of(test_plan), plan_path);
    walk_thread_groups(subtree_of(test_plan), plan_path);
    if (groups_.empty()) {
      return Error{ErrorKind::invalid_argument,
                   file_ + ": no enabled ThreadGroup with at least one HTTP sampler"};
    }
    if (options_.strict && !warnings_.empty()) {
      std::string msg = file_ + ": unsupported in --strict mode:";
      for (const auto& w : warnings_) {
        msg += "\n  " + w;
      }
      return Error{ErrorKind::invalid_argument, msg};
    }
    JmxTranslation out;
    out.yaml = emit();
    out.warnings = warnings_;
    return out;
  }

 private:
  // ---- the tree ----------------------------------------------------------------------------

  static pugi::xml_node subtree_of(const pugi::xml_node& element) {
    auto next = element.next_sibling();
    while (next && next.type() != pugi::node_element) {
      next = next.next_sibling();
    }
    return (next && std::string(next.name()) == "hashTree") ? next : pugi::xml_node{};
  }

  // The elements of a hashTree, each with the hashTree of its children.
  static std::vector<pugi::xml_node> elements_of(const pugi::xml_node& tree) {
    std::vector<pugi::xml_node> out;
    for (const auto& child : tree.children()) {
      if (child.type() == pugi::node_element && std::string(child.name()) != "hashTree") {
        out.push_back(child);
      }
    }
    return out;
  }

  void warn(const std::string& path, const std::string& message) {
    warnings_.push_back(path + ": " + message);
  }

  std::string expr(const std::string& text, const std::string& path) {
    std::vector<std::string> problems;
    auto out = translate_expression(text, vars_, problems);
    for (const auto& p : problems) {
      warn(path, p);
    }
    return out;
  }

  // A value needed at translation time (the target's host and port, thread counts): variables
  // and properties replaced by their values or defaults (-e and --vus still override at run).
  std::string static_value(const std::string& text, const std::string& path) {
    std::vector<std::string> problems;
    const auto templated = translate_expression(text, vars_, problems);
    for (const auto& p : problems) {
      warn(path, p);
    }
    std::string out;
    std::size_t i = 0;
    while (i < templated.size()) {
      const auto open = templated.find("{{ ", i);
      if (open == std::string::npos) {
        out += templated.substr(i);
        break;
      }
      const auto close = templated.find(" }}", open);
      out += templated.substr(i, open - i);
      const auto name = templated.substr(open + 3, close - open - 3);
      bool found = false;
      for (const auto& [k, v] : options_.properties) {
        if (k == name && !found) {
          out += v;
          found = true;
        }
      }
      for (const auto& [k, v] : vars_.properties) {
        if (found) {
          break;
        }
        if (k == name) {
          out += v;
          found = true;
          break;
        }
      }
      for (const auto& [k, v] : static_values_) {
        if (found) {
          break;
        }
        if (k == name) {
          out += v;
          found = true;
          break;
        }
      }
      if (!found) {
        warn(path, "'" + text + "' must be known before the run starts; '" + name +
                       "' is not a constant, left empty");
      }
      i = close + 3;
    }
    return out;
  }

  // ---- global elements ---------------------------------------------------------------------

  void collect_globals(const pugi::xml_node& test_plan, const pugi::xml_node& tree,
                       const std::string& path) {
    const auto udv = child_prop(test_plan, "TestPlan.user_defined_variables");
    for (const auto& a : arguments_of(udv)) {
      add_variable(a, path);
    }
    if (prop_bool(test_plan, "TestPlan.functional_mode", false)) {
      warn(path, "functional test mode is a JMeter recording option; ignored");
    }
    collect_globals_in(tree, path);
  }

  void add_variable(const Argument& a, const std::string& path) {
    if (a.name.empty()) {
      return;
    }
    // A value that is only a property with a default (host = ${__P(host,localhost)}) becomes
    // that default; -e NAME=VALUE overrides it at run time as -JNAME=VALUE did.
    const auto value = static_value(a.value, path + "/" + a.name);
    if (!vars_.find(a.name)) {
      vars_.names.emplace_back(a.name, a.name);
      static_values_.emplace_back(a.name, value);
      variables_.emplace_back(a.name, value);
    }
  }

  void collect_globals_in(const pugi::xml_node& tree, const std::string& path) {
    for (const auto& e : elements_of(tree)) {
      if (!enabled(e)) {
        continue;
      }
      const std::string tag = e.name();
      const std::string here = path + "/" + label_of(e);
      if (tag == "Arguments") {
        for (const auto& a : arguments_of(e)) {
          add_variable(a, here);
        }
      } else if (tag == "CSVDataSet") {
        add_feed(e, here);
      } else if (tag == "CookieManager") {
        cookies_ = true;
      } else if (tag == "ConfigTestElement" &&
                 std::string(e.attribute("guiclass").as_string()) == "HttpDefaultsGui") {
        add_defaults(e, here);
      } else if (tag == "RegexExtractor" || tag == "BoundaryExtractor") {
        const auto ref = prop_or(
            e, tag == "RegexExtractor" ? "RegexExtractor.refname" : "BoundaryExtractor.refname");
        declare(ref);
      } else if (tag == "JSONPostProcessor") {
        for (const auto& ref : split(prop_or(e, "JSONPostProcessor.referenceNames"), ';')) {
          declare(trim(ref));
        }
      }
      if (const auto sub = subtree_of(e)) {
        collect_globals_in(sub, here);
      }
    }
  }

  void declare(const std::string& name) {
    if (!name.empty() && !vars_.find(name)) {
      vars_.names.emplace_back(name, name);
    }
  }

  void add_defaults(const pugi::xml_node& e, const std::string& path) {
    if (have_defaults_) {
      warn(path, "a second HTTP Request Defaults: crest has one target; only the first is used");
      return;
    }
    have_defaults_ = true;
    default_protocol_ = static_value(prop_or(e, "HTTPSampler.protocol"), path);
    default_domain_ = static_value(prop_or(e, "HTTPSampler.domain"), path);
    default_port_ = static_value(prop_or(e, "HTTPSampler.port"), path);
    connect_timeout_ = static_value(prop_or(e, "HTTPSampler.connect_timeout"), path);
    response_timeout_ = static_value(prop_or(e, "HTTPSampler.response_timeout"), path);
    if (!trim(prop_or(e, "HTTPSampler.path")).empty()) {
      warn(path, "a default path is not supported (samplers give their own)");
    }
  }

  void add_feed(const pugi::xml_node& e, const std::string& path) {
    const auto filename = static_value(prop_or(e, "filename"), path);
    const auto declared = trim(prop_or(e, "variableNames"));
    std::string delimiter = prop_or(e, "delimiter", ",");
    if (delimiter == "\\t") {
      delimiter = "\t";
    }
    const bool ignore_first = prop_bool(e, "ignoreFirstLine", false);
    const bool recycle = prop_bool(e, "recycle", true);
    const bool stop_thread = prop_bool(e, "stopThread", false);
    const auto share = prop_or(e, "shareMode", "shareMode.all");
    fs::path file(filename);
    if (file.is_relative()) {
      file = fs::path(options_.base_dir) / file;
    }
    std::vector<std::string> lines;
    {
      std::ifstream in(file);
      std::string line;
      while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') {
          line.pop_back();
        }
        if (!line.empty()) {
          lines.push_back(line);
        }
      }
    }
    if (lines.empty()) {
      warn(path, "cannot read CSV file '" + file.string() + "' (or it is empty)");
    }
    if (delimiter.size() != 1) {
      warn(path, "delimiter '" + delimiter + "' is not one character; ',' used");
      delimiter = ",";
    }
    std::vector<std::string> columns;
    bool file_has_header = false;
    if (declared.empty()) {
      if (!lines.empty()) {
        columns = split(lines.front(), delimiter[0]);
      }
      file_has_header = true;
    } else {
      columns = split(declared, ',');
      file_has_header = ignore_first;
    }
    for (auto& c : columns) {
      c = trim(c);
    }
    Feed feed;
    feed.name = feed_safe_name(fs::path(filename).stem().string());
    for (int n = 2; std::any_of(feeds_.begin(), feeds_.end(),
                                [&](const Feed& f) { return f.name == feed.name; });
         ++n) {
      feed.name = feed_safe_name(fs::path(filename).stem().string()) + std::to_string(n);
    }
    for (const auto& c : columns) {
      if (!vars_.find(c)) {
        vars_.names.emplace_back(c, feed.name + "." + c);
      }
    }
    // crest reads the first row as the column names and splits at commas: a file without that
    // header, with other names in it, or with another delimiter needs a rewritten copy.
    const bool header_matches =
        file_has_header && !lines.empty() && split(lines.front(), delimiter[0]) == columns;
    const bool needs_copy = !header_matches || delimiter != ",";
    feed.file =
        options_.absolute_paths ? fs::absolute(file).lexically_normal().string() : file.string();
    if (needs_copy && !lines.empty()) {
      if (options_.header_copy_dir.empty()) {
        warn(path, "crest feeds need a comma-separated file whose first row names the columns (" +
                       fmt::format("{}", fmt::join(columns, ",")) + "); '" + filename +
                       "' needs that header row");
      } else {
        const auto copy = fs::path(options_.header_copy_dir) / (feed.name + ".csv");
        std::ofstream out(copy);
        std::vector<std::string> header;
        for (const auto& c : columns) {
          header.push_back(csv_field(c));
        }
        out << fmt::format("{}", fmt::join(header, ",")) << "\n";
        for (std::size_t i = file_has_header ? 1 : 0; i < lines.size(); ++i) {
          std::vector<std::string> fields;
          for (const auto& f : split(lines[i], delimiter[0])) {
            fields.push_back(csv_field(f));
          }
          out << fmt::format("{}", fmt::join(fields, ",")) << "\n";
        }
        feed.file = copy.string();
      }
    } else if (!options_.absolute_paths && fs::path(filename).is_relative()) {
      feed.file = filename;  // relative to the plan, as JMeter has it
    }
    if (!recycle && !stop_thread) {
      warn(path, "recycle=false without stopThread: JMeter then sends <EOF>; crest wraps around");
    } else if (!recycle && stop_thread) {
      warn(path, "recycle=false, stopThread=true: crest wraps around instead of stopping threads");
    }
    if (share != "shareMode.all" && share != "shareMode.group") {
      warn(path, "shareMode '" + share + "' is not supported; rows are shared by all threads");
    }
    feeds_.push_back(feed);
  }

  // ---- thread groups -----------------------------------------------------------------------

  void walk_thread_groups(const pugi::xml_node& tree, const std::string& path) {
    ThreadGroupModel plan_level;
    plan_scope_ = extend(Scope{}, tree, path, plan_level);
    if (plan_level.throughput_per_minute) {
      warn(path,
           "a throughput timer at test plan level is not supported; put it in a thread group");
    }
    for (const auto& e : elements_of(tree)) {
      const std::string tag = e.name();
      const std::string here = path + "/" + label_of(e);
      if (!enabled(e)) {
        continue;
      }
      if (tag == "ThreadGroup") {
        add_thread_group(e, here);
      } else if (tag == "SetupThreadGroup" || tag == "PostThreadGroup") {
        warn(here, tag + " is not supported (no setUp/tearDown phase); skipped");
      } else if (tag.find("ThreadGroup") != std::string::npos) {
        warn(here, tag + " is not supported; skipped");
      } else if (!is_global_or_listener(tag, e) && !is_scoped(tag)) {
        warn(here, "unsupported element " + tag + " at test plan level; skipped");
      }
    }
  }

  static bool is_listener(const std::string& tag) {
    return tag == "ResultCollector" || tag == "Summariser" || tag == "BackendListener";
  }

  static bool is_global_or_listener(const std::string& tag, const pugi::xml_node& e) {
    return tag == "Arguments" || tag == "CSVDataSet" || tag == "CookieManager" ||
           (tag == "ConfigTestElement" &&
            std::string(e.attribute("guiclass").as_string()) == "HttpDefaultsGui") ||
           is_listener(tag) || tag == "CacheManager" || tag == "DNSCacheManager";
  }

  static bool is_timer(const std::string& tag) {
    return tag == "ConstantTimer" || tag == "UniformRandomTimer" || tag == "GaussianRandomTimer";
  }
  static bool is_throughput_timer(const std::string& tag) {
    return tag == "ConstantThroughputTimer" || tag == "PreciseThroughputTimer";
  }
  static bool is_assertion(const std::string& tag) {
    return tag == "ResponseAssertion" || tag == "DurationAssertion";
  }
  static bool is_extractor(const std::string& tag) {
    return tag == "RegexExtractor" || tag == "JSONPostProcessor" || tag == "BoundaryExtractor";
  }
  static bool is_scoped(const std::string& tag) {
    return tag == "HeaderManager" || is_timer(tag) || is_throughput_timer(tag) ||
           is_assertion(tag) || is_extractor(tag);
  }

  long long static_integer(const pugi::xml_node& e, const char* name, long long def,
                           const std::string& path) {
    const auto raw = prop(e, name);
    if (!raw || trim(*raw).empty()) {
      return def;
    }
    const auto v = to_integer(static_value(*raw, path));
    if (!v) {
      warn(path, fmt::format("{} '{}' is not a number; {} used", name, *raw, def));
      return def;
    }
    return *v;
  }

  void add_thread_group(const pugi::xml_node& e, const std::string& path) {
    ThreadGroupModel tg;
    tg.name = label_of(e);
    tg.path = path;
    tg.threads = std::max<long long>(1, static_integer(e, "ThreadGroup.num_threads", 1, path));
    tg.ramp_s = static_cast<double>(static_integer(e, "ThreadGroup.ramp_time", 0, path));
    const bool scheduler = prop_bool(e, "ThreadGroup.scheduler", false);
    if (scheduler) {
      const auto d = static_integer(e, "ThreadGroup.duration", 0, path);
      if (d > 0) {
        tg.duration_s = static_cast<double>(d);
      }
      tg.delay_s = static_cast<double>(static_integer(e, "ThreadGroup.delay", 0, path));
    }
    const auto main = child_prop(e, "ThreadGroup.main_controller");
    if (main) {
      tg.loops = prop_bool(main, "LoopController.continue_forever", false) &&
                         prop_or(main, "LoopController.loops") == "-1"
                     ? -1
                     : static_integer(main, "LoopController.loops", 1, path);
    }
    const auto on_error = prop_or(e, "ThreadGroup.on_sample_error", "continue");
    if (on_error != "continue" && on_error != "startnextloop") {
      warn(path, "on_sample_error '" + on_error + "' is not supported; crest continues");
    }
    // The test plan's own scoped elements (headers, timers at the top level) apply here too.
    tg.steps = walk(subtree_of(e), plan_scope_, path, tg, 0);
    if (tg.samplers == 0) {
      warn(path, "no HTTP samplers; thread group skipped");
      return;
    }
    groups_.push_back(std::move(tg));
  }

  // ---- controllers -------------------------------------------------------------------------

  Scope extend(const Scope& parent, const pugi::xml_node& tree, const std::string& path,
               ThreadGroupModel& tg) {
    Scope scope = parent;
    for (const auto& e : elements_of(tree)) {
      if (!enabled(e)) {
        continue;
      }
      const std::string tag = e.name();
      const std::string here = path + "/" + label_of(e);
      if (tag == "HeaderManager") {
        add_headers(e, scope.headers);
      } else if (is_timer(tag)) {
        scope.timers.push_back({e, here});
      } else if (is_throughput_timer(tag)) {
        add_throughput(e, here, tg);
      } else if (is_assertion(tag)) {
        scope.assertions.push_back({e, here});
      } else if (is_extractor(tag)) {
        scope.extractors.push_back({e, here});
      }
    }
    return scope;
  }

  static void add_headers(const pugi::xml_node& e,
                          std::vector<std::pair<std::string, std::string>>& headers) {
    for (const auto& h : child_prop(e, "HeaderManager.headers").children()) {
      const auto name = prop_or(h, "Header.name");
      const auto value = prop_or(h, "Header.value");
      if (name.empty()) {
        continue;
      }
      auto it = std::find_if(headers.begin(), headers.end(),
                             [&](const auto& kv) { return kv.first == name; });
      if (it != headers.end()) {
        it->second = value;  // the inner manager wins, as in JMeter
      } else {
        headers.emplace_back(name, value);
      }
    }
  }

  void add_throughput(const pugi::xml_node& e, const std::string& path, ThreadGroupModel& tg) {
    const std::string tag = e.name();
    const auto throughput = to_number(static_value(prop_or(e, "throughput"), path));
    if (!throughput || *throughput <= 0) {
      warn(path, "throughput is not a positive number; timer ignored");
      return;
    }
    double per_minute = *throughput;
    if (tag == "PreciseThroughputTimer") {
      const auto period = to_number(prop_or(e, "throughputPeriod", "3600")).value_or(3600);
      per_minute = *throughput * 60.0 / std::max(1.0, period);
      if (const auto d = to_number(prop_or(e, "duration")); d && *d > 0 && !tg.duration_s) {
        tg.duration_s = *d;
      }
    } else {
      const auto mode = to_integer(prop_or(e, "calcMode", "0")).value_or(0);
      if (mode == 0) {
        per_minute *= static_cast<double>(tg.threads);  // "this thread only": each thread's rate
      } else if (mode != 1 && mode != 2) {
        warn(path,
             fmt::format("calcMode {} is not supported; treated as all active threads", mode));
      }
    }
    if (tg.throughput_per_minute) {
      warn(path, "a second throughput timer in one thread group; only the first is used");
      return;
    }
    tg.throughput_per_minute = per_minute;
  }

  YAML::Node walk(const pugi::xml_node& tree, const Scope& parent, const std::string& path,
                  ThreadGroupModel& tg, int transaction_depth) {
    YAML::Node steps(YAML::NodeType::Sequence);
    const Scope scope = extend(parent, tree, path, tg);
    for (const auto& e : elements_of(tree)) {
      const std::string tag = e.name();
      const std::string here = path + "/" + label_of(e);
      if (!enabled(e)) {
        continue;  // a disabled element and its whole subtree are skipped, as JMeter does
      }
      if (tag == "HTTPSamplerProxy" || tag == "HTTPSampler" || tag == "HTTPSampler2") {
        steps.push_back(sampler_step(e, scope, here, tg));
        ++tg.samplers;
      } else if (tag == "GenericController" || tag == "RecordingController") {
        append_all(steps, walk(subtree_of(e), scope, here, tg, transaction_depth));
      } else if (tag == "TransactionController") {
        auto inner = walk(subtree_of(e), scope, here, tg, transaction_depth + 1);
        if (inner.size() > 0) {
          // `group:` and `transaction:` are the same block (docs/load.md); nested ones are
          // written as transactions, JMeter's name for them.
          YAML::Node block;
          block[transaction_depth > 0 ? "transaction" : "group"] = label_of(e);
          block["steps"] = inner;
          steps.push_back(block);
        }
      } else if (tag == "LoopController") {
        auto inner = walk(subtree_of(e), scope, here, tg, transaction_depth);
        if (inner.size() > 0) {
          add_loop(e, here, inner, steps);
        }
      } else if (tag == "IfController") {
        auto inner = walk(subtree_of(e), scope, here, tg, transaction_depth);
        if (inner.size() > 0) {
          add_if(e, here, inner, steps);
        }
      } else if (is_scoped(tag) || is_global_or_listener(tag, e)) {
        continue;  // handled by extend() or collect_globals()
      } else {
        warn(here, "unsupported element " + tag + "; skipped with its children");
      }
    }
    return steps;
  }

  static void append_all(YAML::Node& to, const YAML::Node& from) {
    for (const auto& n : from) {
      to.push_back(n);
    }
  }

  void add_loop(const pugi::xml_node& e, const std::string& path, const YAML::Node& inner,
                YAML::Node& steps) {
    const auto raw = prop_or(e, "LoopController.loops", "1");
    const auto templated = expr(raw, path);
    auto count = to_integer(templated);
    if (!count && templated.find("{{") != std::string::npos &&
        to_integer(static_value(raw, path))) {
      // A property or variable: the count is rendered when the loop is reached.
      YAML::Node n;
      n["loop"] = trim(templated);
      n["steps"] = inner;
      steps.push_back(n);
      return;
    }
    if (!count || *count < 0) {
      warn(path, "loop count '" + raw + "' is not a fixed count (an endless loop cannot be " +
                     "translated); its steps run once");
      append_all(steps, inner);
      return;
    }
    if (*count == 0) {
      return;
    }
    if (*count == 1) {
      append_all(steps, inner);
      return;
    }
    steps.push_back(loop_block(*count, inner));
  }

  void add_if(const pugi::xml_node& e, const std::string& path, const YAML::Node& inner,
              YAML::Node& steps) {
    const auto raw = prop_or(e, "IfController.condition");
    const auto cond = parse_condition(raw);
    if (!cond) {
      warn(path, "condition '" + raw + "' is not a simple comparison of a variable with a " +
                     "literal; its steps always run");
      append_all(steps, inner);
      return;
    }
    if (prop_bool(e, "IfController.evaluateAll", false)) {
      warn(path, "evaluateAll (re-check before each child) is not supported; checked once");
    }
    steps.push_back(if_block(*cond, inner));
  }

  // "${token}" != "NOTFOUND", ${__jexl3("${x}" == "y")}, ${__groovy(...)}, ${flag}
  std::optional<SimpleCondition> parse_condition(std::string text) {
    text = trim(text);
    for (const char* fn : {"${__jexl3(", "${__jexl2(", "${__groovy(", "${__javaScript("}) {
      const std::string prefix = fn;
      if (text.rfind(prefix, 0) == 0 && text.size() > prefix.size() + 2 &&
          text.substr(text.size() - 2) == ")}") {
        text = trim(text.substr(prefix.size(), text.size() - prefix.size() - 2));
        // A trailing ",variable" argument is allowed by the functions; none here.
        break;
      }
    }
    auto unquote = [](std::string s) {
      s = trim(s);
      if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
        return s.substr(1, s.size() - 2);
      }
      return s;
    };
    auto variable_of = [&](const std::string& side) -> std::optional<std::string> {
      const auto s = unquote(side);
      if (s.size() > 3 && s.rfind("${", 0) == 0 && s.back() == '}' &&
          s.find("${", 2) == std::string::npos && s.find("__") != 2) {
        if (const auto* crest_name = vars_.find(s.substr(2, s.size() - 3))) {
          return *crest_name;
        }
      }
      return std::nullopt;
    };
    // The first comparison operator outside the operands; a literal on the left swaps sides.
    for (const std::string op : {"==", "!=", "<=", ">=", "<", ">"}) {
      const auto at = text.find(op);
      if (at == std::string::npos) {
        continue;
      }
      const auto lhs = text.substr(0, at);
      const auto rhs = text.substr(at + op.size());
      if (auto v = variable_of(lhs);
          v && !variable_of(rhs) && unquote(rhs).find("${") == std::string::npos) {
        return SimpleCondition{*v, op, unquote(rhs)};
      }
      if (auto v = variable_of(rhs); v && unquote(lhs).find("${") == std::string::npos) {
        const std::string flipped = op == "<"    ? ">"
                                    : op == ">"  ? "<"
                                    : op == "<=" ? ">="
                                    : op == ">=" ? "<="
                                                 : op;
        return SimpleCondition{*v, flipped, unquote(lhs)};
      }
      return std::nullopt;
    }
    if (auto v = variable_of(text)) {
      return SimpleCondition{*v, "==", "true"};  // a bare variable: true when it reads "true"
    }
    return std::nullopt;
  }

  // The plan-format syntax for control flow (docs/load.md, "Control flow").
  static YAML::Node loop_block(long long count, const YAML::Node& steps) {
    YAML::Node n;
    n["loop"] = count;
    n["steps"] = steps;
    return n;
  }
  static YAML::Node if_block(const SimpleCondition& c, const YAML::Node& steps) {
    YAML::Node n;
    // Numbers stay bare (they compare as numbers); text is quoted.
    const bool number = to_number(c.literal).has_value();
    const char quote = c.literal.find('\'') == std::string::npos ? '\'' : '"';
    n["if"] =
        "{{ " + c.variable + " }} " + c.op + " " + (number ? c.literal : quote + c.literal + quote);
    n["steps"] = steps;
    return n;
  }

  // ---- samplers ----------------------------------------------------------------------------

  YAML::Node sampler_step(const pugi::xml_node& e, const Scope& parent, const std::string& path,
                          ThreadGroupModel& tg) {
    const auto sub = subtree_of(e);
    Scope scope = extend(parent, sub, path, tg);
    for (const auto& child : elements_of(sub)) {
      const std::string tag = child.name();
      if (enabled(child) && !is_scoped(tag) && !is_global_or_listener(tag, child)) {
        warn(path + "/" + label_of(child), "unsupported element " + tag + "; skipped");
      }
    }
    YAML::Node step;
    step["name"] = label_of(e);
    YAML::Node request;
    std::string method = trim(prop_or(e, "HTTPSampler.method", "GET"));
    if (method.empty()) {
      method = "GET";
    }
    static const std::set<std::string> methods = {"GET",    "POST", "PUT",    "PATCH",
                                                  "DELETE", "HEAD", "OPTIONS"};
    if (methods.count(method) == 0) {
      warn(path, "method " + method + " is not supported; GET used");
      method = "GET";
    }
    request["method"] = method;
    const auto protocol = trim(prop_or(e, "HTTPSampler.protocol"));
    const auto domain = trim(prop_or(e, "HTTPSampler.domain"));
    const auto port = trim(prop_or(e, "HTTPSampler.port"));
    std::string raw_path = trim(prop_or(e, "HTTPSampler.path"));
    std::string url_path = expr(raw_path, path);
    if (url_path.empty()) {
      url_path = "/";
    }
    const bool absolute = url_path.rfind("http://", 0) == 0 || url_path.rfind("https://", 0) == 0;
    const auto origin = origin_of(protocol, domain, port, path);
    if (absolute) {
      request["url"] = url_path;
    } else {
      if (url_path.front() != '/') {
        url_path = "/" + url_path;
      }
      if (!target_) {
        target_ = origin;
      }
      if (origin != *target_) {
        request["url"] = origin + url_path;
      } else {
        request["path"] = url_path;
      }
    }
    std::vector<std::pair<std::string, std::string>> headers = scope.headers;
    if (!headers.empty()) {
      YAML::Node h;
      for (const auto& [name, value] : headers) {
        h[name] = expr(value, path);
      }
      request["headers"] = h;
    }
    add_arguments(e, path, method, request);
    if (prop_bool(e, "HTTPSampler.DO_MULTIPART_POST", false)) {
      warn(path, "multipart/form-data is not supported; sent as a URL-encoded form");
    }
    if (prop_bool(e, "HTTPSampler.image_parser", false)) {
      warn(path, "downloading embedded resources is not supported; only the page is fetched");
    }
    if (prop_bool(e, "HTTPSampler.follow_redirects", false) ||
        prop_bool(e, "HTTPSampler.auto_redirects", false)) {
      if (!warned_redirects_) {
        warn(path, "redirects are not followed by crest (the 3xx response is the sample); " +
                       std::string("said once for the whole plan"));
        warned_redirects_ = true;
      }
    }
    if (!prop_bool(e, "HTTPSampler.use_keepalive", true)) {
      warn(path, "keep-alive off is not supported; crest keeps connections open");
    }
    for (const char* t : {"HTTPSampler.connect_timeout", "HTTPSampler.response_timeout"}) {
      if (!trim(prop_or(e, t)).empty()) {
        warn(path, std::string(t) + " per sampler is not supported; the defaults' timeouts apply");
      }
    }
    step["request"] = request;
    YAML::Node captures(YAML::NodeType::Sequence);
    for (const auto& x : scope.extractors) {
      add_capture(x, captures);
    }
    if (captures.size() > 0) {
      step["capture"] = captures;
    }
    YAML::Node check(YAML::NodeType::Map);
    for (const auto& a : scope.assertions) {
      add_check(a, check);
    }
    if (check.size() > 0) {
      step["check"] = check;
    }
    if (auto think = think_of(scope.timers); think.IsDefined() && !think.IsNull()) {
      step["think"] = think;
    }
    return step;
  }

  std::string origin_of(const std::string& protocol, const std::string& domain,
                        const std::string& port, const std::string& path) {
    std::string proto = static_value(protocol.empty() ? default_protocol_ : protocol, path);
    std::string host = static_value(domain.empty() ? default_domain_ : domain, path);
    std::string p = static_value(port.empty() ? default_port_ : port, path);
    if (proto.empty()) {
      proto = "http";
    }
    if (host.empty()) {
      if (!warned_no_host_) {
        warn(path,
             "no server name (neither the sampler nor HTTP Request Defaults give one); "
             "127.0.0.1 used, --target overrides");
        warned_no_host_ = true;
      }
      host = "127.0.0.1";
    }
    if (host.find(':') != std::string::npos && host.front() != '[') {
      host = "[" + host + "]";
    }
    std::string out = proto + "://" + host;
    if (!p.empty() && !((proto == "http" && p == "80") || (proto == "https" && p == "443"))) {
      out += ":" + p;
    }
    return out;
  }

  void add_arguments(const pugi::xml_node& e, const std::string& path, const std::string& method,
                     YAML::Node& request) {
    const auto args = arguments_of(child_prop(e, "HTTPsampler.Arguments"));
    if (args.empty()) {
      return;
    }
    if (prop_bool(e, "HTTPSampler.postBodyRaw", false)) {
      std::string body;
      for (const auto& a : args) {
        body += a.value;  // JMeter concatenates the values of a raw body's arguments
      }
      request["body"] = expr(body, path);
      return;
    }
    const bool in_query =
        method == "GET" || method == "DELETE" || method == "HEAD" || method == "OPTIONS";
    YAML::Node fields(YAML::NodeType::Map);
    for (const auto& a : args) {
      if (a.name.empty()) {
        // An unnamed argument of a POST is its body, as JMeter sends it.
        if (!in_query && args.size() == 1) {
          request["body"] = expr(a.value, path);
          return;
        }
        warn(path, "an argument without a name is not supported; skipped");
        continue;
      }
      if (fields[a.name].IsDefined() && !fields[a.name].IsNull()) {
        warn(path, "argument '" + a.name + "' given twice; crest sends the last one");
      }
      fields[a.name] = expr(a.value, path);
    }
    if (fields.size() > 0) {
      request[in_query ? "query" : "form"] = fields;
    }
  }

  void add_capture(const Located& x, YAML::Node& captures) {
    const std::string tag = x.element.name();
    const auto& e = x.element;
    if (tag == "RegexExtractor") {
      const auto where = trim(prop_or(e, "RegexExtractor.useHeaders", "false"));
      if (where != "false" && where != "unescaped" && where != "as_document") {
        warn(x.path, "regular expressions on " + where +
                         " are not supported (the body only); "
                         "skipped");
        return;
      }
      const auto templ = trim(prop_or(e, "RegexExtractor.template", "$1$"));
      int group = 1;
      if (templ.size() >= 3 && templ.front() == '$' && templ.back() == '$' &&
          to_integer(templ.substr(1, templ.size() - 2))) {
        group = static_cast<int>(*to_integer(templ.substr(1, templ.size() - 2)));
      } else {
        warn(x.path, "template '" + templ + "' is not one group ($N$); $1$ used");
      }
      check_match_number(prop_or(e, "RegexExtractor.match_number", "1"), x.path);
      YAML::Node c;
      c["name"] = prop_or(e, "RegexExtractor.refname");
      c["regex"] = prop_or(e, "RegexExtractor.regex");
      c["group"] = group;
      captures.push_back(c);
    } else if (tag == "BoundaryExtractor") {
      const auto where = trim(prop_or(e, "BoundaryExtractor.useHeaders", "false"));
      if (where != "false" && where != "unescaped") {
        warn(x.path, "boundaries on " + where + " are not supported (the body only); skipped");
        return;
      }
      check_match_number(prop_or(e, "BoundaryExtractor.match_number", "1"), x.path);
      YAML::Node c;
      c["name"] = prop_or(e, "BoundaryExtractor.refname");
      c["regex"] = regex_escape(prop_or(e, "BoundaryExtractor.lboundary")) + "([\\s\\S]*?)" +
                   regex_escape(prop_or(e, "BoundaryExtractor.rboundary"));
      c["group"] = 1;
      captures.push_back(c);
    } else if (tag == "JSONPostProcessor") {
      const auto names = split(prop_or(e, "JSONPostProcessor.referenceNames"), ';');
      const auto paths = split(prop_or(e, "JSONPostProcessor.jsonPathExprs"), ';');
      const auto matches = split(prop_or(e, "JSONPostProcessor.match_numbers"), ';');
      if (names.size() != paths.size()) {
        warn(x.path, "as many names as JSON paths are needed; skipped");
        return;
      }
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (i < matches.size()) {
          check_match_number(matches[i].empty() ? "1" : matches[i], x.path);
        }
        const auto p = trim(paths[i]);
        if (!load::JsonPath::parse(p).ok()) {
          warn(x.path, "JSON path '" + p + "' uses more than keys and indices " +
                           "(crest's subset: $.a.b[0]); skipped");
          continue;
        }
        YAML::Node c;
        c["name"] = trim(names[i]);
        c["json"] = p;
        captures.push_back(c);
      }
    }
  }

  void check_match_number(const std::string& text, const std::string& path) {
    const auto n = to_integer(text);
    if (!n || *n != 1) {
      warn(path, "match number '" + text + "' (random or all matches) is not supported; the " +
                     "first match is used");
    }
  }

  void add_check(const Located& a, YAML::Node& check) {
    const std::string tag = a.element.name();
    const auto& e = a.element;
    if (tag == "DurationAssertion") {
      const auto ms = to_number(static_value(prop_or(e, "DurationAssertion.duration"), a.path));
      if (!ms || *ms <= 0) {
        warn(a.path, "duration is not a positive number of milliseconds; skipped");
        return;
      }
      check["latency_below"] = ms_text(*ms);
      return;
    }
    // ResponseAssertion: test_type is a bitmask (JMeter's ResponseAssertion): MATCH 1,
    // CONTAINS 2, NOT 4, EQUALS 8, SUBSTRING 16, OR 32.
    const auto type = to_integer(prop_or(e, "Assertion.test_type", "16")).value_or(16);
    const auto field = trim(prop_or(e, "Assertion.test_field", "Assertion.response_data"));
    std::vector<std::string> strings;
    // "Asserion" is how JMeter spells this key in its saved files.
    for (const auto& s : child_prop(e, "Asserion.test_strings").children()) {
      strings.push_back(s.text().as_string());
    }
    if ((type & 4) != 0) {
      warn(a.path, "negated assertions (NOT) are not supported; skipped");
      return;
    }
    if (strings.empty()) {
      warn(a.path, "no patterns to test; skipped");
      return;
    }
    const bool any = (type & 32) != 0;
    if (field == "Assertion.response_code") {
      std::vector<int> codes;
      for (const auto& s : strings) {
        const auto n = to_integer(s);
        if (!n || *n < 100 || *n > 599) {
          warn(a.path, "response code pattern '" + s + "' is not a status code; skipped");
          return;
        }
        codes.push_back(static_cast<int>(*n));
      }
      if (!any && std::set<int>(codes.begin(), codes.end()).size() > 1) {
        warn(a.path, "several status codes that must all match can never pass; skipped");
        return;
      }
      if (check["status"].IsDefined() && !check["status"].IsNull()) {
        warn(a.path, "a second status assertion on one sampler; the last one is used");
      }
      YAML::Node list(YAML::NodeType::Sequence);
      for (const int c : std::set<int>(codes.begin(), codes.end())) {
        list.push_back(c);
      }
      check["status"] = list;
      if (prop_bool(e, "Assertion.assume_success", false)) {
        // "Ignore status": only this assertion decides, which is what a crest status check does.
      }
      return;
    }
    if (field == "Assertion.response_data" || field == "Assertion.response_data_as_document") {
      const bool literal_test = (type & (16 | 8)) != 0;
      for (const auto& s : strings) {
        const bool plain = s.find_first_of(R"(\^$.|?*+()[]{})") == std::string::npos;
        if (!literal_test && !plain) {
          warn(a.path,
               "regular-expression body assertions are not supported ('" + s + "'); skipped");
          return;
        }
      }
      if (strings.front().find("${") != std::string::npos) {
        warn(a.path, "variables in assertion patterns ('" + strings.front() +
                         "') are not supported (crest checks literal text); skipped");
        return;
      }
      if ((type & 8) != 0) {
        warn(a.path, "EQUALS on the body is checked as 'contains'");
      }
      if (strings.size() > 1) {
        warn(a.path,
             "crest checks one body text per step; only '" + strings.front() + "' is checked");
      }
      if (check["body_contains"].IsDefined() && !check["body_contains"].IsNull()) {
        warn(a.path, "a second body assertion on one sampler; the last one is used");
      }
      check["body_contains"] = strings.front();
      return;
    }
    warn(a.path, "assertions on " + field +
                     " are not supported (response code and body are); "
                     "skipped");
  }

  YAML::Node think_of(const std::vector<Located>& timers) {
    if (timers.empty()) {
      return YAML::Node(YAML::NodeType::Null);
    }
    double constant = 0;
    std::optional<Think> random;
    for (const auto& t : timers) {
      const std::string tag = t.element.name();
      const double delay =
          to_number(static_value(prop_or(t.element, "ConstantTimer.delay", "0"), t.path))
              .value_or(0);
      const double range =
          to_number(static_value(prop_or(t.element, "RandomTimer.range", "0"), t.path)).value_or(0);
      if (tag == "ConstantTimer") {
        constant += delay;
        continue;
      }
      if (random) {
        warn(t.path, "two random timers apply to one sampler; only the first is used");
        continue;
      }
      if (tag == "UniformRandomTimer") {
        random = Think{Think::Kind::uniform, delay, delay + range};
      } else {
        random = Think{Think::Kind::normal, delay, range};
      }
    }
    if (!random) {
      return constant > 0 ? YAML::Node(ms_text(constant)) : YAML::Node(YAML::NodeType::Null);
    }
    YAML::Node n;
    if (random->kind == Think::Kind::uniform) {
      YAML::Node range(YAML::NodeType::Sequence);
      range.push_back(ms_text(random->a + constant));
      range.push_back(ms_text(random->b + constant));
      range.SetStyle(YAML::EmitterStyle::Flow);
      n["uniform"] = range;
    } else {
      YAML::Node normal;
      normal["mean"] = ms_text(random->a + constant);
      normal["stddev"] = ms_text(random->b);
      normal.SetStyle(YAML::EmitterStyle::Flow);
      n["normal"] = normal;
    }
    n.SetStyle(YAML::EmitterStyle::Flow);
    return n;
  }

  // ---- the plan ----------------------------------------------------------------------------

  std::string emit() {
    YAML::Node plan;
    YAML::Node target;
    target["base_url"] = target_.value_or("http://127.0.0.1");
    const auto ct = to_number(connect_timeout_);
    const auto rt = to_number(response_timeout_);
    if ((ct && *ct > 0) || (rt && *rt > 0)) {
      YAML::Node timeouts;
      if (ct && *ct > 0) {
        timeouts["connect"] = ms_text(*ct);
      }
      if (rt && *rt > 0) {
        timeouts["request"] = ms_text(*rt);
      }
      target["timeouts"] = timeouts;
    }
    target["cookies"] = cookies_;
    plan["target"] = target;
    if (!variables_.empty() || !vars_.properties.empty()) {
      YAML::Node v(YAML::NodeType::Map);
      for (const auto& [k, val] : variables_) {
        v[k] = val;
      }
      for (const auto& [k, def] : vars_.properties) {
        if (!v[k].IsDefined() || v[k].IsNull()) {
          v[k] = def;
        }
      }
      plan["variables"] = v;
    }
    if (!feeds_.empty()) {
      YAML::Node data;
      for (const auto& f : feeds_) {
        YAML::Node spec;
        spec["file"] = f.file;
        spec["mode"] = "sequential";
        data[f.name] = spec;
      }
      plan["data"] = data;
    }
    YAML::Node journeys(YAML::NodeType::Sequence);
    for (const auto& tg : groups_) {
      YAML::Node j;
      j["name"] = tg.name;
      j["steps"] = tg.steps;
      journeys.push_back(j);
    }
    plan["journeys"] = journeys;
    add_load(plan);
    YAML::Emitter out;
    out.SetIndent(2);
    out << plan;
    std::string header = "# Translated by crest convert from " +
                         fs::path(file_).filename().string() + " (docs/jmeter.md).\n";
    return header + out.c_str() + "\n";
  }

  // A thread group's executor (docs/load.md, executors): an arrival rate when a throughput
  // timer sets one, VUs for the scheduler's duration, or per-VU iterations for a loop count.
  // `delay_as_start` (scenarios) turns the delay into start_time instead of a stage at 0 VUs.
  YAML::Node executor_for(const ThreadGroupModel& tg, bool delay_as_start) {
    YAML::Node load;
    const auto duration_text = [&](double seconds) { return ms_text(seconds * 1000); };
    if (tg.throughput_per_minute) {
      const double duration = tg.duration_s.value_or(60);
      if (!tg.duration_s) {
        warn(tg.path,
             "an arrival rate needs a duration and the thread group has no scheduler "
             "duration: 60s used (--duration overrides)");
      }
      load["executor"] = "constant-arrival-rate";
      // Samples per minute to iterations per minute: crest's arrivals are iterations.
      load["rate"] = std::round(*tg.throughput_per_minute / std::max(1, tg.samplers) * 1000) / 1000;
      load["time_unit"] = "1m";
      load["duration"] = duration_text(duration);
      load["pre_allocated_vus"] = tg.threads;
      load["max_vus"] = tg.threads;
      if (tg.ramp_s > 0) {
        warn(tg.path, "ramp-up does not apply to an arrival rate; ignored");
      }
    } else if (!tg.duration_s && tg.loops > 0) {
      // JMeter's loop count: each thread runs that many iterations.
      load["executor"] = "per-vu-iterations";
      load["vus"] = tg.threads;
      load["iterations"] = tg.loops;
      if (tg.ramp_s > 0) {
        warn(tg.path, "ramp-up with a loop count: crest starts every VU at once");
      }
    } else {
      double duration = tg.duration_s.value_or(60);
      if (!tg.duration_s) {
        warn(tg.path,
             "loops forever without a scheduler duration: crest runs for a duration; "
             "60s used (--duration overrides)");
      }
      const double delay = delay_as_start ? 0 : tg.delay_s;
      if (tg.ramp_s <= 0 && delay <= 0) {
        load["executor"] = "constant-vus";
        load["vus"] = tg.threads;
        load["duration"] = duration_text(duration);
      } else {
        load["executor"] = "ramping-vus";
        load["start_vus"] = 0;
        YAML::Node stages(YAML::NodeType::Sequence);
        auto stage = [&](double seconds, long long target) {
          YAML::Node st;
          st["duration"] = duration_text(seconds);
          st["target"] = target;
          st.SetStyle(YAML::EmitterStyle::Flow);
          stages.push_back(st);
        };
        if (delay > 0) {
          stage(delay, 0);
        }
        if (tg.ramp_s > 0) {
          stage(std::min(tg.ramp_s, duration), tg.threads);
        }
        if (duration > tg.ramp_s) {
          stage(duration - tg.ramp_s, tg.threads);
        }
        load["stages"] = stages;
      }
    }
    if (delay_as_start && tg.delay_s > 0) {
      load["start_time"] = duration_text(tg.delay_s);
    }
    return load;
  }

  // One thread group: `load:`. Several run at once in JMeter: one scenario each, running its
  // own journey.
  void add_load(YAML::Node& plan) {
    if (groups_.size() == 1) {
      plan["load"] = executor_for(groups_.front(), false);
      return;
    }
    YAML::Node scenarios;
    std::set<std::string> names;
    for (const auto& tg : groups_) {
      auto name = feed_safe_name(tg.name);
      for (int n = 2; names.count(name) > 0; ++n) {
        name = feed_safe_name(tg.name) + std::to_string(n);
      }
      names.insert(name);
      auto scenario = executor_for(tg, true);
      YAML::Node journeys(YAML::NodeType::Sequence);
      journeys.push_back(tg.name);
      journeys.SetStyle(YAML::EmitterStyle::Flow);
      scenario["journeys"] = journeys;
      scenarios[name] = scenario;
    }
    plan["scenarios"] = scenarios;
  }

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
};

}  // namespace

Result<JmxTranslation> translate_jmx(const std::string& xml_text, const std::string& file_name,
                                     const JmxTranslateOptions& options) {
  Translator t(file_name, options);
  return t.run(xml_text);
}

Result<JmxTranslation> translate_jmx_file(const std::string& path, JmxTranslateOptions options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error{ErrorKind::not_found, "cannot read " + path};
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (options.base_dir == ".") {
    const auto parent = fs::path(path).parent_path();
    options.base_dir = parent.empty() ? "." : parent.string();
  }
  return translate_jmx(buffer.str(), path, options);
}

}  // namespace crest::jmeter
