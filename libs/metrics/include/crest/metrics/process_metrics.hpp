#pragma once
// The standard process_* metrics every Prometheus client exports, read from /proc at scrape time:
// process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
// process_open_fds, process_max_fds, process_start_time_seconds and process_threads.
#include <optional>

#include "crest/metrics/registry.hpp"

namespace crest::metrics {

// Call once per registry (a second call throws std::invalid_argument, as any re-registered
// callback does). Off Linux, or without /proc, the metrics are simply absent from scrapes.
void register_process_metrics(Registry& registry);

// What the metrics report, for tests and for code that wants the numbers directly.
struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double threads = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};
std::optional<ProcessStats> read_process_stats();
std::optional<double> count_open_fds();

}  // namespace crest::metrics
