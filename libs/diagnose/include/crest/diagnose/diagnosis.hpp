#pragma once
// A diagnosis: the anomaly window, the generic ranking of every candidate series, and the named
// causes that domain rules read off the top of that ranking, each with its evidence, a
// confidence and a remedy. Rules only name and explain; when none fits, the top evidence is
// reported as it is.
#include <optional>
#include <string>
#include <vector>

#include "crest/diagnose/db_top.hpp"
#include "crest/diagnose/scoring.hpp"
#include "crest/diagnose/series.hpp"

namespace crest::diagnose {

struct Evidence {
  std::string kind;  // series | log | slow_query | digest | scaling
  std::string text;
  double t = 0;
  double score = 0;  // series only
};

struct Cause {
  std::string title;      // "catalog CPU saturated and at max replicas (4)"
  std::string component;  // "catalog", "db:primary", "cache", "queue:orders", "dynamodb"
  std::string mechanism;  // cpu_saturation, missing_index, cache_unavailable, ...
  double confidence = 0;  // 0..1
  std::string remedy;
  std::vector<Evidence> evidence;
};

struct DiagnoseOptions {
  std::optional<double> onset;  // overrides detection
  std::optional<double> end;
  Scorer scorer = Scorer::robust;
  std::size_t rule_depth = 15;  // rules read this many top series
  double min_score = 3;         // ... with at least this score
  std::size_t ranking_rows = 20;
};

struct Diagnosis {
  bool has_window = false;
  AnomalyWindow window;
  std::string scorer;
  std::vector<Series> series;         // everything scored (inputs plus derived series)
  std::vector<ScoredSeries> ranking;  // points into `series`
  std::vector<ComponentScore> components;
  std::vector<Cause> causes;  // highest confidence first
  bool no_rule_fits = false;
  std::vector<Evidence> top_evidence;  // when no rule fits: the top series, as they are
  std::vector<DbTop> db_tops;          // over the window, from digest snapshots
};

// Builds the derived series (logs, slow log, digests, scaling events), finds the window, scores,
// ranks and applies the rules. `inputs` is consumed.
Diagnosis diagnose(Inputs inputs, const DiagnoseOptions& options = {});

// A compact fixture of what `d` read: every SLO series, the `keep_series` best-ranked others and
// the ones rules look up past the top, after per-instance series were combined, as a Prometheus
// bundle (--prometheus-file). Series that other inputs give again on replay (the autoscaler log)
// are left out. Replayed with the same other inputs, it ranks and names causes as `d` did.
std::string compact_fixture_bundle(const Diagnosis& d, std::size_t keep_series = 30);

std::string format_text(const Diagnosis& d);
std::string format_json(const Diagnosis& d);
std::string format_markdown(const Diagnosis& d);

}  // namespace crest::diagnose
