#include "crest/load/stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace crest::load {

const char* to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::none:
      return "none";
    case FailureKind::connect_refused:
      return "connect_refused";
    case FailureKind::connect_error:
      return "connect_error";
    case FailureKind::timeout:
      return "timeout";
    case FailureKind::reset:
      return "reset";
    case FailureKind::tls:
      return "tls";
    case FailureKind::protocol:
      return "protocol";
    case FailureKind::http_status:
      return "http_status";
    case FailureKind::check_failed:
      return "check_failed";
    case FailureKind::capture_failed:
      return "capture_failed";
    case FailureKind::data_exhausted:
      return "data_exhausted";
    case FailureKind::invalid_request:
      return "invalid_request";
  }
  return "?";
}

void StepStats::merge(const StepStats& o) {
  duration.merge(o.duration);
  service.merge(o.service);
  ttfb.merge(o.ttfb);
  requests += o.requests;
  failures += o.failures;
  connects += o.connects;
  connect_us_sum += o.connect_us_sum;
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  for (std::size_t i = 0; i < by_kind.size(); ++i) {
    by_kind[i] += o.by_kind[i];
  }
  for (std::size_t i = 0; i < by_status_class.size(); ++i) {
    by_status_class[i] += o.by_status_class[i];
  }
}

void StepStats::reset() {
  duration.reset();
  service.reset();
  ttfb.reset();
  requests = failures = connects = connect_us_sum = bytes_sent = bytes_received = 0;
  by_kind.fill(0);
  by_status_class.fill(0);
}

void JourneyStats::merge(const JourneyStats& o) {
  iteration.merge(o.iteration);
  iterations += o.iterations;
  failed += o.failed;
}

void JourneyStats::reset() {
  iteration.reset();
  iterations = failed = 0;
}

void ScenarioStats::merge(const ScenarioStats& o) {
  requests.merge(o.requests);
  iterations.merge(o.iterations);
  dropped += o.dropped;
  checks[0] += o.checks[0];
  checks[1] += o.checks[1];
}

void ScenarioStats::reset() {
  requests.reset();
  iterations.reset();
  dropped = 0;
  checks = {0, 0};
}

MetricSet::MetricSet(std::size_t n_steps, std::size_t n_journeys, std::size_t n_groups,
                     std::size_t n_checks, std::size_t n_scenarios)
    : steps(n_steps),
      journeys(n_journeys),
      groups(n_groups),
      checks(n_checks),
      scenarios(n_scenarios) {}

MetricSet MetricSet::for_plan(const Plan& plan) {
  return MetricSet(plan.step_names.size(), plan.journeys.size(), plan.groups.size(),
                   plan.check_names.size(),
                   scenario_is_whole_run(plan) ? 0 : plan.scenarios.size());
}

void MetricSet::merge(const MetricSet& o) {
  for (std::size_t i = 0; i < steps.size() && i < o.steps.size(); ++i) {
    steps[i].merge(o.steps[i]);
  }
  for (std::size_t i = 0; i < journeys.size() && i < o.journeys.size(); ++i) {
    journeys[i].merge(o.journeys[i]);
  }
  for (std::size_t i = 0; i < groups.size() && i < o.groups.size(); ++i) {
    groups[i].merge(o.groups[i]);
  }
  for (std::size_t i = 0; i < checks.size() && i < o.checks.size(); ++i) {
    checks[i][0] += o.checks[i][0];
    checks[i][1] += o.checks[i][1];
  }
  // A one-scenario plan's filled figures (whole_run_as_scenario) join an empty set.
  if (scenarios.empty() && !o.scenarios.empty()) {
    scenarios.resize(o.scenarios.size());
  }
  for (std::size_t i = 0; i < scenarios.size() && i < o.scenarios.size(); ++i) {
    scenarios[i].merge(o.scenarios[i]);
  }
  dropped += o.dropped;
  interrupted += o.interrupted;
}

void MetricSet::reset() {
  for (auto& s : steps) {
    s.reset();
  }
  for (auto& j : journeys) {
    j.reset();
  }
  for (auto& g : groups) {
    g.reset();
  }
  for (auto& c : checks) {
    c = {0, 0};
  }
  for (auto& sc : scenarios) {
    sc.reset();
  }
  dropped = interrupted = 0;
}

bool scenario_is_whole_run(const Plan& plan) {
  return plan.scenarios.size() == 1;
}

ScenarioStats whole_run_as_scenario(const MetricSet& totals) {
  ScenarioStats all;
  for (const auto& step : totals.steps) {
    all.requests.merge(step);
  }
  for (const auto& journey : totals.journeys) {
    all.iterations.merge(journey);
  }
  for (const auto& check : totals.checks) {
    all.checks[0] += check[0];
    all.checks[1] += check[1];
  }
  all.dropped = totals.dropped;
  return all;
}

std::vector<ScenarioStats> scenario_totals(const Plan& plan, const MetricSet& totals) {
  if (totals.scenarios.empty() && scenario_is_whole_run(plan)) {
    return {whole_run_as_scenario(totals)};
  }
  return totals.scenarios;
}

std::uint64_t MetricSet::requests() const {
  std::uint64_t n = 0;
  for (const auto& s : steps) {
    n += s.requests;
  }
  return n;
}

std::uint64_t MetricSet::failures() const {
  std::uint64_t n = 0;
  for (const auto& s : steps) {
    n += s.failures;
  }
  return n;
}

std::uint64_t MetricSet::iterations() const {
  std::uint64_t n = 0;
  for (const auto& j : journeys) {
    n += j.iterations;
  }
  return n;
}

std::string format_ms(double ms) {
  if (ms >= 1000) {
    return fmt::format("{:.2f}s", ms / 1000);
  }
  if (ms < 1) {
    return fmt::format("{:.0f}µs", ms * 1000);
  }
  return fmt::format("{:.2f}ms", ms);
}

void merge_recorded(std::vector<RecordedValues>& into, std::vector<RecordedValues>&& from,
                    std::size_t limit) {
  for (auto& entry : from) {
    auto it = std::find_if(into.begin(), into.end(), [&](const RecordedValues& r) {
      return r.step == entry.step && r.capture == entry.capture;
    });
    if (it == into.end()) {
      into.push_back({entry.step, entry.capture, {}, 0});
      it = into.end() - 1;
    }
    const auto room = limit > it->values.size() ? limit - it->values.size() : 0;
    const auto taken = std::min(room, entry.values.size());
    it->not_kept += entry.not_kept + (entry.values.size() - taken);
    if (it->values.empty() && taken == entry.values.size()) {
      it->values = std::move(entry.values);
    } else {
      it->values.insert(
          it->values.end(), std::make_move_iterator(entry.values.begin()),
          std::make_move_iterator(entry.values.begin() + static_cast<std::ptrdiff_t>(taken)));
    }
  }
}

std::vector<std::string> recorded_notes(const std::vector<RecordedValues>& recorded,
                                        std::size_t limit) {
  std::vector<std::string> notes;
  for (const auto& r : recorded) {
    if (r.not_kept > 0) {
      notes.push_back(fmt::format(
          "step '{}': capture '{}' recorded {} values, then reached its limit of {}: {} more "
          "were not kept (the list in the JSON output is incomplete)",
          r.step, r.capture, r.values.size(), limit, r.not_kept));
    }
  }
  return notes;
}

}  // namespace crest::load
