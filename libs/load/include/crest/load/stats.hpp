#pragma once
// What a run measures. Each event loop records into its own MetricSet (one writer, no lock; it
// hands the set over once a second, src/engine_state.hpp); the aggregator merges them exactly into
// the run's totals and into one point of the per-second timeline.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crest/load/plan.hpp"
#include "crest/load/threshold.hpp"
#include "crest/metrics/latency_histogram.hpp"

namespace crest::load {

using metrics::LatencyHistogram;

enum class FailureKind : std::uint8_t {
  none,
  connect_refused,
  connect_error,
  timeout,
  reset,
  tls,
  protocol,
  http_status,
  check_failed,
  capture_failed,
  data_exhausted,
  invalid_request,  // the request could not be sent as rendered (CR/LF in a header value)
};
inline constexpr std::size_t kFailureKinds = 12;
const char* to_string(FailureKind kind);

struct StepStats {
  LatencyHistogram duration;  // corrected for coordinated omission: from the intended start
  LatencyHistogram service;   // from the actual send
  LatencyHistogram ttfb;      // send to first response byte
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  std::uint64_t connects = 0;
  std::uint64_t connect_us_sum = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::array<std::uint64_t, kFailureKinds> by_kind{};
  std::array<std::uint64_t, 6> by_status_class{};  // [0] no response, [1] 1xx .. [5] 5xx

  void merge(const StepStats& o);
  void reset();
  bool operator==(const StepStats&) const = default;
};

struct JourneyStats {
  LatencyHistogram iteration;  // iteration duration, think time included
  std::uint64_t iterations = 0;
  std::uint64_t failed = 0;  // iterations with at least one failed sample
  void merge(const JourneyStats& o);
  void reset();
  bool operator==(const JourneyStats&) const = default;
};

// Every sample and iteration of one scenario (the `scenario` tag), whatever its step or journey.
struct ScenarioStats {
  StepStats requests;
  JourneyStats iterations;
  std::uint64_t dropped = 0;
  std::array<std::uint64_t, 2> checks{};  // {passed, failed}
  void merge(const ScenarioStats& o);
  void reset();
  bool operator==(const ScenarioStats&) const = default;
};

struct MetricSet {
  std::vector<StepStats> steps;                      // by Plan::step_names
  std::vector<JourneyStats> journeys;                // by Plan::journeys
  std::vector<LatencyHistogram> groups;              // by Plan::groups
  std::vector<std::array<std::uint64_t, 2>> checks;  // by check id: {passed, failed}
  // By Plan::scenarios, and only for plans with several: a plan with one records each request
  // once, and its scenario's figures are filled from the plan-wide series when the load ends
  // (whole_run_as_scenario); until then this is empty.
  std::vector<ScenarioStats> scenarios;
  std::uint64_t dropped = 0;
  std::uint64_t interrupted = 0;  // iterations cut by the hard stop

  MetricSet() = default;
  MetricSet(std::size_t steps, std::size_t journeys, std::size_t groups, std::size_t checks,
            std::size_t scenarios = 0);
  static MetricSet for_plan(const Plan& plan);
  void merge(const MetricSet& o);
  void reset();

  std::uint64_t requests() const;
  std::uint64_t failures() const;
  std::uint64_t iterations() const;
  bool operator==(const MetricSet&) const = default;
};

// A one-scenario plan records no per-scenario series: its scenario's figures are the whole
// run's, filled in when the load ends (whole_run_as_scenario), so each request is recorded once.
// Plans with several scenarios record one series each; plans with none, none.
bool scenario_is_whole_run(const Plan& plan);

// The only scenario's figures of a one-scenario plan: every request, iteration, drop and check.
ScenarioStats whole_run_as_scenario(const MetricSet& totals);

// Each scenario's figures: the recorded ones, or (one scenario, load still running) the whole
// run's.
std::vector<ScenarioStats> scenario_totals(const Plan& plan, const MetricSet& totals);

// One second of the run.
struct TimelinePoint {
  double t = 0;           // seconds since start, end of the interval
  int active_vus = 0;     // busy: running an iteration
  int allocated_vus = 0;  // created so far (k6's vus_max): busy ones and idle ones
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  std::uint64_t dropped = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  LatencyHistogram duration;  // all steps
  std::vector<std::uint64_t> step_requests;
  std::vector<std::uint64_t> step_failures;
  std::vector<std::string> step_histograms;  // serialised corrected durations, per step
  bool operator==(const TimelinePoint&) const = default;
};

std::string format_ms(double ms);  // "12.34ms", "1.23s"

// The values a `record: true` capture took on passed requests (Plan::recorded), in the order
// each event loop saw them. At most `limit` are kept; the rest are only counted in not_kept.
struct RecordedValues {
  std::string step;
  std::string capture;
  std::vector<std::string> values;
  std::uint64_t not_kept = 0;
  bool operator==(const RecordedValues&) const = default;
};
inline constexpr std::size_t kDefaultRecordLimit = 1'000'000;

// Adds `from` to `into` entry by entry (matched by step and capture name; new ones appended),
// keeping at most `limit` values per entry and counting the others in not_kept.
void merge_recorded(std::vector<RecordedValues>& into, std::vector<RecordedValues>&& from,
                    std::size_t limit);
// One line per entry whose limit was reached: what was not kept, and why.
std::vector<std::string> recorded_notes(const std::vector<RecordedValues>& recorded,
                                        std::size_t limit);

}  // namespace crest::load
