#include "crest/demo/diagnosis_inputs.hpp"

#include <sstream>

#include "crest/core/rfc3339.hpp"

namespace crest::demo {

using nlohmann::json;

json load_run_within(const json& run, double from_unix, double to_unix) {
  if (!run.is_object() || !run.contains("timeline") || !run["timeline"].is_array() ||
      !run.contains("start_unix_ms") || !run["start_unix_ms"].is_number()) {
    return run;
  }
  const double start = run["start_unix_ms"].get<double>() / 1000;
  json cut = {{"start_unix_ms", run["start_unix_ms"]}, {"timeline", json::array()}};
  for (const auto& second : run["timeline"]) {
    if (!second.is_object() || !second.contains("t") || !second["t"].is_number()) continue;
    const double at = start + second["t"].get<double>();
    if (at >= from_unix && at < to_unix) cut["timeline"].push_back(second);
  }
  return cut;
}

std::string event_lines_within(const std::string& lines, double from_unix, double to_unix) {
  std::istringstream in(lines);
  std::string out, line;
  while (std::getline(in, line)) {
    const auto event = json::parse(line, nullptr, false);
    if (!event.is_object() || !event.contains("ts") || !event["ts"].is_string()) continue;
    const auto at = parse_rfc3339(event["ts"].get<std::string>());
    if (at && *at >= from_unix && *at <= to_unix) out += line + "\n";
  }
  return out;
}

}  // namespace crest::demo
