#include "crest/load/stats.hpp"

#include <fmt/format.h>

#include <algorithm>

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

MetricSet::MetricSet(std::size_t n_steps, std::size_t n_journeys, std::size_t n_groups, std::size_t n_checks)
    : steps(n_steps), journeys(n_journeys), groups(n_groups), checks(n_checks) {}

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
  dropped = interrupted = 0;
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

namespace {

bool compare(double a, const std::string& op, double b) {
  if (op == "<") {
    return a < b;
  }
  if (op == "<=") {
    return a <= b;
  }
  if (op == ">") {
    return a > b;
  }
  if (op == ">=") {
    return a >= b;
  }
  if (op == "==") {
    return a == b;
  }
  return a != b;
}

double aggregate_ms(const LatencyHistogram& h, const Threshold::Condition& c) {
  if (c.aggregate == "p") {
    return static_cast<double>(h.percentile_us(c.percentile)) / 1000;
  }
  if (c.aggregate == "med") {
    return static_cast<double>(h.percentile_us(50)) / 1000;
  }
  if (c.aggregate == "avg") {
    return h.mean_us() / 1000;
  }
  if (c.aggregate == "min") {
    return static_cast<double>(h.min_us()) / 1000;
  }
  return static_cast<double>(h.max_us()) / 1000;
}

}  // namespace

std::vector<ThresholdResult> evaluate_thresholds(const Plan& plan, const MetricSet& totals,
                                                 double elapsed_seconds) {
  std::vector<ThresholdResult> results;
  const double elapsed = std::max(elapsed_seconds, 1e-9);
  for (const auto& t : plan.thresholds) {
    // Which steps, journeys and groups the tag selects.
    std::vector<std::size_t> steps;
    std::vector<std::size_t> journeys;
    for (std::size_t j = 0; j < plan.journeys.size(); ++j) {
      const auto& journey = plan.journeys[j];
      if (t.tag_key == "journey" && journey.name != t.tag_value) {
        continue;
      }
      journeys.push_back(j);
      for (const auto& step : journey.steps) {
        if (t.tag_key == "step" && step.name != t.tag_value) {
          continue;
        }
        if (t.tag_key == "group" && (step.group < 0 || plan.groups[static_cast<std::size_t>(step.group)].name != t.tag_value)) {
          continue;
        }
        const auto m = static_cast<std::size_t>(step.metric);
        if (std::find(steps.begin(), steps.end(), m) == steps.end()) {
          steps.push_back(m);
        }
      }
    }
    for (const auto& c : t.conditions) {
      ThresholdResult r{&t, &c, 0, true, ""};
      if (t.metric == "http_req_duration" || t.metric == "http_req_service_duration" ||
          t.metric == "iteration_duration" || t.metric == "group_duration") {
        LatencyHistogram h;
        if (t.metric == "iteration_duration") {
          for (auto j : journeys) {
            h.merge(totals.journeys[j].iteration);
          }
        } else if (t.metric == "group_duration") {
          for (std::size_t g = 0; g < plan.groups.size(); ++g) {
            if (plan.groups[g].name == t.tag_value) {
              h.merge(totals.groups[g]);
            }
          }
        } else {
          for (auto s : steps) {
            h.merge(t.metric == "http_req_duration" ? totals.steps[s].duration : totals.steps[s].service);
          }
        }
        r.measured = aggregate_ms(h, c);
        const std::string label = c.aggregate == "p" ? fmt::format("p({})", c.percentile) : c.aggregate;
        r.shown = label + "=" + format_ms(r.measured);
      } else if (t.metric == "http_req_failed" || t.metric == "http_reqs") {
        std::uint64_t n = 0;
        std::uint64_t failed = 0;
        for (auto s : steps) {
          n += totals.steps[s].requests;
          failed += totals.steps[s].failures;
        }
        if (t.metric == "http_req_failed") {
          r.measured = n == 0 ? 0 : static_cast<double>(failed) / static_cast<double>(n);
          r.shown = fmt::format("rate={:.2f}%", r.measured * 100);
        } else if (c.aggregate == "count") {
          r.measured = static_cast<double>(n);
          r.shown = fmt::format("count={}", n);
        } else {
          r.measured = static_cast<double>(n) / elapsed;
          r.shown = fmt::format("rate={:.2f}/s", r.measured);
        }
      } else if (t.metric == "checks") {
        std::uint64_t passed = 0;
        std::uint64_t failed = 0;
        for (std::size_t j : journeys) {
          for (const auto& step : plan.journeys[j].steps) {
            if (std::find(steps.begin(), steps.end(), static_cast<std::size_t>(step.metric)) == steps.end()) {
              continue;
            }
            for (const auto& check : step.checks) {
              passed += totals.checks[static_cast<std::size_t>(check.id)][0];
              failed += totals.checks[static_cast<std::size_t>(check.id)][1];
            }
          }
        }
        // Checks shared by name appear once per step using them: count each id once.
        if (t.tag_key.empty()) {
          passed = failed = 0;
          for (const auto& pf : totals.checks) {
            passed += pf[0];
            failed += pf[1];
          }
        }
        const auto all = passed + failed;
        r.measured = all == 0 ? 1 : static_cast<double>(passed) / static_cast<double>(all);
        r.shown = fmt::format("rate={:.2f}%", r.measured * 100);
      } else if (t.metric == "iterations") {
        std::uint64_t n = 0;
        for (auto j : journeys) {
          n += totals.journeys[j].iterations;
        }
        r.measured = c.aggregate == "count" ? static_cast<double>(n) : static_cast<double>(n) / elapsed;
        r.shown = c.aggregate == "count" ? fmt::format("count={}", n) : fmt::format("rate={:.2f}/s", r.measured);
      } else if (t.metric == "dropped_iterations") {
        r.measured = c.aggregate == "count" ? static_cast<double>(totals.dropped)
                                            : static_cast<double>(totals.dropped) / elapsed;
        r.shown = c.aggregate == "count" ? fmt::format("count={}", totals.dropped)
                                         : fmt::format("rate={:.2f}/s", r.measured);
      }
      r.passed = compare(r.measured, c.op, c.value);
      results.push_back(std::move(r));
    }
  }
  return results;
}

}  // namespace crest::load
