#pragma once
// One error convention for all of Crest (docs/errors.md):
//  - I/O layers (stores, clients) return Result<T>; an Error carries a kind and a message.
//  - Request handlers throw the typed exceptions below; the http library's error middleware maps
//    each to its HTTP status and a JSON body {"error": {"code": ..., "message": ...}}.
//  - The load engine's per-request path never throws.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace crest {

enum class ErrorKind : std::uint8_t {
  invalid_argument,  // the caller sent something wrong
  not_found,
  conflict,     // duplicate, or a precondition on current state failed
  unavailable,  // a dependency is down, overloaded or throttling; retrying later may work
  timeout,
  internal,  // a bug or an invariant broken
};

const char* to_string(ErrorKind kind) noexcept;

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
};

// The value or the error of an I/O operation. Deliberately small: holds one of the two.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const Error& error() const { return std::get<1>(state_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // For request handlers: the value, or the matching typed exception (see throw_as_exception).
  T value_or_throw() &&;

 private:
  std::variant<T, Error> state_;
};

// Result<void>: success or an error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error)
      : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)
  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const { return error_; }
  void value_or_throw() const;

 private:
  Error error_;
  bool ok_ = true;
};

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
struct PayloadTooLarge : HttpError {  // 413
  explicit PayloadTooLarge(const std::string& message)
      : HttpError(413, "payload_too_large", message) {}
};
struct ServiceUnavailable : HttpError {  // 503, with Retry-After in seconds
  explicit ServiceUnavailable(const std::string& message, int retry_after = 1)
      : HttpError(503, "unavailable", message), retry_after_seconds(retry_after) {}
  int retry_after_seconds;
};

// Maps an I/O error to the typed exception a handler should raise for it.
[[noreturn]] void throw_as_exception(const Error& error);

template <typename T>
T Result<T>::value_or_throw() && {
  if (!ok()) {
    throw_as_exception(error());
  }
  return std::get<0>(std::move(state_));
}

inline void Result<void>::value_or_throw() const {
  if (!ok_) {
    throw_as_exception(error_);
  }
}

}  // namespace crest
