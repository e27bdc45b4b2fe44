#include "crest/diagnose/scoring.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <string>

namespace crest::diagnose {

namespace {

// The least a mean time per call must move to count: about one loopback round trip to Redis
// (0.1-0.3 ms). At 1 ms, a cache that answered in 5 ms instead of 0.2 ms scored 5 and ranked
// below the replicas its timeouts sent reads to.
constexpr double kPerCallFloor = 3e-4;

double quantile_in_place(std::vector<double>& v, double q) {
  if (v.empty()) {
    return 0;
  }
  const double pos = q * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const auto hi = static_cast<std::size_t>(std::ceil(pos));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(lo), v.end());
  const double a = v[lo];
  if (hi == lo) {
    return a;
  }
  const double b = *std::min_element(v.begin() + static_cast<long>(lo) + 1, v.end());
  return a + (b - a) * (pos - static_cast<double>(lo));
}

// Absolute floor of a normal's spread, per kind of unit, so a flat normal (a constant replica
// count, an error counter at 0) gives a large but finite score. Counts of things (requests in
// flight, messages, replicas, servers) and rates of events move by whole units at random, so
// their floor is half a unit: one more request in flight than usual is not an incident.
double scale_floor(const SeriesKind& k, double centre) {
  double absolute = 1e-3;
  switch (k.signal) {
    case Signal::slo_errors:
    case Signal::cache_hit_ratio:
      absolute = 0.01;
      break;
    case Signal::slo_latency:
      absolute = k.component == "load" ? 1.0 : 1e-3;  // ms from the load run, else seconds
      break;
    case Signal::replica_lag:
    case Signal::queue_oldest_age:
      absolute = 0.5;
      break;
    case Signal::db_digest_load:
      // One statement's share of the database's time: a fiftieth of a session is noise on a
      // quiet server (hundreds of digests each wobble by a few milliseconds per second). Per
      // call, as for a client's time per call.
      absolute = k.per_call ? kPerCallFloor : 0.02;
      break;
    case Signal::db_rows_examined:
      // Rows per second: a small table's scan is a few hundred; per call, ten.
      absolute = k.per_call ? 10 : 100;
      break;
    case Signal::capacity_wait:
      // A pod takes a second or two to start even with room for it; a healthy node pool takes
      // some seconds to provision a node (10 s on the local stack): one that took that long
      // scores 2, one that took 15 s, 3.
      absolute = k.provides_capacity ? 5 : 2;
      break;
    case Signal::memory:
      // An idle instance's few MiB doubling when it takes its first requests is not a leak.
      absolute = 8 << 20;
      break;
    case Signal::cpu:
      absolute = 0.01;  // cores
      break;
    case Signal::in_flight:
    case Signal::queue_depth:
    case Signal::outbox_pending:
    case Signal::db_connections:
    case Signal::replicas_desired:
    case Signal::replicas_current:
    case Signal::replicas_max:
    case Signal::lb_active_servers:
    case Signal::cpu_throttling:
    case Signal::db_slow_queries:
    case Signal::db_queries:
    case Signal::cache_hits:
    case Signal::cache_misses:
    case Signal::cache_errors:
    case Signal::downstream_errors:
    case Signal::lb_errors:
    case Signal::throughput:
    case Signal::log_errors:
    case Signal::log_warnings:
      absolute = 0.5;
      break;
    case Signal::dynamodb_throttles:
    case Signal::queue_dead_letters:
      absolute = 0.1;  // rare events: a few a second is a lot
      break;
    case Signal::downstream_latency:
    case Signal::dynamodb_latency:
      // Seconds spent waiting per second, or a mean time per call.
      absolute = k.per_call ? kPerCallFloor : 0.01;
      break;
    case Signal::pool_wait:
      absolute = 0.01;  // seconds spent waiting per second
      break;
    case Signal::db_load:
      absolute = k.per_call ? kPerCallFloor : 0.5;  // sessions, or seconds per statement
      break;
    default:
      break;
  }
  return std::max(0.01 * std::abs(centre), absolute);
}

// The series a per-call companion moderates: a client's `X_seconds_per_call` checks its
// `X_seconds_sum`; the database's own figures from its digests check their load and rows read.
std::string spent_series_of(const std::string& per_call) {
  static const std::map<std::string, std::string> database{
      {"crest_db_seconds_per_call", "crest_db_aas"},
      {"crest_db_digest_seconds_per_call", "crest_db_digest_aas"},
      {"crest_db_digest_rows_per_call", "crest_db_digest_rows_examined"}};
  const auto it = database.find(per_call);
  if (it != database.end()) return it->second;
  return per_call.substr(0, per_call.size() - std::string_view("_per_call").size()) + "_sum";
}

struct Normal {
  double centre = 0;
  double scale = 0;
};

Normal robust_normal(std::vector<double> values, const SeriesKind& k) {
  const double median = quantile_in_place(values, 0.5);
  const double iqr = quantile_in_place(values, 0.75) - quantile_in_place(values, 0.25);
  return {median, std::max(iqr, scale_floor(k, median))};
}

Normal nsigma_normal(const std::vector<double>& values, const SeriesKind& k) {
  const double mean =
      std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  double ss = 0;
  for (double v : values) {
    ss += (v - mean) * (v - mean);
  }
  const double sd = std::sqrt(ss / static_cast<double>(values.size()));
  return {mean, std::max(sd, scale_floor(k, mean))};
}

bool is_log_rate(Signal s) {
  return s == Signal::log_errors || s == Signal::log_warnings;
}

// A score beyond this is "certainly anomalous"; past it, the component that left its normal
// first ranks first, the raw score breaking ties.
constexpr double kScoreCap = 50;
// A series this far from its normal dates its component's departure (noise among hundreds of
// digests reaches 10 or so; a table lock's running sessions reached 26).
constexpr double kClearlyAnomalous = 20;

}  // namespace

std::optional<AnomalyWindow> find_anomaly_window(const std::vector<Series>& series,
                                                 const WindowOptions& options) {
  std::optional<AnomalyWindow> best;
  double last_anomalous = 0;
  double data_end = 0;
  for (const auto& s : series) {
    const auto kind = classify(s);
    if (kind.signal != Signal::slo_latency && kind.signal != Signal::slo_errors) {
      continue;
    }
    const Series& values = s;
    const auto n = values.v.size();
    const auto reference =
        std::max(options.min_reference,
                 static_cast<std::size_t>(options.reference_fraction * static_cast<double>(n)));
    if (n < reference + static_cast<std::size_t>(options.consecutive)) {
      continue;
    }
    data_end = std::max(data_end, values.t.back());
    const auto normal = robust_normal(
        std::vector<double>(values.v.begin(), values.v.begin() + static_cast<long>(reference)),
        kind);
    int run = 0;
    std::optional<double> onset;
    double last = 0;
    for (std::size_t i = reference; i < n; ++i) {
      const bool high = (values.v[i] - normal.centre) / normal.scale > options.threshold;
      run = high ? run + 1 : 0;
      if (high) {
        last = values.t[i];
      }
      if (!onset && run >= options.consecutive) {
        onset = values.t[i + 1 - static_cast<std::size_t>(options.consecutive)];
      }
    }
    if (onset) {
      last_anomalous = std::max(last_anomalous, last);
      if (!best || *onset < best->onset) {
        best = AnomalyWindow{*onset, 0, true, s.display_name()};
      }
    }
  }
  if (best) {
    best->end = std::max(last_anomalous, best->onset);
    // A window that ends at its onset still needs samples: keep at least to the data's end if
    // the symptom is a single burst.
    if (best->end <= best->onset) {
      best->end = data_end;
    }
  }
  return best;
}

std::optional<AnomalyWindow> change_point_window(const std::vector<Series>& series) {
  std::vector<double> changes;
  double data_end = 0;
  for (const auto& raw : series) {
    const auto kind = classify(raw);
    if (kind.per_call) {
      continue;  // a companion that moderates another series' score, not a candidate itself
    }
    const Series s = kind.counter ? to_rate(raw) : raw;
    const auto n = s.v.size();
    if (n < 20) {
      continue;
    }
    data_end = std::max(data_end, s.t.back());
    std::vector<double> prefix(n + 1, 0), prefix2(n + 1, 0);
    for (std::size_t i = 0; i < n; ++i) {
      prefix[i + 1] = prefix[i] + s.v[i];
      prefix2[i + 1] = prefix2[i] + s.v[i] * s.v[i];
    }
    const double total_var =
        prefix2[n] / static_cast<double>(n) - std::pow(prefix[n] / static_cast<double>(n), 2);
    if (total_var <= 1e-12) {
      continue;
    }
    double best_gain = 0;
    std::size_t best_i = 0;
    for (std::size_t i = 5; i + 5 < n; ++i) {
      const double nl = static_cast<double>(i), nr = static_cast<double>(n - i);
      const double ml = prefix[i] / nl, mr = (prefix[n] - prefix[i]) / nr;
      const double gain = nl * nr / static_cast<double>(n) * (ml - mr) * (ml - mr);
      if (gain > best_gain) {
        best_gain = gain;
        best_i = i;
      }
    }
    // Only series whose split explains most of their variance say where the change is.
    if (best_i > 0 && best_gain / (total_var * static_cast<double>(n)) > 0.5) {
      changes.push_back(s.t[best_i]);
    }
  }
  if (changes.empty()) {
    return std::nullopt;
  }
  std::nth_element(changes.begin(), changes.begin() + static_cast<long>(changes.size() / 2),
                   changes.end());
  return AnomalyWindow{changes[changes.size() / 2], data_end, false,
                       "change point of the candidate series"};
}

std::optional<AnomalyWindow> find_health_window(const std::vector<Series>& series,
                                                const WindowOptions& options) {
  // Evidence after the last bad sample: what a restart or an outage left behind.
  constexpr double kAfter = 10;
  std::optional<AnomalyWindow> best;
  double last_bad = 0;
  double data_end = 0;
  for (const auto& s : series) {
    if (!s.t.empty()) {
      data_end = std::max(data_end, s.t.back());
    }
    const auto kind = classify(s);
    const bool down = kind.signal == Signal::target_up;
    if (!down && kind.signal != Signal::restarts) {
      continue;
    }
    const auto n = s.v.size();
    if (n <= options.min_reference) {
      continue;
    }
    // A target that was not answering through its normal is not news when it still is not.
    if (down) {
      std::vector<double> normal(s.v.begin(),
                                 s.v.begin() + static_cast<long>(options.min_reference));
      if (quantile_in_place(normal, 0.5) < 0.5) {
        continue;
      }
    }
    std::optional<double> onset;
    double last = 0;
    int run = 0;
    for (std::size_t i = options.min_reference; i < n; ++i) {
      bool bad = false;
      if (down) {
        run = s.v[i] < 0.5 ? run + 1 : 0;
        bad = run >= options.consecutive;
        if (bad && !onset) {
          onset = s.t[i + 1 - static_cast<std::size_t>(options.consecutive)];
        }
      } else {
        // A counter that rose (a reset is a new process, not a restart it counted), or a
        // per-second rate above zero.
        bad = kind.counter ? s.v[i] > s.v[i - 1] : s.v[i] > 0;
        if (bad && !onset) {
          onset = s.t[i];
        }
      }
      if (bad) {
        last = s.t[i];
      }
    }
    if (onset) {
      last_bad = std::max(last_bad, last);
      if (!best || *onset < best->onset) {
        best = AnomalyWindow{*onset, 0, true, s.display_name()};
      }
    }
  }
  if (best) {
    best->end = std::min(data_end, std::max(last_bad, best->onset) + kAfter);
  }
  return best;
}

std::optional<AnomalyWindow> merge_health_window(std::optional<AnomalyWindow> symptom,
                                                 const std::optional<AnomalyWindow>& health) {
  if (!health) {
    return symptom;
  }
  if (!symptom) {
    return health;
  }
  if (health->onset < symptom->onset && symptom->onset - health->onset <= kHealthLead) {
    symptom->trigger = health->trigger + ", " +
                       std::to_string(static_cast<int>(symptom->onset - health->onset)) +
                       " s before " + symptom->trigger;
    symptom->onset = health->onset;
    symptom->end = std::max(symptom->end, health->end);
  }
  return symptom;
}

std::vector<ScoredSeries> score_series(const std::vector<Series>& series,
                                       const AnomalyWindow& window, const ScoringOptions& options) {
  std::vector<ScoredSeries> out;
  out.reserve(series.size());
  std::vector<double> normal_values;
  for (const auto& raw : series) {
    ScoredSeries scored;
    scored.kind = classify(raw);
    if (scored.kind.skipped) {
      continue;
    }
    Series rate;
    const Series* s = &raw;
    if (scored.kind.counter) {
      rate = to_rate(raw);
      s = &rate;
    }
    normal_values.clear();
    std::size_t first_window = s->t.size();
    for (std::size_t i = 0; i < s->t.size(); ++i) {
      if (s->t[i] < window.onset) {
        normal_values.push_back(s->v[i]);
      } else {
        first_window = i;
        break;
      }
    }
    if (normal_values.size() < options.min_normal_samples || first_window == s->t.size()) {
      continue;
    }
    const auto normal = options.scorer == Scorer::robust
                            ? robust_normal(normal_values, scored.kind)
                            : nsigma_normal(normal_values, scored.kind);
    // Signals where only a fall is harm (a hit ratio, a target answering, servers in rotation):
    // a rise scores nothing.
    const bool only_falls =
        scored.kind.signal == Signal::cache_hit_ratio || scored.kind.signal == Signal::cache_up ||
        scored.kind.signal == Signal::target_up || scored.kind.signal == Signal::replica_running ||
        scored.kind.signal == Signal::lb_server_up ||
        scored.kind.signal == Signal::lb_active_servers;
    // One failed scrape is not an outage (alerts on `up` wait too): `up` counts as down only
    // when it is down in two samples in a row.
    const bool debounce = scored.kind.signal == Signal::target_up;
    std::vector<double> in_window;
    double best = -1;
    std::optional<double> first_anomalous;
    for (std::size_t i = first_window; i < s->t.size() && s->t[i] <= window.end; ++i) {
      double x = s->v[i];
      if (debounce && i + 1 < s->t.size()) {
        x = std::max(x, s->v[i + 1]);
      }
      const double z =
          (only_falls ? std::max(0.0, normal.centre - x) : std::abs(x - normal.centre)) /
          normal.scale;
      in_window.push_back(s->v[i]);
      if (z >= options.first_anomalous_threshold && !first_anomalous) {
        first_anomalous = s->t[i];
      }
      if (z > best) {
        best = z;
        scored.peak = s->v[i];
        scored.peak_t = s->t[i];
      }
    }
    if (in_window.empty()) {
      continue;
    }
    scored.series = &raw;
    scored.score = best;
    scored.normal_centre = normal.centre;
    scored.normal_scale = normal.scale;
    scored.increased = scored.peak >= normal.centre;
    scored.window_median = quantile_in_place(in_window, 0.5);
    scored.first_anomalous_t = first_anomalous.value_or(scored.peak_t);
    out.push_back(std::move(scored));
  }
  // Time spent on a dependency counts only as far as its time per call moved too (more calls
  // to a healthy dependency are its callers' doing); the per-call companions are only that check.
  std::map<std::string, double> per_call_score;
  for (const auto& s : out) {
    if (s.kind.per_call) {
      per_call_score[Series{spent_series_of(s.series->name), s.series->labels, {}, {}, {}}
                         .display_name()] = s.score;
    }
  }
  if (!per_call_score.empty()) {
    for (auto& s : out) {
      const auto it = per_call_score.find(s.series->display_name());
      if (it != per_call_score.end()) {
        s.score = std::min(s.score, it->second);
      }
    }
    // Time a caller measured on a database that served its statements no slower (the server's
    // own time per statement, from its digests, did not move) was spent in the caller: a
    // CPU-starved instance waits for its own CPU between sending a query and reading the answer.
    // It is the caller's evidence.
    std::map<std::string, double> server_per_call;
    for (const auto& s : out) {
      if (s.kind.per_call && s.series->name == "crest_db_seconds_per_call") {
        server_per_call[s.kind.component] = s.score;
      }
    }
    for (auto& s : out) {
      const auto server = server_per_call.find(s.kind.component);
      const auto caller = s.series->label("service");
      if (server != server_per_call.end() && server->second < 3 && !caller.empty() &&
          s.kind.signal == Signal::downstream_latency) {
        s.kind.component = caller;
      }
    }
    out.erase(std::remove_if(out.begin(), out.end(), [](const auto& s) { return s.kind.per_call; }),
              out.end());
  }
  // What a caller measures of a dependency says as much about the caller. A service starved of
  // CPU (its throttling anomalous from the start: no later than the calls' time) measures every
  // call slow, as its threads wait for the CPU to read the answers: its time on a dependency
  // counts against the dependency no more than its own throttling counts against it. And more
  // calls to a dependency (a call count labelled with the calling service) are the callers'
  // demand, not the dependency's anomaly: only a fall counts there (calls that stopped
  // succeeding).
  struct Starved {
    double score = 0;
    double since = 0;
  };
  std::map<std::string, Starved> throttled;
  for (const auto& s : out) {
    if (s.kind.signal == Signal::cpu_throttling && s.increased &&
        s.score >= options.first_anomalous_threshold) {
      auto [it, added] =
          throttled.try_emplace(s.kind.component, Starved{s.score, s.first_anomalous_t});
      it->second.score = std::max(it->second.score, s.score);
      it->second.since = std::min(it->second.since, s.first_anomalous_t);
    }
  }
  for (auto& s : out) {
    const std::string caller = s.series->label("service");
    if (caller.empty() || caller == s.kind.component) {
      continue;
    }
    const auto& c = s.kind.component;
    const bool dependency = c.rfind("db:", 0) == 0 || c == "dynamodb" || c == "sqs" || c == "cache";
    const bool measured =
        s.kind.signal == Signal::downstream_latency || s.kind.signal == Signal::dynamodb_latency;
    // A few seconds' grace: the throttling counter's rate and the caller's timings are scraped
    // from different targets, each a second or two apart.
    if (const auto it = throttled.find(caller);
        measured && it != throttled.end() && it->second.since <= s.first_anomalous_t + 3) {
      s.score = std::min(s.score, std::nextafter(it->second.score, 0.0));  // a tie: the caller
    }
    const bool calls = s.kind.signal == Signal::db_queries || s.kind.signal == Signal::throughput;
    if (dependency && calls && s.increased) {
      s.score = 0;
    }
  }
  // When a component left its normal: the first time any of its clearly anomalous series did
  // (a table lock shows in the server's running sessions at once, in its callers' time spent
  // only as the blocked statements complete). Symptoms and log lines do not count.
  std::map<std::string, double> component_left;
  for (const auto& s : out) {
    if (s.score < kClearlyAnomalous || is_log_rate(s.kind.signal) ||
        s.kind.signal == Signal::slo_latency || s.kind.signal == Signal::slo_errors) {
      continue;
    }
    auto [it, added] = component_left.emplace(s.kind.component, s.first_anomalous_t);
    if (!added) it->second = std::min(it->second, s.first_anomalous_t);
  }
  const auto left = [&](const ScoredSeries& s) {
    const auto it = component_left.find(s.kind.component);
    return it == component_left.end() ? s.first_anomalous_t
                                      : std::min(it->second, s.first_anomalous_t);
  };
  std::stable_sort(out.begin(), out.end(), [&](const ScoredSeries& a, const ScoredSeries& b) {
    const double ca = std::min(a.score, kScoreCap), cb = std::min(b.score, kScoreCap);
    if (ca != cb) {
      return ca > cb;
    }
    if (ca >= kScoreCap) {
      // A log-line rate says what a caller saw, not how the component itself is: measured
      // series go first among the certainly anomalous.
      const bool la = is_log_rate(a.kind.signal), lb = is_log_rate(b.kind.signal);
      if (la != lb) {
        return lb;
      }
      if (left(a) != left(b)) {
        return left(a) < left(b);
      }
    }
    return a.score > b.score;
  });
  // Capacity before those who waited for it: a component whose pods stayed pending while a node
  // took abnormally long to provision is that delay's symptom (its saturation is what the
  // missing pods would have relieved), however early it moved. The provider's wait goes just
  // before the first series of the first component that waited.
  const auto anomalous = [&](const ScoredSeries& s) {
    return s.kind.signal == Signal::capacity_wait && s.increased &&
           s.score >= options.first_anomalous_threshold;
  };
  std::set<std::string> waited;
  for (const auto& s : out) {
    if (anomalous(s) && !s.kind.provides_capacity) waited.insert(s.kind.component);
  }
  for (std::size_t j = 0; j < out.size() && !waited.empty(); ++j) {
    if (!anomalous(out[j]) || !out[j].kind.provides_capacity) continue;
    const auto first = std::find_if(out.begin(), out.begin() + static_cast<long>(j), [&](auto& s) {
      return s.kind.component != out[j].kind.component && waited.contains(s.kind.component);
    });
    std::rotate(first, out.begin() + static_cast<long>(j), out.begin() + static_cast<long>(j) + 1);
  }
  return out;
}

std::vector<ComponentScore> rank_components(const std::vector<ScoredSeries>& scored) {
  std::vector<ComponentScore> out;
  std::map<std::string, std::size_t> index;
  for (const auto& s : scored) {  // already in rank order: the first seen is the best
    if (s.kind.signal == Signal::slo_latency || s.kind.signal == Signal::slo_errors ||
        s.kind.component == "load") {
      continue;
    }
    if (index.count(s.kind.component) == 0) {
      index[s.kind.component] = out.size();
      out.push_back({s.kind.component, s.score, s.series->display_name()});
    }
  }
  return out;
}

}  // namespace crest::diagnose
