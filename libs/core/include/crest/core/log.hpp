#pragma once
// JSON logs, one object per line on stdout:
//   {"ts":"2026-11-26T13:00:00.123Z","level":"info","service":"catalog","msg":"...",
//    "request_id":"...","trace_id":"...", ...fields}
// A Logger carries bound fields (the service, a request's ids); with() makes a child logger.
// Never log a password, a session token or a card number.
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace spdlog::sinks {
class sink;
}

namespace crest::log {

enum class Level { debug, info, warn, error };

Level parse_level(std::string_view name);  // throws std::invalid_argument naming the value
void set_level(Level level);
// Where log lines go: stdout by default; tests point it at their own sink.
void set_sink(std::shared_ptr<spdlog::sinks::sink> sink);

class Logger {
 public:
  explicit Logger(std::string_view service);

  // A logger that adds `fields` (a JSON object) to every line.
  Logger with(const nlohmann::json& fields) const;

  void debug(std::string_view msg) const;
  void info(std::string_view msg) const;
  void warn(std::string_view msg) const;
  void error(std::string_view msg) const;
  void debug(std::string_view msg, const nlohmann::json& fields) const;
  void info(std::string_view msg, const nlohmann::json& fields) const;
  void warn(std::string_view msg, const nlohmann::json& fields) const;
  void error(std::string_view msg, const nlohmann::json& fields) const;

  bool enabled(Level level) const;
  void write(Level level, std::string_view msg, const nlohmann::json* fields) const;

 private:
  std::shared_ptr<const nlohmann::json> bound_;  // always an object holding "service"
};

}  // namespace crest::log
