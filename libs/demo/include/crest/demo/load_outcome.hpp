#pragma once
// What the demo reads back from a `crest run --out json=` file: totals, the accepted checkouts
// and, for any window of the run (a phase of the peak plan, a fault), the requests, failures and
// the exact p99 (the per-second step histograms merged).
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "crest/core/error.hpp"

namespace crest::demo {

struct WindowStats {
  std::uint64_t requests = 0;
  std::uint64_t failures = 0;
  std::uint64_t dropped = 0;
  double p99_ms = 0;
  double error_rate() const {
    return requests == 0 ? 0 : static_cast<double>(failures) / static_cast<double>(requests);
  }
};

// The values a `record: true` capture kept over a run (crest run's JSON "recorded" object).
struct RecordedList {
  std::vector<std::string> values;
  std::uint64_t not_kept = 0;  // values past the load engine's recording limit
};

class LoadOutcome {
 public:
  // An error naming the file when it is not a crest run JSON output.
  static Result<LoadOutcome> read(const std::string& path);
  static Result<LoadOutcome> from_json(const nlohmann::json& run, const std::string& origin);

  double start_unix_s() const { return start_unix_s_; }
  double elapsed_s() const { return elapsed_s_; }
  std::uint64_t requests() const { return requests_; }
  std::uint64_t failures() const { return failures_; }
  std::uint64_t iterations() const { return iterations_; }
  std::uint64_t dropped() const { return dropped_; }
  double p99_ms() const { return p99_ms_; }
  // Responses with a 2xx status to the step named `step` (checkouts the shop accepted).
  std::uint64_t step_2xx(const std::string& step) const;
  // The values `capture` of `step` recorded (`record: true`), or nullptr when the run recorded
  // none for it (an output older than `record`, or a plan without it).
  const RecordedList* recorded(const std::string& step, const std::string& capture) const;
  // Answers to `step` in (from_s, to_s] that passed its checks (requests - failures).
  std::uint64_t step_passed(const std::string& step, double from_s, double to_s) const;
  // Seconds of the timeline whose end lies in (from_s, to_s], seconds since the run started.
  WindowStats window(double from_s, double to_s) const;

 private:
  struct Second {
    double t = 0;
    std::uint64_t requests = 0, failures = 0, dropped = 0;
    std::vector<std::string> histograms;  // one per step, serialised
    nlohmann::json steps;                 // name -> {requests, failures}
  };
  double start_unix_s_ = 0, elapsed_s_ = 0, p99_ms_ = 0;
  std::uint64_t requests_ = 0, failures_ = 0, iterations_ = 0, dropped_ = 0;
  nlohmann::json steps_;
  std::vector<Second> timeline_;
  std::map<std::pair<std::string, std::string>, RecordedList> recorded_;
};

}  // namespace crest::demo
