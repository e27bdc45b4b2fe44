#include "crest/http/json_body.hpp"

#include <charconv>

#include <fmt/format.h>

#include "crest/http/errors.hpp"

namespace crest::http {

nlohmann::json parse_json_object(const Request& request) {
  nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    throw ClientError("request body is not valid JSON", "malformed_json");
  }
  if (!body.is_object()) {
    throw ClientError("request body must be a JSON object", "malformed_json");
  }
  return body;
}

std::string require_string(const nlohmann::json& body, std::string_view field,
                           std::size_t max_length) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) {
    throw ClientError(fmt::format("field '{}' is required", field), "missing_field");
  }
  if (!it->is_string()) {
    throw ClientError(fmt::format("field '{}' must be a string", field), "invalid_field");
  }
  auto value = it->get<std::string>();
  if (value.size() > max_length) {
    throw ClientError(fmt::format("field '{}' is longer than {} characters", field, max_length),
                      "invalid_field");
  }
  return value;
}

std::optional<std::int64_t> optional_int(const nlohmann::json& body, std::string_view field,
                                         std::int64_t min, std::int64_t max) {
  const auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer()) {
    throw ClientError(fmt::format("field '{}' must be an integer", field), "invalid_field");
  }
  // Unsigned values above int64 would wrap; compare in the type they came in.
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    throw ClientError(fmt::format("field '{}' must be between {} and {}", field, min, max),
                      "invalid_field");
  }
  const auto value = it->get<std::int64_t>();
  if (value < min || value > max) {
    throw ClientError(fmt::format("field '{}' must be between {} and {}", field, min, max),
                      "invalid_field");
  }
  return value;
}

std::int64_t require_int(const nlohmann::json& body, std::string_view field, std::int64_t min,
                         std::int64_t max) {
  auto value = optional_int(body, field, min, max);
  if (!value) {
    throw ClientError(fmt::format("field '{}' is required", field), "missing_field");
  }
  return *value;
}

std::int64_t parse_id(std::string_view text, std::string_view what) {
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    throw ClientError(
        fmt::format("{} must be a positive integer, got '{}'", what, text.substr(0, 64)),
        "invalid_id");
  }
  return value;
}

}  // namespace crest::http
