#include "crest/http/errors.hpp"

namespace crest::http {

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

}  // namespace crest::http
