#include "crest/load/threshold.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>

#include "crest/load/plan.hpp"
#include "crest/load/stats.hpp"

namespace crest::load {
namespace {

Error invalid(std::string message) {
  return Error{ErrorKind::invalid_argument, std::move(message)};
}

constexpr std::array<const char*, 9> kMetricNames = {"http_req_duration",
                                                     "http_req_service_duration",
                                                     "http_req_failed",
                                                     "http_reqs",
                                                     "checks",
                                                     "iteration_duration",
                                                     "iterations",
                                                     "group_duration",
                                                     "dropped_iterations"};

bool is_duration_metric(ThresholdMetric metric) {
  return metric == ThresholdMetric::http_req_duration ||
         metric == ThresholdMetric::http_req_service_duration ||
         metric == ThresholdMetric::iteration_duration || metric == ThresholdMetric::group_duration;
}

}  // namespace

const char* to_string(ThresholdMetric metric) {
  return kMetricNames[static_cast<std::size_t>(metric)];
}

std::optional<ThresholdMetric> threshold_metric_from(std::string_view name) {
  for (std::size_t i = 0; i < kMetricNames.size(); ++i) {
    if (name == kMetricNames[i]) {
      return static_cast<ThresholdMetric>(i);
    }
  }
  return std::nullopt;
}

Result<Threshold> parse_threshold_key(std::string_view key) {
  Threshold t;
  t.source = std::string(key);
  const auto brace = key.find('{');
  const auto metric = threshold_metric_from(key.substr(0, brace));
  if (!metric) {
    return invalid("unknown threshold metric '" + std::string(key.substr(0, brace)) +
                   "' (expected http_req_duration, http_req_service_duration, http_req_failed, "
                   "http_reqs, checks, iteration_duration, iterations, group_duration or "
                   "dropped_iterations)");
  }
  t.metric = *metric;
  if (brace != std::string_view::npos) {
    if (key.back() != '}') {
      return invalid("expected '}' at the end of threshold '" + std::string(key) + "'");
    }
    const auto tag = key.substr(brace + 1, key.size() - brace - 2);
    const auto colon = tag.find(':');
    if (colon == std::string_view::npos) {
      return invalid("expected {tag:value} in threshold '" + std::string(key) + "'");
    }
    t.tag_key = std::string(tag.substr(0, colon));
    t.tag_value = std::string(tag.substr(colon + 1));
    if (t.tag_key.empty() || t.tag_value.empty()) {
      return invalid("expected {tag:value} in threshold '" + std::string(key) +
                     "' (tags: step, journey, group, or one a step sets with tags:)");
    }
  }
  if (t.metric == ThresholdMetric::group_duration && t.tag_key != "group") {
    return invalid("group_duration thresholds need a {group:name} tag");
  }
  return t;
}

Result<Threshold::Condition> parse_threshold_condition(std::string_view text) {
  Threshold::Condition c;
  c.text = std::string(text);
  std::string s;
  for (char ch : text) {
    if (ch != ' ') {
      s.push_back(ch);
    }
  }
  std::size_t op_pos = s.find_first_of("<>=!");
  if (op_pos == std::string::npos) {
    return invalid("expected a condition such as 'p(99) < 500ms' or 'rate < 0.01', got '" + c.text +
                   "'");
  }
  const std::string agg = s.substr(0, op_pos);
  std::size_t op_len = (op_pos + 1 < s.size() && s[op_pos + 1] == '=') ? 2 : 1;
  c.op = s.substr(op_pos, op_len);
  if (c.op == "=" || c.op == "!") {
    return invalid("expected an operator <, <=, >, >=, == or != in '" + c.text + "'");
  }
  if (agg.size() > 3 && agg.substr(0, 2) == "p(" && agg.back() == ')') {
    c.aggregate = "p";
    const auto num = agg.substr(2, agg.size() - 3);
    auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), c.percentile);
    if (ec != std::errc() || ptr != num.data() + num.size() || c.percentile < 0 ||
        c.percentile > 100) {
      return invalid("expected a percentile between 0 and 100 in '" + c.text + "'");
    }
  } else if (agg == "avg" || agg == "min" || agg == "max" || agg == "med" || agg == "rate" ||
             agg == "count") {
    c.aggregate = agg;
  } else {
    return invalid("unknown aggregate '" + agg + "' in '" + c.text +
                   "' (expected p(N), avg, min, max, med, rate or count)");
  }
  const std::string value = s.substr(op_pos + op_len);
  if (c.aggregate == "rate" || c.aggregate == "count") {
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), c.value);
    if (ec != std::errc() || ptr != value.data() + value.size()) {
      return invalid("expected a number after the operator in '" + c.text + "'");
    }
  } else {
    auto d = parse_duration(value, true);
    if (!d.ok()) {
      return invalid("expected a duration (as 500ms) after the operator in '" + c.text + "'");
    }
    c.value = static_cast<double>(d->count()) / 1e6;
  }
  return c;
}

std::string condition_mismatch(const Threshold& threshold, const Threshold::Condition& condition) {
  const std::string name = to_string(threshold.metric);
  const auto& aggregate = condition.aggregate;
  switch (threshold.metric) {
    case ThresholdMetric::http_req_duration:
    case ThresholdMetric::http_req_service_duration:
    case ThresholdMetric::iteration_duration:
    case ThresholdMetric::group_duration:
      if (aggregate == "rate" || aggregate == "count") {
        return name + " takes p(N), avg, min, max or med, not " + aggregate;
      }
      break;
    case ThresholdMetric::http_req_failed:
    case ThresholdMetric::checks:
      if (aggregate != "rate") {
        return name + " takes 'rate', as rate < 0.01";
      }
      break;
    case ThresholdMetric::http_reqs:
    case ThresholdMetric::iterations:
    case ThresholdMetric::dropped_iterations:
      if (aggregate != "count" && aggregate != "rate") {
        return name + " takes 'count' or 'rate' (per second)";
      }
      break;
  }
  return {};
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

std::string aggregate_label(const Threshold::Condition& c) {
  return c.aggregate == "p" ? fmt::format("p({})", c.percentile) : c.aggregate;
}

std::string count_or_rate(const Threshold::Condition& c, std::uint64_t n, double elapsed,
                          double& measured) {
  measured = c.aggregate == "count" ? static_cast<double>(n) : static_cast<double>(n) / elapsed;
  return c.aggregate == "count" ? fmt::format("count={}", n)
                                : fmt::format("rate={:.2f}/s", measured);
}

// A threshold on the samples of some scenarios ({scenario:NAME}, or a tag scenarios set).
ThresholdResult evaluate_on_scenarios(const Threshold& t, const Threshold::Condition& c,
                                      const std::vector<const ScenarioStats*>& selected,
                                      double elapsed) {
  ThresholdResult r{&t, &c, 0, true, ""};
  StepStats requests;
  JourneyStats iterations;
  std::uint64_t dropped = 0;
  std::uint64_t passed = 0;
  std::uint64_t failed = 0;
  for (const auto* scenario : selected) {
    requests.merge(scenario->requests);
    iterations.merge(scenario->iterations);
    dropped += scenario->dropped;
    passed += scenario->checks[0];
    failed += scenario->checks[1];
  }
  switch (t.metric) {
    case ThresholdMetric::http_req_duration:
    case ThresholdMetric::http_req_service_duration:
    case ThresholdMetric::iteration_duration:
    case ThresholdMetric::group_duration: {
      const auto& h = t.metric == ThresholdMetric::http_req_duration ? requests.duration
                      : t.metric == ThresholdMetric::http_req_service_duration
                          ? requests.service
                          : iterations.iteration;
      r.measured = aggregate_ms(h, c);
      r.shown = aggregate_label(c) + "=" + format_ms(r.measured);
      break;
    }
    case ThresholdMetric::http_req_failed:
      r.measured = requests.requests == 0 ? 0
                                          : static_cast<double>(requests.failures) /
                                                static_cast<double>(requests.requests);
      r.shown = fmt::format("rate={:.2f}%", r.measured * 100);
      break;
    case ThresholdMetric::http_reqs:
      r.shown = count_or_rate(c, requests.requests, elapsed, r.measured);
      break;
    case ThresholdMetric::checks: {
      const auto all = passed + failed;
      r.measured = all == 0 ? 1 : static_cast<double>(passed) / static_cast<double>(all);
      r.shown = fmt::format("rate={:.2f}%", r.measured * 100);
      break;
    }
    case ThresholdMetric::iterations:
      r.shown = count_or_rate(c, iterations.iterations, elapsed, r.measured);
      break;
    case ThresholdMetric::dropped_iterations:
      r.shown = count_or_rate(c, dropped, elapsed, r.measured);
      break;
  }
  r.passed = compare(r.measured, c.op, c.value);
  return r;
}

}  // namespace

std::vector<ThresholdResult> evaluate_thresholds(const Plan& plan, const MetricSet& totals,
                                                 double elapsed_seconds) {
  std::vector<ThresholdResult> results;
  const double elapsed = std::max(elapsed_seconds, 1e-9);
  std::optional<std::vector<ScenarioStats>> per_scenario;  // computed once, if any threshold asks
  for (const auto& t : plan.thresholds) {
    if (t.tag_key == "scenario" || t.scenario_tag) {
      if (!per_scenario) {
        per_scenario = scenario_totals(plan, totals);
      }
      std::vector<const ScenarioStats*> selected;
      for (std::size_t i = 0; i < plan.scenarios.size() && i < per_scenario->size(); ++i) {
        const auto& tags = plan.scenarios[i].tags;
        if (t.tag_key == "scenario" ? plan.scenarios[i].name == t.tag_value
                                    : std::any_of(tags.begin(), tags.end(), [&](const auto& tag) {
                                        return tag.first == t.tag_key && tag.second == t.tag_value;
                                      })) {
          selected.push_back(&(*per_scenario)[i]);
        }
      }
      for (const auto& c : t.conditions) {
        results.push_back(evaluate_on_scenarios(t, c, selected, elapsed));
      }
      continue;
    }
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
        if (t.tag_key == "group" &&
            std::none_of(step.groups.begin(), step.groups.end(), [&](int g) {
              return plan.groups[static_cast<std::size_t>(g)].name == t.tag_value;
            })) {
          continue;
        }
        if (!t.tag_key.empty() && t.tag_key != "step" && t.tag_key != "journey" &&
            t.tag_key != "group" &&
            std::none_of(step.tags.begin(), step.tags.end(), [&](const auto& tag) {
              return tag.first == t.tag_key && tag.second == t.tag_value;
            })) {
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
      if (is_duration_metric(t.metric)) {
        LatencyHistogram h;
        if (t.metric == ThresholdMetric::iteration_duration) {
          for (auto j : journeys) {
            h.merge(totals.journeys[j].iteration);
          }
        } else if (t.metric == ThresholdMetric::group_duration) {
          for (std::size_t g = 0; g < plan.groups.size(); ++g) {
            if (plan.groups[g].name == t.tag_value) {
              h.merge(totals.groups[g]);
            }
          }
        } else {
          for (auto s : steps) {
            h.merge(t.metric == ThresholdMetric::http_req_duration ? totals.steps[s].duration
                                                                   : totals.steps[s].service);
          }
        }
        r.measured = aggregate_ms(h, c);
        const std::string label =
            c.aggregate == "p" ? fmt::format("p({})", c.percentile) : c.aggregate;
        r.shown = label + "=" + format_ms(r.measured);
      } else if (t.metric == ThresholdMetric::http_req_failed ||
                 t.metric == ThresholdMetric::http_reqs) {
        std::uint64_t n = 0;
        std::uint64_t failed = 0;
        for (auto s : steps) {
          n += totals.steps[s].requests;
          failed += totals.steps[s].failures;
        }
        if (t.metric == ThresholdMetric::http_req_failed) {
          r.measured = n == 0 ? 0 : static_cast<double>(failed) / static_cast<double>(n);
          r.shown = fmt::format("rate={:.2f}%", r.measured * 100);
        } else if (c.aggregate == "count") {
          r.measured = static_cast<double>(n);
          r.shown = fmt::format("count={}", n);
        } else {
          r.measured = static_cast<double>(n) / elapsed;
          r.shown = fmt::format("rate={:.2f}/s", r.measured);
        }
      } else if (t.metric == ThresholdMetric::checks) {
        std::uint64_t passed = 0;
        std::uint64_t failed = 0;
        for (std::size_t j : journeys) {
          for (const auto& step : plan.journeys[j].steps) {
            if (std::find(steps.begin(), steps.end(), static_cast<std::size_t>(step.metric)) ==
                steps.end()) {
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
      } else if (t.metric == ThresholdMetric::iterations) {
        std::uint64_t n = 0;
        for (auto j : journeys) {
          n += totals.journeys[j].iterations;
        }
        r.measured =
            c.aggregate == "count" ? static_cast<double>(n) : static_cast<double>(n) / elapsed;
        r.shown = c.aggregate == "count" ? fmt::format("count={}", n)
                                         : fmt::format("rate={:.2f}/s", r.measured);
      } else if (t.metric == ThresholdMetric::dropped_iterations) {
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
