#include "crest/core/error.hpp"

namespace crest {

const char* to_string(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::invalid_argument:
      return "invalid_argument";
    case ErrorKind::not_found:
      return "not_found";
    case ErrorKind::conflict:
      return "conflict";
    case ErrorKind::unavailable:
      return "unavailable";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::internal:
      return "internal";
  }
  return "internal";
}

void throw_as_exception(const Error& error) {
  switch (error.kind) {
    case ErrorKind::invalid_argument:
      throw ClientError(error.message);
    case ErrorKind::not_found:
      throw ResourceNotFound(error.message);
    case ErrorKind::conflict:
      throw ConflictError(error.message);
    case ErrorKind::unavailable:
    case ErrorKind::timeout:
      throw ServiceUnavailable(error.message);
    case ErrorKind::internal:
      break;
  }
  throw std::runtime_error(error.message);
}

}  // namespace crest
