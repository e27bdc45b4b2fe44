#pragma once
// One error convention for all of Crest (docs/errors.md):
//  - I/O layers (stores, clients) return Result<T>; an Error carries a kind and a message.
//  - Request handlers throw the typed exceptions of crest/http/errors.hpp; the http library's
//    error middleware maps each to its HTTP status and a JSON body.
//  - The load engine's per-request path never throws.
#include <cstdint>
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

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace crest
