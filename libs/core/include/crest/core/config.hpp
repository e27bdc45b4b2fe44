#pragma once
// Static configuration, validated against a schema at start-up.
// Precedence (lowest first): schema defaults, YAML file, environment, flags.
//   YAML:  nested maps flatten to dotted keys ({http: {port: 8080}} is "http.port").
//   env:   "http.port" is read from CREST_HTTP_PORT.
//   flags: --set http.port=8080 (and any flags an app maps onto keys).
// An unknown key or a value of the wrong type is a ConfigError naming the key and where it came
// from (file:line:column, the environment variable, or the flag).
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace crest {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class ConfigType { string, integer, number, boolean, duration };

struct ConfigOption {
  std::string key;  // dotted, e.g. "http.port"
  ConfigType type;
  std::string default_value;  // in the same text form a YAML file or flag would use
  std::string help;
};

class Config {
 public:
  explicit Config(std::vector<ConfigOption> schema);

  void load_file(const std::string& path);
  void load_yaml(const std::string& text, const std::string& source_name);
  // Returns the variables with the prefix that name no key, so the caller can warn about them
  // (they are not errors: other programs, tests among them, use the same prefix).
  std::vector<std::string> load_env(const std::string& prefix = "CREST_");
  // "key=value" from a command-line flag.
  void set_from_flag(const std::string& assignment);
  void set(const std::string& key, const std::string& value, const std::string& source);

  std::string get_string(const std::string& key) const;
  std::int64_t get_int(const std::string& key) const;
  double get_double(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::chrono::milliseconds get_duration(const std::string& key) const;
  // A string key that must be one of `allowed`; ConfigError naming the key, source and options.
  std::string get_choice(const std::string& key, std::initializer_list<const char*> allowed) const;

  // Where the current value of `key` came from ("default", "file.yaml:3:7", "CREST_X", "--set").
  std::string source_of(const std::string& key) const;
  // Every key with its type, default and help, for --help-config.
  std::string describe() const;

  static std::string env_name(const std::string& prefix, const std::string& key);
  // "250ms", "2s", "1.5s", "3m", "1h", or a bare number of milliseconds.
  static std::chrono::milliseconds parse_duration(const std::string& text);

 private:
  struct Entry {
    ConfigOption option;
    std::string value;
    std::string source;
  };
  const Entry& entry(const std::string& key, ConfigType expected) const;

  std::map<std::string, Entry> entries_;
};

}  // namespace crest
