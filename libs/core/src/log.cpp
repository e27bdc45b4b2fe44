#include "crest/core/log.hpp"

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <stdexcept>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

namespace crest::log {
namespace {

struct Output {
  std::mutex mutex;
  std::shared_ptr<spdlog::sinks::sink> sink =
      plain(std::make_shared<spdlog::sinks::stdout_sink_mt>());
  std::atomic<Level> level{Level::info};

  // Lines are complete JSON objects already; the sink must add nothing.
  static std::shared_ptr<spdlog::sinks::sink> plain(std::shared_ptr<spdlog::sinks::sink> s) {
    s->set_pattern("%v");
    return s;
  }
};

Output& output() {
  static Output out;
  return out;
}

const char* level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

}  // namespace

Level parse_level(std::string_view name) {
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warn" || name == "warning") return Level::warn;
  if (name == "error") return Level::error;
  throw std::invalid_argument(
      fmt::format("unknown log level '{}' (expected debug, info, warn or error)", name));
}

void set_level(Level level) {
  output().level = level;
}

void set_sink(std::shared_ptr<spdlog::sinks::sink> sink) {
  std::lock_guard lock(output().mutex);
  output().sink = Output::plain(std::move(sink));
}

Logger::Logger(std::string_view service)
    : bound_(std::make_shared<const nlohmann::json>(
          nlohmann::json{{"service", std::string(service)}})) {}

Logger Logger::with(const nlohmann::json& fields) const {
  auto merged = *bound_;
  merged.update(fields);
  Logger child = *this;
  child.bound_ = std::make_shared<const nlohmann::json>(std::move(merged));
  return child;
}

bool Logger::enabled(Level level) const {
  return level >= output().level.load();
}

void Logger::write(Level level, std::string_view msg, const nlohmann::json* fields) const {
  if (!enabled(level)) {
    return;
  }
  // Fixed keys first, so lines read the same way every time.
  nlohmann::ordered_json line;
  line["ts"] = utc_timestamp();
  line["level"] = level_name(level);
  line["service"] = bound_->value("service", "");
  line["msg"] = msg;
  for (const auto& [key, value] : bound_->items()) {
    if (key != "service") line[key] = value;
  }
  if (fields != nullptr && fields->is_object()) {
    for (const auto& [key, value] : fields->items()) line[key] = value;
  }
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::shared_ptr<spdlog::sinks::sink> sink;
  {
    std::lock_guard lock(output().mutex);
    sink = output().sink;
  }
  spdlog::details::log_msg record(spdlog::source_loc{}, "", to_spdlog(level), text);
  sink->log(record);
}

void Logger::debug(std::string_view msg) const {
  write(Level::debug, msg, nullptr);
}
void Logger::info(std::string_view msg) const {
  write(Level::info, msg, nullptr);
}
void Logger::warn(std::string_view msg) const {
  write(Level::warn, msg, nullptr);
}
void Logger::error(std::string_view msg) const {
  write(Level::error, msg, nullptr);
}
void Logger::debug(std::string_view msg, const nlohmann::json& f) const {
  write(Level::debug, msg, &f);
}
void Logger::info(std::string_view msg, const nlohmann::json& f) const {
  write(Level::info, msg, &f);
}
void Logger::warn(std::string_view msg, const nlohmann::json& f) const {
  write(Level::warn, msg, &f);
}
void Logger::error(std::string_view msg, const nlohmann::json& f) const {
  write(Level::error, msg, &f);
}

}  // namespace crest::log
