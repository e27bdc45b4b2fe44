#include "crest/core/log.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <ctime>
#include <iterator>
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

using Buffer = fmt::memory_buffer;

void append(Buffer& out, std::string_view text) {
  out.append(text.data(), text.data() + text.size());
}

void append_timestamp(Buffer& out) {
  const auto now = std::chrono::system_clock::now();
  const auto seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  fmt::format_to(std::back_inserter(out), "\"{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z\"",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 millis);
}

// Length of the well-formed UTF-8 sequence starting at text[i], 0 if it is not one.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) -> unsigned {
    return i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0U;
  };
  auto continues = [&](std::size_t k, unsigned low = 0x80, unsigned high = 0xBF) {
    const unsigned b = byte(k);
    return b >= low && b <= high;
  };
  const unsigned lead = byte(0);
  if (lead >= 0xC2 && lead <= 0xDF) return continues(1) ? 2 : 0;
  if (lead >= 0xE0 && lead <= 0xEF) {  // no overlong forms, no surrogates
    const bool second = continues(1, lead == 0xE0 ? 0xA0 : 0x80, lead == 0xED ? 0x9F : 0xBF);
    return second && continues(2) ? 3 : 0;
  }
  if (lead >= 0xF0 && lead <= 0xF4) {
    const bool second = continues(1, lead == 0xF0 ? 0x90 : 0x80, lead == 0xF4 ? 0x8F : 0xBF);
    return second && continues(2) && continues(3) ? 4 : 0;
  }
  return 0;
}

// A JSON string; bytes that are not UTF-8 become U+FFFD, as nlohmann's error_handler replace does.
void append_json_string(Buffer& out, std::string_view text) {
  out.push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        append(out, "\\ufffd");
        ++i;
      } else {
        append(out, text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        append(out, "\\\"");
        break;
      case '\\':
        append(out, "\\\\");
        break;
      case '\n':
        append(out, "\\n");
        break;
      case '\r':
        append(out, "\\r");
        break;
      case '\t':
        append(out, "\\t");
        break;
      default:
        if (c < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

void append_key(Buffer& out, std::string_view key) {
  out.push_back(',');
  append_json_string(out, key);
  out.push_back(':');
}

void append_field(Buffer& out, const Field& field) {
  append_key(out, field.key());
  switch (field.kind()) {
    case Field::Kind::text:
      append_json_string(out, field.text());
      break;
    case Field::Kind::integer:
      fmt::format_to(std::back_inserter(out), "{}", field.integer());
      break;
    case Field::Kind::number:
      if (std::isfinite(field.number())) {
        fmt::format_to(std::back_inserter(out), "{}", field.number());
      } else {
        append(out, "null");
      }
      break;
  }
}

void append_json_value(Buffer& out, const nlohmann::json& value) {
  append(out, value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void send(Level level, const Buffer& line) {
  std::shared_ptr<spdlog::sinks::sink> sink;
  {
    std::lock_guard lock(output().mutex);
    sink = output().sink;
  }
  spdlog::details::log_msg record(spdlog::source_loc{}, "", to_spdlog(level),
                                  spdlog::string_view_t(line.data(), line.size()));
  sink->log(record);
}

// One buffer per thread, reused: a line costs no allocation once it has grown.
Buffer& line_buffer() {
  thread_local Buffer buffer;
  buffer.clear();
  return buffer;
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

struct Logger::Bound {
  std::string service;
  nlohmann::json fields;  // an object; never holds "service"
};

Logger::Logger(std::string_view service)
    : bound_(std::make_shared<const Bound>(Bound{std::string(service), nlohmann::json::object()})) {
}

Logger Logger::with(const nlohmann::json& fields) const {
  Bound merged = *bound_;
  merged.fields.update(fields);
  if (const auto it = merged.fields.find("service"); it != merged.fields.end()) {
    if (it->is_string()) merged.service = it->get<std::string>();
    merged.fields.erase(it);
  }
  Logger child = *this;
  child.bound_ = std::make_shared<const Bound>(std::move(merged));
  return child;
}

Logger Logger::with_ids(const CorrelationIds& ids) const {
  Logger child = *this;
  child.ids_ = ids;
  return child;
}

bool Logger::enabled(Level level) const {
  return level >= output().level.load();
}

namespace {

// Fixed keys first, so lines read the same way every time; then bound fields, ids, the line's own.
void append_head(Buffer& out, Level level, std::string_view service, std::string_view msg,
                 const nlohmann::json& bound, const CorrelationIds& ids) {
  append(out, "{\"ts\":");
  append_timestamp(out);
  append(out, ",\"level\":\"");
  append(out, level_name(level));
  append(out, "\",\"service\":");
  append_json_string(out, service);
  append(out, ",\"msg\":");
  append_json_string(out, msg);
  for (const auto& [key, value] : bound.items()) {
    append_key(out, key);
    append_json_value(out, value);
  }
  const std::pair<std::string_view, std::string_view> id_fields[] = {
      {"request_id", ids.request_id.view()},
      {"trace_id", ids.trace_id.view()},
      {"span_id", ids.span_id.view()},
      {"parent_span_id", ids.parent_span_id.view()}};
  for (const auto& [key, value] : id_fields) {
    if (value.empty()) continue;
    append_key(out, key);
    append_json_string(out, value);
  }
}

}  // namespace

void Logger::write(Level level, std::string_view msg, const nlohmann::json* fields) const {
  if (!enabled(level)) {
    return;
  }
  Buffer& line = line_buffer();
  append_head(line, level, bound_->service, msg, bound_->fields, ids_);
  if (fields != nullptr && fields->is_object()) {
    for (const auto& [key, value] : fields->items()) {
      append_key(line, key);
      append_json_value(line, value);
    }
  }
  line.push_back('}');
  send(level, line);
}

void Logger::write(Level level, std::string_view msg, std::span<const Field> fields) const {
  if (!enabled(level)) {
    return;
  }
  Buffer& line = line_buffer();
  append_head(line, level, bound_->service, msg, bound_->fields, ids_);
  for (const Field& field : fields) append_field(line, field);
  line.push_back('}');
  send(level, line);
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
