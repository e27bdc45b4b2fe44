#pragma once
// The demo's verdict, computed from its raw outputs only (load JSON files, order counts from the
// database, diagnoses): SLOs per phase of the peak, breaking points and the capacity ratio,
// faults survived, orders lost. One JSON shape serves the terminal, the report and the test.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crest/demo/breaking_point.hpp"
#include "crest/demo/load_outcome.hpp"
#include "crest/demo/order_audit.hpp"

namespace crest::demo {

struct PhaseVerdict {
  std::string phase;  // sustained, spike, recovery
  WindowStats stats;
  bool held = false;
};

struct ProfileVerdict {
  std::string profile;  // baseline, scaled
  std::vector<PhaseVerdict> phases;
  std::optional<BreakingPoint> breaking_point;
  OrderAudit orders;
  std::string diagnosis;  // the top cause's title, or what the diagnosis said
};

struct FaultVerdict {
  std::string fault;
  std::string target;
  double from_s = 0;  // seconds since the steady load started
  double to_s = 0;
  double recovered_s = 0;       // the end of its recovery (its errors are counted up to here)
  double diagnosis_from_s = 0;  // the diagnosis's window: its quiet spell to its recovery's end
  double diagnosis_to_s = 0;
  WindowStats during;
  OrderCounts orders;          // orders created during the fault, as they ended
  std::uint64_t accepted = 0;  // checkouts answered 2xx during it (from the load timeline)
  std::string diagnosis;
  bool applied = true;  // false: the fault could not be started (then it proves nothing)
  std::string error;    // why not
  // Errors within the budget (the SLO's error rate, over the fault and its recovery) and no
  // order left pending.
  bool survived(double error_budget) const {
    return applied && during.error_rate() < error_budget && orders.pending == 0;
  }
};

// The capacity the strategy bought: scaled's breaking point over baseline's, stated only as far as
// the searches measured it. Two breaking points give a ratio; when scaled's is a lower bound (it
// held at the highest rate tried) or baseline's an upper one (it broke at the lowest), the ratio
// is "at least"; when baseline's is a lower bound, or scaled never held, there is no comparison.
struct CapacityComparison {
  enum class Kind { ratio, at_least, not_measured };
  Kind kind = Kind::not_measured;
  double value = 0;  // scaled / baseline, or its lower bound
  std::string
      text;  // "x3.10 the baseline's", ">= x3.10 the baseline's (...)", "not measured (...)"
};
CapacityComparison compare_capacity(const std::optional<BreakingPoint>& baseline,
                                    const std::optional<BreakingPoint>& scaled);

// The platform's CPU at a profile's breaking point (its highest step that held), when known.
struct StepEfficiency {
  double rate = 0;
  double cpu_cores = 0;                // CPU-seconds per second of the step
  double journeys_per_cpu_second = 0;  // iterations started / CPU-seconds
};
std::optional<StepEfficiency> efficiency_at_breaking_point(const BreakingPoint& bp);

struct Verdict {
  double slo_p99_ms = 500;
  double slo_error_rate = 0.01;
  std::vector<ProfileVerdict> profiles;
  std::vector<FaultVerdict> faults;
  bool faults_run = false;
  std::string faults_note;  // why faults did not run, when they did not

  // scaled / baseline breaking point when both are points (nullopt otherwise).
  std::optional<double> capacity_ratio() const;
  CapacityComparison capacity() const;
  std::uint64_t orders_lost() const;
  bool slo_held(const std::string& profile, const std::string& phase) const;
  nlohmann::json to_json() const;
  std::string to_text() const;  // the terminal's table
};

// The SLO verdict of each phase window of a peak run.
std::vector<PhaseVerdict> phase_verdicts(
    const LoadOutcome& run,
    const std::vector<std::pair<std::string, std::pair<double, double>>>& windows,
    double slo_p99_ms, double slo_error_rate);

}  // namespace crest::demo
