// A .jmx tree walked once: global elements first (variables, CSV feeds, HTTP defaults, cookie
// manager), then each thread group's tree into journey steps, with JMeter's scoping: config,
// timers, assertions and post-processors apply to every sampler below the controller holding
// them. The YAML is emitted with yaml-cpp and parsed again by the load library's own parser
// in the tests, so a translation that the engine would refuse cannot pass them. This unit: the
// walk's entry, the tree helpers and the public functions; the rest is split by element kind
// (jmx_translator_parts.hpp).
#include <algorithm>

#include "jmx_translator_parts.hpp"

namespace crest::jmeter::detail {

Result<JmxTranslation> Translator::run(const std::string& xml) {
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

pugi::xml_node Translator::subtree_of(const pugi::xml_node& element) {
  auto next = element.next_sibling();
  while (next && next.type() != pugi::node_element) {
    next = next.next_sibling();
  }
  return (next && std::string(next.name()) == "hashTree") ? next : pugi::xml_node{};
}

// The elements of a hashTree, each with the hashTree of its children.
std::vector<pugi::xml_node> Translator::elements_of(const pugi::xml_node& tree) {
  std::vector<pugi::xml_node> out;
  for (const auto& child : tree.children()) {
    if (child.type() == pugi::node_element && std::string(child.name()) != "hashTree") {
      out.push_back(child);
    }
  }
  return out;
}

void Translator::warn(const std::string& path, const std::string& message) {
  warnings_.push_back(path + ": " + message);
}

std::string Translator::expr(const std::string& text, const std::string& path) {
  std::vector<std::string> problems;
  auto out = translate_expression(text, vars_, problems);
  for (const auto& p : problems) {
    warn(path, p);
  }
  return out;
}

// A value needed at translation time (the target's host and port, thread counts): variables
// and properties replaced by their values or defaults (-e and --vus still override at run).
std::string Translator::static_value(const std::string& text, const std::string& path) {
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
    // The -J properties first, then the plan's own __P defaults, then the constants so far.
    const std::string* value = nullptr;
    for (const auto* table : {&options_.properties, &vars_.properties, &static_values_}) {
      const auto hit = std::find_if(table->begin(), table->end(),
                                    [&](const auto& entry) { return entry.first == name; });
      if (hit != table->end()) {
        value = &hit->second;
        break;
      }
    }
    if (value != nullptr) {
      out += *value;
    } else {
      warn(path, "'" + text + "' must be known before the run starts; '" + name +
                     "' is not a constant, left empty");
    }
    i = close + 3;
  }
  return out;
}

}  // namespace crest::jmeter::detail

namespace crest::jmeter {

Result<JmxTranslation> translate_jmx(const std::string& xml_text, const std::string& file_name,
                                     const JmxTranslateOptions& options) {
  detail::Translator t(file_name, options);
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
    const auto parent = std::filesystem::path(path).parent_path();
    options.base_dir = parent.empty() ? "." : parent.string();
  }
  return translate_jmx(buffer.str(), path, options);
}

}  // namespace crest::jmeter
