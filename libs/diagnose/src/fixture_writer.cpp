// A diagnosis' inputs, compacted into a replayable fixture: the series it ranked, as a Prometheus
// bundle that --prometheus-file reads back to the same ranking.
#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crest/diagnose/diagnosis.hpp"

namespace crest::diagnose {

namespace {

// Series that other inputs produce again on replay (the autoscaler log keeps its own file) or that
// the diagnosis derives from the series kept (the cache hit ratio).
bool derived_again_on_replay(const Series& s) {
  static const std::set<std::string> names = {"crest_autoscaler_desired_replicas",
                                              "crest_autoscaler_current_replicas",
                                              "crest_autoscaler_max_replicas",
                                              "crest_autoscaler_unmet_replicas",
                                              "crest_pod_pending_seconds",
                                              "crest_node_provisioning_seconds",
                                              "crest_cache_hit_ratio"};
  return names.count(s.name) > 0 || s.name.ends_with("_per_call") || s.name == kLbAddedSeries ||
         s.name == kLbRequestSeries;
}

// Rules look past the top of the ranking for these (replicas against max, a queue's consumption,
// the reads a cache miss sends to the database), so they are kept whatever their rank.
bool read_by_rules(const ScoredSeries& s) {
  switch (s.kind.signal) {
    case Signal::replicas_current:
    case Signal::replicas_max:
    case Signal::cache_up:
    case Signal::restarts:
      return true;
    case Signal::throughput:
      return s.kind.component.rfind("queue:", 0) == 0;
    case Signal::db_queries:
      return s.series->label("operation") == "read";
    default:
      return false;
  }
}

std::string number(double v, int digits) {
  if (v == 0) {
    return "0";
  }
  return fmt::format("{:.{}g}", v, digits);
}

}  // namespace

std::string compact_fixture_bundle(const Diagnosis& d, std::size_t keep_series) {
  std::set<const Series*> keep;
  std::set<std::pair<Signal, std::string>> looked_up;  // a rule takes the first in rank order
  std::size_t ranked = 0;
  for (const auto& s : d.ranking) {
    const bool slo = s.kind.signal == Signal::slo_latency || s.kind.signal == Signal::slo_errors ||
                     s.kind.component == "load";
    const bool cache = s.kind.signal == Signal::cache_hits ||
                       s.kind.signal == Signal::cache_misses ||
                       s.kind.signal == Signal::cache_errors;  // the hit ratio needs them all
    const bool lookup =
        cache || (read_by_rules(s) && looked_up.insert({s.kind.signal, s.kind.component}).second);
    if (slo || lookup || ranked < keep_series) {
      keep.insert(s.series);
    }
    if (!slo) {
      ++ranked;
    }
  }
  // A time spent kept needs its call counters: scoring reads it against its time per call.
  std::set<std::string> calls_wanted;
  for (const auto* s : keep) {
    if (s->name.ends_with("_seconds_sum")) calls_wanted.insert(calls_key_of(*s));
  }
  calls_wanted.erase("");
  for (const auto& s : d.series) {
    if (!s.name.ends_with("_seconds_sum") && calls_wanted.count(calls_key_of(s)) > 0) {
      keep.insert(&s);
    }
  }
  // The balancer's added time is derived again from its inputs (scoring.hpp), which the rule
  // quotes too.
  std::set<std::string> lb_services;
  for (const auto* s : keep) {
    if (s->name == kLbAddedSeries) lb_services.insert(s->label("service"));
  }
  for (const auto& s : d.series) {
    if (((s.name == "haproxy_backend_response_time_average_seconds" ||
          s.name == "haproxy_backend_http_responses_total") &&
         lb_services.count(s.label("proxy")) > 0) ||
        (s.name == kOwnMeanSeries && lb_services.count(s.label("service")) > 0)) {
      keep.insert(&s);
    }
  }
  nlohmann::json result = nlohmann::json::array();
  for (const auto& s : d.series) {  // input order, so a replay reads them in the same order
    if (keep.count(&s) == 0 || derived_again_on_replay(s) || s.t.empty()) {
      continue;
    }
    nlohmann::json metric = nlohmann::json::object();
    for (const auto& [k, v] : s.labels) {
      metric[k] = v;
    }
    metric["__name__"] = s.name;
    nlohmann::json values = nlohmann::json::array();
    const auto kind = classify(s);
    if (s.per_second) {
      // A rate summed over instances goes back to a counter (its running integral, from 0 one
      // step before the first sample) so that the replay's rate gives the same values.
      const double step = s.t.size() > 1 ? s.t[1] - s.t[0] : 1;
      double total = 0;
      values.push_back({std::round((s.t[0] - step) * 1000) / 1000, "0"});
      for (std::size_t i = 0; i < s.t.size(); ++i) {
        total += s.v[i] * (s.t[i] - (i == 0 ? s.t[0] - step : s.t[i - 1]));
        values.push_back({std::round(s.t[i] * 1000) / 1000, number(total, 9)});
      }
    } else {
      for (std::size_t i = 0; i < s.t.size(); ++i) {
        values.push_back({std::round(s.t[i] * 1000) / 1000, number(s.v[i], kind.counter ? 12 : 5)});
      }
    }
    result.push_back({{"metric", std::move(metric)}, {"values", std::move(values)}});
  }
  nlohmann::json bundle{
      {"queries",
       {{{"name", "fixture"},
         {"query", "the series a diagnosis ranked (crest diagnose --save-fixture)"},
         {"response",
          {{"status", "success"},
           {"data", {{"resultType", "matrix"}, {"result", std::move(result)}}}}}}}}};
  return bundle.dump();
}

}  // namespace crest::diagnose
