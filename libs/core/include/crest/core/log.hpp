#pragma once
// JSON logs, one object per line on stdout:
//   {"ts":"2026-11-26T13:00:00.123Z","level":"info","service":"catalog","msg":"...",
//    "request_id":"...","trace_id":"...", ...fields}
// A Logger carries bound fields (the service, a request's ids); with() makes a child logger.
// Never log a password, a session token or a card number.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
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

// Text of at most Capacity bytes held inline (longer text is cut): a request's ids without a heap
// allocation per request.
template <std::size_t Capacity>
class InlineText {
 public:
  static_assert(Capacity < 256);
  void assign(std::string_view text) {
    size_ = static_cast<std::uint8_t>(std::min(text.size(), Capacity));
    if (size_ != 0) std::memcpy(data_.data(), text.data(), size_);  // an empty view may be null
  }
  // Room to write `size` bytes in place (at most Capacity).
  char* resize(std::size_t size) {
    size_ = static_cast<std::uint8_t>(std::min(size, Capacity));
    return data_.data();
  }
  std::string_view view() const { return {data_.data(), size_}; }
  bool empty() const { return size_ == 0; }

 private:
  std::array<char, Capacity> data_{};
  std::uint8_t size_ = 0;
};

// The ids a request's log lines carry; empty ones are left out of the line.
struct CorrelationIds {
  InlineText<64> request_id;
  InlineText<32> trace_id;        // W3C trace-context: 32 hex digits
  InlineText<16> span_id;         // this server's span, 16 hex digits
  InlineText<16> parent_span_id;  // the caller's span, when it sent a traceparent
};

// One field of a log line that needs no JSON object: text, an integer or a number.
class Field {
 public:
  enum class Kind : std::uint8_t { text, integer, number };
  Field(std::string_view key, std::string_view text) : key_(key), kind_(Kind::text), text_(text) {}
  Field(std::string_view key, const char* text) : Field(key, std::string_view(text)) {}
  Field(std::string_view key, std::int64_t integer)
      : key_(key), kind_(Kind::integer), integer_(integer) {}
  Field(std::string_view key, int integer) : Field(key, static_cast<std::int64_t>(integer)) {}
  Field(std::string_view key, std::size_t integer)
      : Field(key, static_cast<std::int64_t>(integer)) {}
  Field(std::string_view key, double number) : key_(key), kind_(Kind::number), number_(number) {}

  std::string_view key() const { return key_; }
  Kind kind() const { return kind_; }
  std::string_view text() const { return text_; }
  std::int64_t integer() const { return integer_; }
  double number() const { return number_; }

 private:
  std::string_view key_;
  Kind kind_;
  std::string_view text_;
  std::int64_t integer_ = 0;
  double number_ = 0;
};

class Logger {
 public:
  explicit Logger(std::string_view service);

  // A logger that adds `fields` (a JSON object) to every line.
  Logger with(const nlohmann::json& fields) const;
  // A logger that adds the ids to every line. It shares this logger's bound fields (no copy of
  // them, no heap allocation): the per-request logger.
  Logger with_ids(const CorrelationIds& ids) const;
  const CorrelationIds& ids() const { return ids_; }

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
  // The same line from plain fields: no JSON object is built (the access log's path). After a
  // thread's first lines it does not allocate, but for the sink's own copy.
  void write(Level level, std::string_view msg, std::span<const Field> fields) const;

 private:
  struct Bound;                         // the service and fields bound by with()
  std::shared_ptr<const Bound> bound_;  // shared by copies and by with_ids()
  CorrelationIds ids_;
};

}  // namespace crest::log
