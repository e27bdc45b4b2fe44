#include "crest/aws/config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace crest::aws {
namespace {

std::string trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

std::optional<std::string> non_empty(const EnvLookup& env, std::string_view name) {
  auto value = env(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string home_file(const EnvLookup& env, const char* relative) {
  const auto home = non_empty(env, "HOME");
  return home ? fmt::format("{}/{}", *home, relative) : std::string();
}

std::string profile_name(const EnvLookup& env) {
  return non_empty(env, "AWS_PROFILE").value_or("default");
}

}  // namespace

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

IniSections parse_ini(std::string_view text) {
  IniSections sections;
  std::string current;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      current = trim(std::string_view(t).substr(1, t.size() - 2));
      sections[current];
      continue;
    }
    const auto eq = t.find('=');
    if (eq == std::string::npos || current.empty()) continue;
    sections[current][trim(std::string_view(t).substr(0, eq))] =
        trim(std::string_view(t).substr(eq + 1));
  }
  return sections;
}

Result<Credentials> resolve_credentials(const EnvLookup& env) {
  const auto key = non_empty(env, "AWS_ACCESS_KEY_ID");
  const auto secret = non_empty(env, "AWS_SECRET_ACCESS_KEY");
  if (key && secret) {
    return Credentials{*key, *secret, non_empty(env, "AWS_SESSION_TOKEN").value_or("")};
  }
  const std::string path =
      non_empty(env, "AWS_SHARED_CREDENTIALS_FILE").value_or(home_file(env, ".aws/credentials"));
  const std::string profile = profile_name(env);
  if (!path.empty()) {
    if (const auto text = read_file(path)) {
      const auto sections = parse_ini(*text);
      const auto it = sections.find(profile);
      if (it != sections.end()) {
        const auto& s = it->second;
        const auto k = s.find("aws_access_key_id");
        const auto v = s.find("aws_secret_access_key");
        if (k != s.end() && v != s.end()) {
          const auto token = s.find("aws_session_token");
          return Credentials{k->second, v->second, token == s.end() ? "" : token->second};
        }
      }
    }
  }
  return Error{ErrorKind::not_found,
               fmt::format("no AWS credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY unset and "
                           "no profile '{}' with a key pair in '{}'",
                           profile, path)};
}

std::string resolve_region(const EnvLookup& env, std::string fallback) {
  if (auto region = non_empty(env, "AWS_REGION")) return *region;
  if (auto region = non_empty(env, "AWS_DEFAULT_REGION")) return *region;
  const std::string path =
      non_empty(env, "AWS_CONFIG_FILE").value_or(home_file(env, ".aws/config"));
  if (!path.empty()) {
    if (const auto text = read_file(path)) {
      const auto sections = parse_ini(*text);
      const std::string profile = profile_name(env);
      const std::string section = profile == "default" ? profile : "profile " + profile;
      const auto it = sections.find(section);
      if (it != sections.end()) {
        const auto r = it->second.find("region");
        if (r != it->second.end() && !r->second.empty()) return r->second;
      }
    }
  }
  return fallback;
}

}  // namespace crest::aws
