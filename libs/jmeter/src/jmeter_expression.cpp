// JMeter's "${...}" references and functions to crest templates (docs/jmeter.md, "Expressions").
#include <cctype>
#include <string>
#include <vector>

#include "crest/jmeter/jmx_translator.hpp"

namespace crest::jmeter {

const std::string* JmeterVariables::find(const std::string& name) const {
  for (const auto& [jmeter_name, crest_name] : names) {
    if (jmeter_name == name) {
      return &crest_name;
    }
  }
  return nullptr;
}

namespace {

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) {
    return "";
  }
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

bool is_integer(const std::string& s) {
  if (s.empty()) {
    return false;
  }
  std::size_t i = (s[0] == '-') ? 1 : 0;
  if (i == s.size()) {
    return false;
  }
  for (; i < s.size(); ++i) {
    if (std::isdigit(static_cast<unsigned char>(s[i])) == 0) {
      return false;
    }
  }
  return true;
}

// The end of a "${" reference starting at `open` (index of '$'): the index of its closing '}',
// counting nested "${...}", or npos when it is never closed.
std::size_t reference_end(const std::string& text, std::size_t open) {
  int depth = 0;
  for (std::size_t i = open; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      ++depth;
      ++i;
    } else if (text[i] == '}') {
      if (--depth == 0) {
        return i;
      }
    }
  }
  return std::string::npos;
}

// Function arguments: split at commas outside parentheses and "${...}"; "\," is a literal comma.
std::vector<std::string> split_arguments(const std::string& args) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const char c = args[i];
    if (c == '\\' && i + 1 < args.size() && args[i + 1] == ',') {
      out.back() += ',';
      ++i;
    } else if (c == ',' && depth == 0) {
      out.emplace_back();
    } else {
      if (c == '(' || c == '{') {
        ++depth;
      } else if ((c == ')' || c == '}') && depth > 0) {
        --depth;
      }
      out.back() += c;
    }
  }
  return out;
}

std::string translate_reference(const std::string& inner, const std::string& whole,
                                JmeterVariables& variables, std::vector<std::string>& problems) {
  if (inner.rfind("__", 0) != 0) {
    if (const auto* crest_name = variables.find(inner)) {
      return "{{ " + *crest_name + " }}";
    }
    problems.push_back("variable '" + inner + "' is not defined by the plan (JMeter would send '" +
                       whole + "' as it is); kept literally");
    return whole;
  }
  const auto paren = inner.find('(');
  const std::string name =
      inner.substr(2, paren == std::string::npos ? std::string::npos : paren - 2);
  std::vector<std::string> args;
  if (paren != std::string::npos) {
    if (inner.back() != ')') {
      problems.push_back("malformed function call '" + whole + "'; kept literally");
      return whole;
    }
    args = split_arguments(inner.substr(paren + 1, inner.size() - paren - 2));
    for (auto& a : args) {
      a = trim(a);
    }
    if (args.size() == 1 && args[0].empty()) {
      args.clear();
    }
  }
  if (name == "P" || name == "property") {
    // __P(name,default); __property(name,variable,default)
    if (args.empty() || args[0].empty() ||
        (name == "property" && args.size() > 1 && !args[1].empty())) {
      problems.push_back("unsupported form of " + whole + "; kept literally");
      return whole;
    }
    const std::string def =
        name == "P" ? (args.size() > 1 ? args[1] : "1") : (args.size() > 2 ? args[2] : "");
    bool seen = false;
    for (const auto& p : variables.properties) {
      seen = seen || p.first == args[0];
    }
    if (!seen) {
      variables.properties.emplace_back(args[0], def);
    }
    return "{{ " + args[0] + " }}";
  }
  if (name == "Random") {
    if (args.size() == 2 && is_integer(args[0]) && is_integer(args[1])) {
      return "{{ randint(" + args[0] + ", " + args[1] + ") }}";
    }
    problems.push_back("only ${__Random(MIN,MAX)} with literal integers is supported, not '" +
                       whole + "'; kept literally");
    return whole;
  }
  if (name == "UUID") {
    return "{{ uuid() }}";
  }
  if (name == "time") {
    if (args.empty() ||
        (args.size() <= 2 && args[0].empty() && (args.size() < 2 || args[1].empty()))) {
      return "{{ timestamp() }}";
    }
    problems.push_back("${__time()} with a format or variable is not supported ('" + whole +
                       "'); kept literally");
    return whole;
  }
  if (name == "threadNum") {
    return "{{ vu }}";
  }
  problems.push_back("unsupported function __" + name + " in '" + whole + "'; kept literally");
  return whole;
}

}  // namespace

std::string translate_expression(const std::string& text, JmeterVariables& variables,
                                 std::vector<std::string>& problems) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto open = text.find("${", i);
    if (open == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    out.append(text, i, open - i);
    const auto close = reference_end(text, open);
    if (close == std::string::npos) {
      out.append(text, open, std::string::npos);  // JMeter too leaves an unclosed "${" as it is
      break;
    }
    const std::string whole = text.substr(open, close - open + 1);
    out += translate_reference(text.substr(open + 2, close - open - 2), whole, variables, problems);
    i = close + 1;
  }
  return out;
}

}  // namespace crest::jmeter
