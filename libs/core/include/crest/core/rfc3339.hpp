#pragma once
// RFC 3339 timestamps as Unix seconds, the one parser every library uses (diagnose reads them in
// every input format; the autoscaler's and the chaos tool's event logs write them).
#include <optional>
#include <string>
#include <string_view>

namespace crest {

// "2026-11-30T08:47:19.123Z"; also "+01:00" offsets, a space instead of 'T', no zone (UTC), a
// date alone (midnight UTC), any number of fraction digits. nullopt for anything else (no
// surrounding whitespace).
std::optional<double> parse_rfc3339(std::string_view s);
// RFC 3339 UTC with milliseconds: "2026-11-30T08:47:19.123Z".
std::string format_rfc3339_ms(double unix_seconds);

}  // namespace crest
