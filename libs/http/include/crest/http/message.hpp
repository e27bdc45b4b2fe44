#pragma once
// HTTP messages as plain values. Beast stays inside server.cpp and client.cpp so that handler code
// compiles fast and never depends on the wire library.
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "crest/core/log.hpp"
#include "crest/core/text.hpp"

namespace crest::http {

using text::iequals;  // header names compare without ASCII case

class Headers {
 public:
  std::optional<std::string_view> get(std::string_view name) const;
  void set(std::string name, std::string value);  // replaces every header of that name
  void add(std::string name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& all() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

// What the middleware chain learns about a request as it passes through.
struct RequestContext {
  // The request's logger; it carries the request id, trace id and span id (fixed buffers, set by
  // the request_id and trace_context middleware) and adds them to every line.
  log::Logger logger = default_logger();
  std::string_view route;               // the matched route pattern, held by the Router; "" if none
  std::optional<std::int64_t> user_id;  // set by authentication

  std::string_view request_id() const { return logger.ids().request_id.view(); }
  std::string_view trace_id() const { return logger.ids().trace_id.view(); }  // 32 hex digits
  std::string_view span_id() const { return logger.ids().span_id.view(); }    // 16 hex digits

  // The traceparent header to send on calls this request makes to other services.
  std::string outgoing_traceparent() const;
  // The same 55 characters, written into `out` (no allocation).
  void write_outgoing_traceparent(std::array<char, 55>& out) const;

  // A shared "http" logger, so that a Request costs no allocation to construct.
  static const log::Logger& default_logger();
};

struct Request {
  std::string method;
  std::string target;        // path and query as received
  std::string path;          // as sent, without the query; path parameters are decoded
  std::string query_string;  // raw, without '?'
  Headers headers;
  std::string body;
  std::string remote_address;
  std::vector<std::pair<std::string, std::string>> path_params;
  RequestContext context;

  std::string_view path_param(std::string_view name) const;
  // The first value of a query parameter, percent-decoded.
  std::optional<std::string> query(std::string_view name) const;
  // The value of a cookie from the Cookie header.
  std::optional<std::string> cookie(std::string_view name) const;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  static Response json(int status, const nlohmann::json& body);
  static Response text(int status, std::string body, std::string content_type = "text/plain");
  static Response error(int status, std::string_view code, std::string_view message);
};

// '+' means a space only in query strings (application/x-www-form-urlencoded).
std::string percent_decode(std::string_view text, bool plus_as_space = false);
std::string_view reason_phrase(int status) noexcept;

}  // namespace crest::http
