// Test plan level elements (variables, CSV feeds, HTTP defaults, cookie manager) and thread
// groups.
#include "jmx_translator_parts.hpp"

namespace crest::jmeter::detail {

void Translator::collect_globals(const pugi::xml_node& test_plan, const pugi::xml_node& tree,
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

void Translator::add_variable(const Argument& a, const std::string& path) {
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

void Translator::collect_globals_in(const pugi::xml_node& tree, const std::string& path) {
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

void Translator::declare(const std::string& name) {
  if (!name.empty() && !vars_.find(name)) {
    vars_.names.emplace_back(name, name);
  }
}

void Translator::add_defaults(const pugi::xml_node& e, const std::string& path) {
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

void Translator::add_feed(const pugi::xml_node& e, const std::string& path) {
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

void Translator::walk_thread_groups(const pugi::xml_node& tree, const std::string& path) {
  ThreadGroupModel plan_level;
  plan_scope_ = extend(Scope{}, tree, path, plan_level);
  if (plan_level.throughput_per_minute) {
    warn(path, "a throughput timer at test plan level is not supported; put it in a thread group");
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
      add_thread_group(e, here, tag == "SetupThreadGroup" ? 1 : 2);
    } else if (tag.find("ThreadGroup") != std::string::npos) {
      warn(here, tag + " is not supported; skipped");
    } else if (!is_global_or_listener(tag, e) && !is_scoped(tag)) {
      warn(here, "unsupported element " + tag + " at test plan level; skipped");
    }
  }
}

bool Translator::is_listener(const std::string& tag) {
  return tag == "ResultCollector" || tag == "Summariser" || tag == "BackendListener";
}

bool Translator::is_global_or_listener(const std::string& tag, const pugi::xml_node& e) {
  return tag == "Arguments" || tag == "CSVDataSet" || tag == "CookieManager" ||
         (tag == "ConfigTestElement" &&
          std::string(e.attribute("guiclass").as_string()) == "HttpDefaultsGui") ||
         is_listener(tag) || tag == "CacheManager" || tag == "DNSCacheManager";
}

bool Translator::is_timer(const std::string& tag) {
  return tag == "ConstantTimer" || tag == "UniformRandomTimer" || tag == "GaussianRandomTimer";
}

bool Translator::is_throughput_timer(const std::string& tag) {
  return tag == "ConstantThroughputTimer" || tag == "PreciseThroughputTimer";
}

bool Translator::is_assertion(const std::string& tag) {
  return tag == "ResponseAssertion" || tag == "DurationAssertion";
}

bool Translator::is_extractor(const std::string& tag) {
  return tag == "RegexExtractor" || tag == "JSONPostProcessor" || tag == "BoundaryExtractor";
}

bool Translator::is_scoped(const std::string& tag) {
  return tag == "HeaderManager" || is_timer(tag) || is_throughput_timer(tag) || is_assertion(tag) ||
         is_extractor(tag);
}

long long Translator::static_integer(const pugi::xml_node& e, const char* name, long long def,
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

void Translator::add_thread_group(const pugi::xml_node& e, const std::string& path, int phase) {
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
  if (phase != 0) {
    // crest's setup: and teardown: are one iteration of one VU, before and after the load.
    if (tg.threads > 1 || tg.loops != 1 || tg.duration_s) {
      warn(path, std::string(phase == 1 ? "setUp" : "tearDown") +
                     " Thread Group: crest runs it once, by one VU (its threads, loops and "
                     "duration are ignored)");
    }
    auto& steps = phase == 1 ? setup_steps_ : teardown_steps_;
    for (const auto& step : tg.steps) {
      steps.push_back(step);
    }
    return;
  }
  groups_.push_back(std::move(tg));
}

}  // namespace crest::jmeter::detail
