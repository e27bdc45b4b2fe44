#pragma once
// What a new account must look like: e-mail and name without control characters, lengths in
// characters (UTF-8 code points, not bytes), and a password policy in the spirit of NIST SP
// 800-63B (8..128 characters, not on a list of commonly used passwords).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace crest::storefront {

// Code points in `text`, or nothing if it is not valid UTF-8 (overlong forms, surrogates and
// values past U+10FFFF are invalid).
std::optional<std::size_t> utf8_length(std::string_view text);

// True for C0 controls (NUL included), DEL and the C1 controls U+0080..U+009F.
bool has_control_characters(std::string_view utf8);

// True if the password, compared without regard to ASCII letter case, is on the list shipped in
// common_passwords.cpp.
bool is_common_password(std::string_view password);

// Throw http::ClientError("invalid_field") naming the field and the rule broken; return the value.
std::string checked_email(const std::string& email);        // 3..254 characters, one '@'
std::string checked_name(const std::string& name);          // 1..100 characters
std::string checked_password(const std::string& password);  // 8..128, not common

}  // namespace crest::storefront
