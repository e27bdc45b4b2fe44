// Controllers: the tree below a thread group into steps and blocks (loop, if, transaction), with
// JMeter's scoping of config elements, timers, assertions and post-processors.
#include "jmx_translator_parts.hpp"

namespace crest::jmeter::detail {

Scope Translator::extend(const Scope& parent, const pugi::xml_node& tree, const std::string& path,
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

void Translator::add_headers(const pugi::xml_node& e,
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

void Translator::add_throughput(const pugi::xml_node& e, const std::string& path,
                                ThreadGroupModel& tg) {
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
      warn(path, fmt::format("calcMode {} is not supported; treated as all active threads", mode));
    }
  }
  if (tg.throughput_per_minute) {
    warn(path, "a second throughput timer in one thread group; only the first is used");
    return;
  }
  tg.throughput_per_minute = per_minute;
}

YAML::Node Translator::walk(const pugi::xml_node& tree, const Scope& parent,
                            const std::string& path, ThreadGroupModel& tg, int transaction_depth) {
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

void Translator::append_all(YAML::Node& to, const YAML::Node& from) {
  for (const auto& n : from) {
    to.push_back(n);
  }
}

void Translator::add_loop(const pugi::xml_node& e, const std::string& path, const YAML::Node& inner,
                          YAML::Node& steps) {
  const auto raw = prop_or(e, "LoopController.loops", "1");
  const auto templated = expr(raw, path);
  auto count = to_integer(templated);
  if (!count && templated.find("{{") != std::string::npos && to_integer(static_value(raw, path))) {
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

void Translator::add_if(const pugi::xml_node& e, const std::string& path, const YAML::Node& inner,
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
std::optional<SimpleCondition> Translator::parse_condition(std::string text) {
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
YAML::Node Translator::loop_block(long long count, const YAML::Node& steps) {
  YAML::Node n;
  n["loop"] = count;
  n["steps"] = steps;
  return n;
}

YAML::Node Translator::if_block(const SimpleCondition& c, const YAML::Node& steps) {
  YAML::Node n;
  // Numbers stay bare (they compare as numbers); text is quoted.
  const bool number = to_number(c.literal).has_value();
  const char quote = c.literal.find('\'') == std::string::npos ? '\'' : '"';
  n["if"] =
      "{{ " + c.variable + " }} " + c.op + " " + (number ? c.literal : quote + c.literal + quote);
  n["steps"] = steps;
  return n;
}

}  // namespace crest::jmeter::detail
