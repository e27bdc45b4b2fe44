#pragma once
// Small ASCII text helpers that HTTP parsing needs in several libraries (http, load).
#include <string_view>

namespace crest::text {

// Equal ignoring ASCII case: header names, tokens such as "chunked" or "close".
bool iequals(std::string_view a, std::string_view b) noexcept;

// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view trim(std::string_view s) noexcept;

}  // namespace crest::text
