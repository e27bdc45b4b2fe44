#pragma once
// The typed exceptions request handlers throw (docs/errors.md). The error_mapping middleware
// (middleware.cpp) turns each into its status code and the JSON error body; anything else
// becomes a logged 500.
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "crest/core/error.hpp"

namespace crest::http {

// Typed exceptions for request handlers. The http error middleware maps them to a status code.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }

 private:
  int status_;
  std::string code_;
};

struct ClientError : HttpError {  // 400: the request is malformed or a field is wrong
  explicit ClientError(const std::string& message, std::string code = "bad_request")
      : HttpError(400, std::move(code), message) {}
};
struct Unauthorized : HttpError {  // 401: no valid session
  explicit Unauthorized(const std::string& message) : HttpError(401, "unauthorized", message) {}
};
struct ResourceNotFound : HttpError {  // 404
  explicit ResourceNotFound(const std::string& message) : HttpError(404, "not_found", message) {}
};
struct ConflictError : HttpError {  // 409
  explicit ConflictError(const std::string& message) : HttpError(409, "conflict", message) {}
};
struct ServiceUnavailable : HttpError {  // 503, with Retry-After in seconds
  explicit ServiceUnavailable(const std::string& message, int retry_after = 1)
      : HttpError(503, "unavailable", message), retry_after_seconds(retry_after) {}
  int retry_after_seconds;
};

// Maps an I/O error to the typed exception a handler should raise for it.
[[noreturn]] void throw_as_exception(const Error& error);

// For request handlers: the value of an I/O result, or the matching typed exception
// (invalid_argument -> 400, not_found -> 404, conflict -> 409, unavailable/timeout -> 503,
// internal -> a plain runtime_error, i.e. 500).
template <typename T>
requires(!std::is_void_v<T>) T value_or_throw(Result<T>&& result) {
  if (!result.ok()) throw_as_exception(result.error());
  return std::move(result).value();
}

inline void value_or_throw(const Result<void>& result) {
  if (!result.ok()) throw_as_exception(result.error());
}

}  // namespace crest::http
