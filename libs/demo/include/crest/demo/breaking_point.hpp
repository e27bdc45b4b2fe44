#pragma once
// The breaking-point search: step the arrival rate until the SLO breaks. The rate a plan is
// configured with says nothing about capacity; the highest rate at which the SLO still held
// does, and the ratio of two profiles' breaking points is the capacity the strategy bought.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crest/core/error.hpp"

namespace crest::demo {

// What one constant-rate step measured.
struct StepMeasurement {
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  std::uint64_t iterations = 0;  // started
  std::uint64_t dropped = 0;     // arrivals that found no free virtual user
  double p99_ms = 0;
  double elapsed_s = 0;     // how long the step ran
  double cpu_seconds = -1;  // CPU the platform used meanwhile (Prometheus); < 0: not known
  std::string output;       // where the step's raw output is (a load JSON file), for the record
};

struct StepOutcome {
  double rate = 0;  // iterations per second
  StepMeasurement measured;
  bool held = false;
  std::string why;  // "p99 812 ms >= 500 ms", "errors 3.10 % >= 1 %", "" when it held
};

struct BreakingPointSearch {
  double start_rate = 2;  // iterations per second
  double growth = 1.5;    // each step's rate is the previous one times this
  int max_steps = 8;      // in total, refinement included
  int refine_steps = 1;   // bisections (geometric) between the last held and first broken rate
  double max_rate = 1e9;  // the search never asks for more (the load generator's own ceiling)
  double slo_p99_ms = 500;
  double slo_error_rate = 0.01;
  // Arrivals dropped for lack of virtual users mean the system did not keep up either.
  double max_dropped_ratio = 0.01;
};

struct BreakingPoint {
  std::vector<StepOutcome> steps;       // in the order they ran
  std::optional<double> highest_held;   // the breaking point: the highest rate that held
  std::optional<double> lowest_broken;  // the lowest rate that broke
  // The SLO never broke up to the last rate tried: highest_held is a lower bound.
  bool is_lower_bound() const { return highest_held && !lowest_broken; }
};

// Whether a step held the SLO; `why` says what broke when it did not.
bool step_held(const BreakingPointSearch& search, const StepMeasurement& m, std::string& why);

// Runs steps through `run_step` (one constant-arrival-rate run at the given rate): up by
// `growth` until a step breaks (or down, if the first one broke, until one holds), then
// `refine_steps` bisections. An error from `run_step` (interrupted, the target gone) stops the
// search and is returned.
using StepRunner = std::function<Result<StepMeasurement>(double rate)>;
Result<BreakingPoint> find_breaking_point(
    const BreakingPointSearch& search, const StepRunner& run_step,
    const std::function<void(const StepOutcome&)>& on_step = nullptr);

}  // namespace crest::demo
