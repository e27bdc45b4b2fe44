#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "crest/core/error.hpp"

namespace crest::report {
// The file parsed as JSON, or an Error naming it.
Result<nlohmann::json> read_json_file(const std::string& path);
// Each non-empty line of a JSON-lines file, or an Error naming the file and line.
Result<std::vector<nlohmann::json>> read_json_lines(const std::string& path);
}  // namespace crest::report
