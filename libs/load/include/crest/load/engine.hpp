#pragma once
// The load engine: one event loop per thread (epoll, src/event_loop.hpp), each owning a share of
// the virtual users (C++20 coroutines, one keep-alive connection per VU and origin), the
// executor's schedule, and a MetricSet that only it writes and hands to the aggregator (the
// calling thread) once a second. Units: src/engine.cpp (VU lifecycle), exchange.cpp and
// connection.cpp (transport), capture.cpp (checks, captures), jtl.cpp, run_plan.cpp (setup),
// aggregator.cpp.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crest/load/plan.hpp"
#include "crest/load/stats.hpp"

namespace crest::load {

// What the aggregator sees once a second (and once more at the end).
struct Progress {
  double elapsed_s = 0;
  double total_s = 0;
  int active_vus = 0;
  const MetricSet* totals = nullptr;
  const TimelinePoint* last = nullptr;
};

// --http-debug: requests and responses of the first iterations, printed to stderr.
enum class HttpDebug : std::uint8_t { off, headers, full };

struct RunOptions {
  int threads = 0;  // overrides the plan when > 0
  // One process of a run split over several (crest run --processes N): this process runs the
  // event loops shard_index*threads .. of shard_count*threads, so VU indexes, arrivals, VU
  // shares and feed rows are disjoint across processes and together make the whole plan.
  int shard_index = 0;
  int shard_count = 1;
  std::string jtl_path;     // one line per sample, JMeter 5 CSV columns
  bool jtl_append = false;  // add to jtl_path (after the setup's rows) instead of creating it
  HttpDebug http_debug = HttpDebug::off;
  int http_debug_iterations = 1;  // how many iterations of the run are printed
  // Every random function of the run (uuid(), randint(), pick(), random feeds, think time, journey
  // choice) draws from streams derived from this seed and the VU's global index: a run is
  // reproduced by its seed, and processes and shards draw distinct streams.
  std::uint64_t seed = 1;
  // The most values kept per `record: true` capture (each event loop keeps its share).
  std::size_t record_limit = kDefaultRecordLimit;
  // Called on the aggregating thread once a second and at the end (final = true).
  std::function<void(const Progress&, bool final)> on_tick;
  // Set to true from anywhere (signal handler, threshold abort) to stop the run.
  std::atomic<bool>* stop = nullptr;
  // Returns true when the run should abort now (abort-on-fail thresholds).
  std::function<bool(const MetricSet& totals, double elapsed_s)> should_abort;
};

struct RunResult {
  MetricSet totals;
  std::vector<TimelinePoint> timeline;
  double elapsed_s = 0;
  int threads = 0;
  int peak_vus = 0;
  int source_addresses = 1;
  bool aborted = false;
  std::string error;  // set when the run could not start (for example, name resolution)
  int processes = 1;  // crest run --processes: how many processes ran it (set by process_run)
  // crest run --coordinator: how many workers ran it, and those lost on the way (the result is
  // partial when any is, with --tolerate-lost-workers). Set by run_coordinator.
  int workers = 0;
  std::vector<std::string> lost_workers;
  std::uint64_t max_rss_kib = 0;  // peak RSS summed over those processes (set by crest run)
  std::uint64_t seed = 0;         // the run's random seed (RunOptions::seed)
  // Wall-clock start (Unix ms): places the timeline beside Prometheus data and event logs.
  std::int64_t start_unix_ms = 0;
  // Why it stopped: "completed", "interrupted" (stop_detail: the signal) or "abort_on_fail"
  // (stop_detail: the threshold). Set by crest run.
  std::string stop_reason = "completed";
  std::string stop_detail;
  // The first failure of some kinds on a step, explained once each (a capture that found nothing:
  // its expression and the response; a header value with CR/LF).
  std::vector<std::string> notes;
  // The values of the plan's `record: true` captures (by Plan::recorded), within
  // RunOptions::record_limit each.
  std::vector<RecordedValues> recorded;
  std::size_t record_limit = kDefaultRecordLimit;  // RunOptions::record_limit
};

// Runs the plan to completion. Never throws on the request path; returns the totals.
RunResult run_plan(const Plan& plan, const RunOptions& options);

}  // namespace crest::load
