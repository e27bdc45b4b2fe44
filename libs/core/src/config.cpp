#include "crest/core/config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

extern char** environ;

namespace crest {
namespace {

const char* type_name(ConfigType type) {
  switch (type) {
    case ConfigType::string:
      return "string";
    case ConfigType::integer:
      return "integer";
    case ConfigType::number:
      return "number";
    case ConfigType::boolean:
      return "boolean";
    case ConfigType::duration:
      return "duration";
  }
  return "string";
}

bool parse_int(const std::string& text, std::int64_t& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  out = v;
  return true;
}

bool parse_double(const std::string& text, double& out) {
  if (text.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v)) return false;
  out = v;
  return true;
}

bool parse_bool(const std::string& text, bool& out) {
  if (text == "true" || text == "yes" || text == "on" || text == "1") {
    out = true;
    return true;
  }
  if (text == "false" || text == "no" || text == "off" || text == "0") {
    out = false;
    return true;
  }
  return false;
}

std::string mark_of(const std::string& source, const YAML::Mark& mark) {
  return fmt::format("{}:{}:{}", source, mark.line + 1, mark.column + 1);
}

}  // namespace

Config::Config(std::vector<ConfigOption> schema) {
  for (auto& option : schema) {
    const std::string key = option.key;
    std::string value = option.default_value;
    entries_.emplace(key, Entry{std::move(option), std::string(), "default"});
    set(key, value, "default");
  }
}

std::chrono::milliseconds Config::parse_duration(const std::string& text) {
  std::size_t unit_at = 0;
  while (unit_at < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[unit_at])) != 0 || text[unit_at] == '.')) {
    ++unit_at;
  }
  double amount = 0;
  if (!parse_double(text.substr(0, unit_at), amount) || amount < 0) {
    throw ConfigError(
        fmt::format("'{}' is not a duration (examples: 250ms, 2s, 1.5s, 3m, 1h)", text));
  }
  const std::string unit = text.substr(unit_at);
  double millis = 0;
  if (unit.empty() || unit == "ms") {
    millis = amount;
  } else if (unit == "s") {
    millis = amount * 1e3;
  } else if (unit == "m") {
    millis = amount * 60e3;
  } else if (unit == "h") {
    millis = amount * 3600e3;
  } else {
    throw ConfigError(
        fmt::format("'{}' has an unknown duration unit '{}' (use ms, s, m or h)", text, unit));
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(millis)));
}

void Config::set(const std::string& key, const std::string& value, const std::string& source) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    throw ConfigError(fmt::format("{}: unknown configuration key '{}'", source, key));
  }
  Entry& e = it->second;
  bool valid = true;
  std::int64_t i = 0;
  double d = 0;
  bool b = false;
  switch (e.option.type) {
    case ConfigType::string:
      break;
    case ConfigType::integer:
      valid = parse_int(value, i);
      break;
    case ConfigType::number:
      valid = parse_double(value, d);
      break;
    case ConfigType::boolean:
      valid = parse_bool(value, b);
      break;
    case ConfigType::duration:
      try {
        parse_duration(value);
      } catch (const ConfigError&) {
        valid = false;
      }
      break;
  }
  if (!valid) {
    throw ConfigError(fmt::format("{}: '{}' must be a {}, got '{}'", source, key,
                                  type_name(e.option.type), value));
  }
  e.value = value;
  e.source = source;
}

void Config::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    throw ConfigError(fmt::format("{}: cannot open configuration file", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  load_yaml(text.str(), path);
}

void Config::load_yaml(const std::string& text, const std::string& source_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(fmt::format("{}: {}", mark_of(source_name, e.mark), e.msg));
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) {
    throw ConfigError(fmt::format("{}: expected a mapping of configuration keys",
                                  mark_of(source_name, root.Mark())));
  }
  // Walk nested maps, flattening to dotted keys.
  auto walk = [&](auto&& self, const YAML::Node& node, const std::string& prefix) -> void {
    for (const auto& item : node) {
      const std::string key = prefix + item.first.as<std::string>();
      const std::string where = mark_of(source_name, item.first.Mark());
      if (item.second.IsMap()) {
        bool is_section = false;
        for (const auto& [name, entry] : entries_) {
          if (name.rfind(key + ".", 0) == 0) {
            is_section = true;
            break;
          }
        }
        if (!is_section) {
          throw ConfigError(fmt::format("{}: unknown configuration key '{}'", where, key));
        }
        self(self, item.second, key + ".");
      } else if (item.second.IsScalar()) {
        set(key, item.second.Scalar(), where);
      } else if (item.second.IsNull()) {
        set(key, "", where);
      } else {
        throw ConfigError(fmt::format("{}: '{}' must be a single value, not a list", where, key));
      }
    }
  };
  walk(walk, root, "");
}

std::string Config::env_name(const std::string& prefix, const std::string& key) {
  std::string name = prefix;
  for (char c : key) {
    name += (c == '.' || c == '-') ? '_'
                                   : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

std::vector<std::string> Config::load_env(const std::string& prefix) {
  std::vector<std::string> known;
  for (auto& [key, e] : entries_) {
    const std::string name = env_name(prefix, key);
    known.push_back(name);
    if (const char* value = std::getenv(name.c_str()); value != nullptr) {
      set(key, value, "environment variable " + name);
    }
  }
  std::vector<std::string> unknown;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    const std::string entry(*variable);
    const std::string name = entry.substr(0, entry.find('='));
    if (name.rfind(prefix, 0) == 0 && std::find(known.begin(), known.end(), name) == known.end()) {
      unknown.push_back(name);
    }
  }
  return unknown;
}

void Config::set_from_flag(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw ConfigError(fmt::format("--set '{}': expected key=value", assignment));
  }
  set(assignment.substr(0, eq), assignment.substr(eq + 1), "--set " + assignment.substr(0, eq));
}

const Config::Entry& Config::entry(const std::string& key, ConfigType expected) const {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.option.type != expected) {
    // A programming error: the code asked for a key its own schema does not declare so.
    throw std::logic_error(
        fmt::format("configuration key '{}' is not declared as a {}", key, type_name(expected)));
  }
  return it->second;
}

std::string Config::get_string(const std::string& key) const {
  return entry(key, ConfigType::string).value;
}

std::int64_t Config::get_int(const std::string& key) const {
  std::int64_t v = 0;
  parse_int(entry(key, ConfigType::integer).value, v);
  return v;
}

double Config::get_double(const std::string& key) const {
  double v = 0;
  parse_double(entry(key, ConfigType::number).value, v);
  return v;
}

bool Config::get_bool(const std::string& key) const {
  bool v = false;
  parse_bool(entry(key, ConfigType::boolean).value, v);
  return v;
}

std::chrono::milliseconds Config::get_duration(const std::string& key) const {
  return parse_duration(entry(key, ConfigType::duration).value);
}

std::string Config::get_choice(const std::string& key,
                               std::initializer_list<const char*> allowed) const {
  const std::string& value = entry(key, ConfigType::string).value;
  std::string list;
  for (const char* option : allowed) {
    if (value == option) return value;
    list += (list.empty() ? "" : ", ") + std::string(option);
  }
  throw ConfigError(
      fmt::format("{}: '{}' must be one of {}, got '{}'", source_of(key), key, list, value));
}

std::string Config::source_of(const std::string& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? std::string() : it->second.source;
}

std::string Config::describe() const {
  std::string out;
  for (const auto& [key, e] : entries_) {
    out += fmt::format("  {:<28} {:<9} default '{}'  (env {})\n      {}\n", key,
                       type_name(e.option.type), e.option.default_value, env_name("CREST_", key),
                       e.option.help);
  }
  return out;
}

}  // namespace crest
