#pragma once
// A chaos scenario: a load plan run against the local stack with faults at set times.
//
//   plan: ../plans/storefront.yaml   # relative to this file; optional (faults only)
//   duration: 2m                     # the load's duration (--duration of crest run); optional
//   faults:
//     - at: 30s
//       fault: cpu-hog
//       target: catalog
//       for: 20s
//       parameters: {workers: 2}
//
// Unknown keys, a missing fault or a bad duration are errors naming the file, line and key.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crest/chaos/stack_faults.hpp"
#include "crest/core/error.hpp"

namespace crest::chaos {

struct TimedFault {
  std::chrono::milliseconds at{0};
  FaultSpec spec;  // spec.duration: how long it lasts (0: until the scenario ends)
  int line = 0;    // in the scenario file, for messages
};

struct Scenario {
  std::string source;
  std::optional<std::filesystem::path> plan;  // resolved against the file's directory
  std::string duration;                       // passed to crest run as --duration
  std::vector<TimedFault> faults;             // sorted by `at`
};

Result<Scenario> parse_scenario(const std::string& yaml_text, const std::string& source);
Result<Scenario> load_scenario(const std::filesystem::path& file);

// One step of a running scenario, for tests: which faults start or end at `elapsed`.
struct ScenarioStep {
  std::size_t fault_index = 0;
  bool start = true;  // false: its end
  std::chrono::milliseconds at{0};
};
std::vector<ScenarioStep> scenario_timeline(const Scenario& scenario);

// `crest chaos scenario FILE`: starts `crest run PLAN --target <the stack's shop>` (this
// program, /proc/self/exe) in the background, applies and ends the faults on time, stops every
// fault it started when the load ends or on `interrupted`. Returns the exit status.
int run_scenario_command(const std::filesystem::path& file, const std::filesystem::path& run_dir,
                         const std::atomic<bool>& interrupted, std::ostream& out,
                         std::ostream& err);

}  // namespace crest::chaos
