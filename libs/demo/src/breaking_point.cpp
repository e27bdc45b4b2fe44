#include "crest/demo/breaking_point.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace crest::demo {

bool step_held(const BreakingPointSearch& search, const StepMeasurement& m, std::string& why) {
  why.clear();
  if (m.requests == 0) {
    why = "no request completed";
    return false;
  }
  const double error_rate = static_cast<double>(m.failures) / static_cast<double>(m.requests);
  const double arrivals = static_cast<double>(m.iterations + m.dropped);
  const double dropped_ratio = arrivals == 0 ? 0 : static_cast<double>(m.dropped) / arrivals;
  if (!(m.p99_ms < search.slo_p99_ms)) {
    why = fmt::format("p99 {:.0f} ms >= {:.0f} ms", m.p99_ms, search.slo_p99_ms);
  } else if (!(error_rate < search.slo_error_rate)) {
    why = fmt::format("errors {:.2f} % >= {:.2g} %", 100 * error_rate, 100 * search.slo_error_rate);
  } else if (dropped_ratio > search.max_dropped_ratio) {
    why = fmt::format("{:.1f} % of arrivals dropped (no free virtual user)", 100 * dropped_ratio);
  }
  return why.empty();
}

Result<BreakingPoint> find_breaking_point(const BreakingPointSearch& search,
                                          const StepRunner& run_step,
                                          const std::function<void(const StepOutcome&)>& on_step) {
  if (!(search.start_rate > 0) || !(search.growth > 1) || search.max_steps < 1) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("breaking-point search: start rate {} must be > 0, growth {} > 1 and "
                             "max steps {} >= 1",
                             search.start_rate, search.growth, search.max_steps)};
  }
  BreakingPoint result;
  auto run = [&](double rate) -> Result<bool> {
    auto measured = run_step(rate);
    if (!measured.ok()) return measured.error();
    StepOutcome outcome{rate, std::move(*measured), false, ""};
    outcome.held = step_held(search, outcome.measured, outcome.why);
    if (outcome.held) {
      result.highest_held = std::max(result.highest_held.value_or(0), rate);
    } else {
      result.lowest_broken = std::min(result.lowest_broken.value_or(rate), rate);
    }
    result.steps.push_back(outcome);
    if (on_step) on_step(result.steps.back());
    return outcome.held;
  };
  const int bracket_budget = std::max(1, search.max_steps - std::max(0, search.refine_steps));
  double rate = std::min(search.start_rate, search.max_rate);
  auto first = run(rate);
  if (!first.ok()) return first.error();
  const bool going_up = *first;
  for (int i = 1; i < bracket_budget; ++i) {
    if (going_up ? result.lowest_broken.has_value() : result.highest_held.has_value()) break;
    if (going_up && rate >= search.max_rate) break;
    rate = going_up ? std::min(rate * search.growth, search.max_rate) : rate / search.growth;
    auto step = run(rate);
    if (!step.ok()) return step.error();
  }
  for (int i = 0;
       i < search.refine_steps && static_cast<int>(result.steps.size()) < search.max_steps; ++i) {
    if (!result.highest_held || !result.lowest_broken) break;
    const double low = *result.highest_held, high = *result.lowest_broken;
    if (high / low < 1.08) break;  // close enough: another step would not change the story
    auto step = run(std::sqrt(low * high));
    if (!step.ok()) return step.error();
  }
  return result;
}

}  // namespace crest::demo
