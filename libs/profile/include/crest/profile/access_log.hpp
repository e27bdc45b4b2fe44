#pragma once
// Access-log lines (HAProxy HTTP log, nginx combined, AWS ALB, Spring Boot/Tomcat access log)
// to records. A line that does not parse is counted and kept as an example, never fatal unless
// every line fails.
#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/error.hpp"

namespace crest::profile {

enum class LogFormat { automatic, haproxy, nginx_combined, alb, spring_boot_access };
const char* to_string(LogFormat f);
Result<LogFormat> parse_log_format(std::string_view name);

struct AccessRecord {
  double time_s = 0;  // Unix time of the request, seconds (fraction when the log has it)
  std::string method;
  std::string raw_path;  // as sent, without the query
  std::string path;      // percent-decoded
  int status = 0;
  std::string client;  // address without the port (IPv6 unbracketed)
  std::string user_agent;
  std::string session;  // the session cookie's value when the log carries it
};

struct MalformedLine {
  std::size_t line_number = 0;
  std::string text;
  std::string reason;
};

struct ParsedLog {
  LogFormat format = LogFormat::automatic;
  std::vector<AccessRecord> records;
  std::size_t lines = 0;  // non-empty lines
  std::size_t malformed = 0;
  std::vector<MalformedLine> examples;  // the first few malformed lines
};

// One line in one format; the error says what was expected.
Result<AccessRecord> parse_access_line(std::string_view line, LogFormat format,
                                       std::string_view session_cookie = "session");

// A whole log. `automatic` picks the format that parses most of the first 200 lines. Fails only
// when no line parses (the error shows the first malformed ones).
Result<ParsedLog> parse_access_log(std::istream& in, const std::string& name, LogFormat format,
                                   std::string_view session_cookie = "session");

// "/api/products/123" -> "/api/products/{id}": numbers, UUIDs, long hex and id-like tokens
// ("o-42", long mixed tokens) are folded.
std::string route_template(std::string_view decoded_path);
std::string percent_decode(std::string_view text);

}  // namespace crest::profile
