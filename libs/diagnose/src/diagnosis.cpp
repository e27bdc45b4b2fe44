#include "crest/diagnose/diagnosis.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "crest/diagnose/parsers.hpp"
#include "diagnosis_rules.hpp"

namespace crest::diagnose {

using detail::is_slo;
using detail::Rules;
using detail::series_evidence;

namespace {

// A pod the platform took out on purpose (scaled in: draining, then stopped) stops answering its
// scrape: that is not an outage. Its `up` samples from then on are dropped.
void drop_scrapes_of_retired_pods(std::vector<Series>& series,
                                  const std::vector<ScalingEvent>& events) {
  std::map<std::string, double> retired;  // pod -> when it started draining or stopped
  for (const auto& e : events) {
    if (e.kind == "pod" && !e.subject.empty() &&
        (e.transition == "draining" || e.transition == "stopped")) {
      retired.emplace(e.subject, e.t);
    }
  }
  if (retired.empty()) {
    return;
  }
  for (auto& s : series) {
    const auto it = s.name == "up" ? retired.find(s.label("pod")) : retired.end();
    if (it == retired.end()) {
      continue;
    }
    std::size_t keep = 0;
    while (keep < s.t.size() && s.t[keep] < it->second) {
      ++keep;
    }
    s.t.resize(keep);
    s.v.resize(keep);
  }
}

}  // namespace

Diagnosis diagnose(Inputs in, const DiagnoseOptions& options) {
  Diagnosis d;
  d.scorer = options.scorer == Scorer::robust ? "robust (median/IQR)" : "nsigma (mean/stddev)";
  d.series = std::move(in.series);
  std::stable_sort(in.logs.begin(), in.logs.end(),
                   [](const LogEvent& a, const LogEvent& b) { return a.t < b.t; });
  for (auto&& extra : {log_rate_series(in.logs), slow_log_series(in.slow_queries),
                       scaling_series(in.scaling_events), db_load_series(in.digest_snapshots)}) {
    for (auto& s : extra) {
      d.series.push_back(s);
    }
  }
  drop_scrapes_of_retired_pods(d.series, in.scaling_events);
  aggregate_instances(d.series);
  add_derived_series(d.series);
  std::optional<AnomalyWindow> window;
  if (options.onset) {
    double end = 0;
    for (const auto& s : d.series) {
      if (!s.t.empty()) {
        end = std::max(end, s.t.back());
      }
    }
    window = AnomalyWindow{*options.onset, options.end.value_or(end), false, "--onset"};
  } else {
    window = merge_health_window(find_anomaly_window(d.series), find_health_window(d.series));
    if (!window) {
      window = change_point_window(d.series);
    }
    if (window && options.end) {
      window->end = *options.end;
    }
  }
  if (!window) {
    d.no_rule_fits = true;
    return d;
  }
  d.has_window = true;
  d.window = *window;
  d.db_tops = compute_db_tops(in.digest_snapshots, d.window.onset, d.window.end);
  ScoringOptions scoring;
  scoring.scorer = options.scorer;
  d.ranking = score_series(d.series, d.window, scoring);
  d.components = rank_components(d.ranking);
  Rules rules(d, in, options);
  rules.run();
  if (d.causes.empty()) {
    d.no_rule_fits = true;
    for (const auto& s : d.ranking) {
      if (d.top_evidence.size() >= 5) {
        break;
      }
      if (!is_slo(s)) {
        d.top_evidence.push_back(series_evidence(s));
      }
    }
  }
  return d;
}

}  // namespace crest::diagnose
