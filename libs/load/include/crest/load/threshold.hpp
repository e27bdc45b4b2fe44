#pragma once
// Thresholds: the pass/fail criteria of a run (`thresholds:` in a plan, docs/load.md). Parsed,
// checked against their metric and evaluated here, over the run's merged metrics.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/error.hpp"

namespace crest::load {

struct Plan;
struct MetricSet;

enum class ThresholdMetric : std::uint8_t {
  http_req_duration,
  http_req_service_duration,
  http_req_failed,
  http_reqs,
  checks,
  iteration_duration,
  iterations,
  group_duration,
  dropped_iterations,
};
const char* to_string(ThresholdMetric metric);
std::optional<ThresholdMetric> threshold_metric_from(std::string_view name);

struct Threshold {
  struct Condition {
    std::string text;       // as written, for the summary
    std::string aggregate;  // "p", "avg", "min", "max", "med", "rate", "count"
    double percentile = 0;
    std::string op;    // < <= > >= == !=
    double value = 0;  // durations in milliseconds
  };
  ThresholdMetric metric = ThresholdMetric::http_req_duration;
  std::string tag_key;
  std::string tag_value;
  std::string source;  // the key as written
  // The tag (not scenario, step, journey or group) is one scenarios set with `tags:`: it selects
  // those scenarios' samples rather than steps.
  bool scenario_tag = false;
  std::vector<Condition> conditions;
  bool abort_on_fail = false;
  // abort_on_fail is not evaluated before this much of the run has passed (k6's
  // delayAbortEval): warm-up failures do not abort.
  std::chrono::nanoseconds delay_abort_eval{};
};

// "http_req_duration{step:login}"
Result<Threshold> parse_threshold_key(std::string_view key);
// "p(99) < 500ms", "rate < 0.01", "count > 10"
Result<Threshold::Condition> parse_threshold_condition(std::string_view text);
// Whether the condition's aggregate suits the threshold's metric: an error message, or "".
std::string condition_mismatch(const Threshold& threshold, const Threshold::Condition& condition);

struct ThresholdResult {
  const Threshold* threshold = nullptr;
  const Threshold::Condition* condition = nullptr;
  double measured = 0;
  bool passed = true;
  std::string shown;  // "p(99)=123.40ms"
};

std::vector<ThresholdResult> evaluate_thresholds(const Plan& plan, const MetricSet& totals,
                                                 double elapsed_seconds);

}  // namespace crest::load
