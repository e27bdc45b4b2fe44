#pragma once
// What the demo hands `crest diagnose` for one window. Its --from/--to bound only what it fetches
// from Prometheus; files are read whole. So the demo gives it copies cut to the window: a load
// run spanning six faults, or an autoscaler log spanning the whole platform's life, would put the
// other faults' onsets (and scale events) into every fault's evidence.
#include <string>

#include <nlohmann/json.hpp>

namespace crest::demo {

// A `crest run --out json` document holding only the timeline seconds whose start lies in
// [from_unix, to_unix), with the start time it is measured from: what `crest diagnose --load-run`
// reads. The input is returned unchanged when it has no timeline or start_unix_ms.
nlohmann::json load_run_within(const nlohmann::json& run, double from_unix, double to_unix);

// The JSON lines of an event log whose "ts" (RFC 3339) lies in [from_unix, to_unix]; lines
// without a readable ts are dropped.
std::string event_lines_within(const std::string& lines, double from_unix, double to_unix);

}  // namespace crest::demo
