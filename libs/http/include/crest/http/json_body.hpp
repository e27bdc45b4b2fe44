#pragma once
// Reading JSON request bodies: every failure is a ClientError (400) naming the problem.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crest/http/message.hpp"

namespace crest::http {

// The body as a JSON object; 400 if it is not JSON or not an object.
nlohmann::json parse_json_object(const Request& request);

std::string require_string(const nlohmann::json& body, std::string_view field,
                           std::size_t max_length = 1024);
std::int64_t require_int(const nlohmann::json& body, std::string_view field, std::int64_t min,
                         std::int64_t max);
std::optional<std::int64_t> optional_int(const nlohmann::json& body, std::string_view field,
                                         std::int64_t min, std::int64_t max);

// Path parameters and query values as integers within bounds; 400 naming the parameter otherwise.
std::int64_t parse_id(std::string_view text, std::string_view what);

}  // namespace crest::http
