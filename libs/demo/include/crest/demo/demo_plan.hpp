#pragma once
// The demo's variants and the plans it derives from the peak plan: the peak itself with its
// rates scaled to the machine and its durations to the variant, and the constant-rate plan the
// breaking-point search and the fault scenarios run (the same journeys, no thresholds).
#include <string>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/demo/breaking_point.hpp"

namespace crest::demo {

enum class DemoMode { test, quick, full };
const char* to_string(DemoMode mode);

struct DemoSettings {
  DemoMode mode = DemoMode::quick;
  int cores = 2;
  double rate_factor = 1;   // the peak plan's rates times this (cores / 2)
  double time_factor = 1;   // the peak plan's stage durations times this
  double step_seconds = 8;  // one breaking-point step
  BreakingPointSearch search;
  double quiet_seconds = 12;        // steady load before each fault: its diagnosis's normal
  double fault_seconds = 10;        // how long each fault lasts
  double recovery_seconds = 6;      // steady load after each fault is undone
  double steady_rate_share = 0.5;   // steady load for the faults: this share of the sustained rate
  std::vector<std::string> faults;  // the fault scenarios run, in order
};

// The settings of a variant on a machine with `cores` CPUs.
DemoSettings settings_for(DemoMode mode, int cores);

// Where each fault sits in the steady load, in seconds since it started: a quiet spell (no fault,
// the normal its diagnosis compares against), the fault, its recovery. Each fault's diagnosis
// window runs from its quiet spell to the end of its recovery, so it holds its own onset and no
// other fault's.
struct FaultSlot {
  double quiet_from_s = 0;  // the diagnosis window starts here
  double from_s = 0;        // the fault is applied
  double to_s = 0;          // the fault is undone
  double recovered_s = 0;   // its recovery ends; so does its diagnosis window
};
struct FaultTimeline {
  std::vector<FaultSlot> slots;
  double duration_s = 0;  // of the steady load
};
// The timeline of `fault_count` faults after `lead_s` of warm-up.
FaultTimeline fault_timeline(const DemoSettings& settings, std::size_t fault_count, double lead_s);

// Samples `crest diagnose` takes as an SLO series' normal: the first quarter of the window, at
// least this many (docs/diagnose.md, "Find the anomaly"). A quiet spell shorter than that would
// let the fault into its own normal.
constexpr double kDiagnosisNormalSamples = 10;

// One stage of the scaled peak, in seconds since the run started, with the phase it belongs to
// ("warm-up", "sustained", "spike", "recovery": from the stage's comment-free position).
struct PeakPhase {
  std::string name;
  double from_s = 0;
  double to_s = 0;
  double rate = 0;  // the target rate at its end
};

struct ScaledPlan {
  std::string yaml;               // the plan to write and run
  std::vector<PeakPhase> phases;  // sustained, spike, recovery windows
  double duration_s = 0;
  double sustained_rate = 0;
  double spike_rate = 0;
};

// Reads the peak plan (a ramping-arrival-rate plan whose stages rise to a sustained target, rise
// again to a spike and come back down), multiplies its rates by `rate_factor` and durations by
// `time_factor`, makes its data files absolute (the copy lives elsewhere) and names the phases.
// An error naming the file when the plan does not have that shape.
Result<ScaledPlan> scale_peak_plan(const std::string& plan_path, double rate_factor,
                                   double time_factor);

// Where a profile's breaking-point search starts: the highest rate among the peak's phases that
// held the SLO (the peak showed the platform holds there, so the steps go up from it), or when
// none held the lowest phase rate over the search's growth; `search.start_rate` when there are no
// phases; always within [1, search.max_rate]. Each pair is (phase rate, held).
double calibrated_start_rate(const BreakingPointSearch& search,
                             const std::vector<std::pair<double, bool>>& phases);

// The same journeys and data as a constant-arrival-rate plan (rate and duration are given to
// `crest run` with --rate and --duration) without thresholds.
Result<std::string> constant_rate_plan(const std::string& plan_path, int max_vus);

}  // namespace crest::demo
