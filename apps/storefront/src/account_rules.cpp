#include "account_rules.hpp"

#include <cstdint>

#include <fmt/format.h>

#include "crest/core/error.hpp"
#include "crest/core/text.hpp"
#include "crest/http/errors.hpp"

namespace crest::storefront {

std::optional<std::size_t> utf8_length(std::string_view text) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < text.size(); ++count) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (lead < 0x80) {
      cp = lead;
    } else if ((lead & 0xe0) == 0xc0) {
      extra = 1;
      cp = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      extra = 2;
      cp = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      extra = 3;
      cp = lead & 0x07;
    } else {
      return std::nullopt;
    }
    if (i + extra >= text.size() && extra > 0) return std::nullopt;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (next & 0x3f);
    }
    constexpr std::uint32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return std::nullopt;
    }
    i += extra + 1;
  }
  return count;
}

bool has_control_characters(std::string_view utf8) {
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x20 || c == 0x7f) return true;
    // U+0080..U+009F is encoded as C2 80..C2 9F.
    if (c == 0xc2 && i + 1 < utf8.size()) {
      const auto next = static_cast<unsigned char>(utf8[i + 1]);
      if (next >= 0x80 && next <= 0x9f) return true;
    }
  }
  return false;
}

namespace {

std::size_t checked_text(const std::string& value, const char* field, std::size_t min,
                         std::size_t max) {
  const auto length = utf8_length(value);
  if (!length)
    throw http::ClientError(fmt::format("field '{}' is not valid UTF-8", field), "invalid_field");
  if (has_control_characters(value)) {
    throw http::ClientError(fmt::format("field '{}' must not contain control characters", field),
                            "invalid_field");
  }
  if (*length < min || *length > max) {
    throw http::ClientError(
        fmt::format("field '{}' must have {} to {} characters", field, min, max), "invalid_field");
  }
  return *length;
}

}  // namespace

std::string checked_email(const std::string& email) {
  checked_text(email, "email", 3, 254);
  const auto at = email.find('@');
  if (at == std::string::npos || at == 0 || at + 1 >= email.size() ||
      email.find('@', at + 1) != std::string::npos || email.find(' ') != std::string::npos) {
    throw http::ClientError("field 'email' is not an e-mail address", "invalid_field");
  }
  return email;
}

std::string checked_name(const std::string& name) {
  checked_text(name, "name", 1, 100);
  return name;
}

std::string checked_password(const std::string& password) {
  const auto length = utf8_length(password);
  if (!length) throw http::ClientError("field 'password' is not valid UTF-8", "invalid_field");
  if (*length < 8 || *length > 128) {
    throw http::ClientError("field 'password' must have 8 to 128 characters", "invalid_field");
  }
  if (is_common_password(password)) {
    throw http::ClientError(
        "field 'password' is too common; choose one that is not on lists of "
        "frequently used passwords",
        "invalid_field");
  }
  return password;
}

}  // namespace crest::storefront
