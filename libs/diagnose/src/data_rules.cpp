// Rules on the data stores: database load and digests, replicas, the cache.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "crest/diagnose/parsers.hpp"
#include "diagnosis_rules.hpp"

namespace crest::diagnose::detail {

namespace {

// The server's own chores and its monitoring (SHOW ..., performance_schema, information_schema)
// are not the application's SQL: never "the top statement".
bool monitoring_sql(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text.rfind("show ", 0) == 0 || text.find("performance_schema") != std::string::npos ||
         text.find("information_schema") != std::string::npos;
}

bool application_sql(const DigestLoad& d) {
  return !monitoring_sql(d.digest_text) && d.schema != "performance_schema";
}

}  // namespace

void Rules::database() {
  for (const auto* s : top({Signal::db_load, Signal::db_digest_load, Signal::db_slow_queries,
                            Signal::db_connections, Signal::db_rows_examined},
                           [](auto& x) { return x.increased; })) {
    const auto& component = s->kind.component;  // db:<server>
    if (has_cause(component)) {
      continue;
    }
    const std::string server = component.substr(3);
    double base = 0.6;
    std::string title = server + " DB";
    const auto* load = any(Signal::db_load, component);
    if (load != nullptr) {
      title += fmt::format(" load {} AAS (normal {})", num(load->window_median),
                           num(load->normal_centre));
    } else {
      title += " overloaded";
    }
    std::string mechanism = "db_saturation";
    std::vector<Evidence> evidence{series_evidence(*s)};
    if (load != nullptr && load != s) {
      evidence.push_back(series_evidence(*load));
    }
    // Top SQL from the digests over the window, else from the slow log; slow statements are
    // quoted as evidence either way.
    const DbTop* dbtop = nullptr;
    for (const auto& t : d_.db_tops) {
      if (t.server == server) {
        dbtop = &t;
      }
    }
    std::vector<const DigestLoad*> app;
    if (dbtop != nullptr) {
      for (const auto& dg : dbtop->digests) {
        if (application_sql(dg)) app.push_back(&dg);
      }
    }
    const bool have_digests = !app.empty();
    if (have_digests) {
      // The statement that ran with an index before the onset and without one since: an index
      // gone (dropped, or no longer chosen), however light its load on a small table.
      const DigestLoad* lost_index = nullptr;
      std::vector<DigestSnapshot> own;
      for (const auto& snap : in_.digest_snapshots) {
        if (snap.server == server) own.push_back(snap);
      }
      const DbTop before = compute_db_top(own, std::nullopt, d_.window.onset);
      for (const auto* dg : app) {
        if (!dg->no_index) continue;
        for (const auto& was : before.digests) {
          if (was.digest == dg->digest && !was.no_index && was.calls > 0) {
            lost_index = dg;
          }
        }
        if (lost_index != nullptr) break;
      }
      const auto& top_sql = lost_index != nullptr ? *lost_index : *app.front();
      title += fmt::format(", top SQL `{}`", top_sql.digest_text.substr(0, 120));
      if (lost_index != nullptr) {
        title += fmt::format(
            " (no index since the onset; it had one before: {} rows examined "
            "per row returned)",
            num(top_sql.rows_examined_per_row_returned));
        mechanism = "missing_index";
      } else if (top_sql.no_index) {
        title += " (no index)";
        if (top_sql.rows_examined_per_row_returned > 100) {
          mechanism = "missing_index";
        }
      }
      base += 0.2;
      if (lost_index != nullptr && lost_index != app.front()) app.insert(app.begin(), lost_index);
      for (std::size_t i = 0; i < app.size() && i < 3; ++i) {
        const auto& dg = *app[i];
        evidence.push_back(
            {"digest",
             fmt::format(
                 "{} AAS, {} calls/s, mean {} ms, {} rows examined per row returned, {}: {}",
                 num(dg.aas), num(dg.calls_per_s), num(dg.mean_latency_s * 1000),
                 num(dg.rows_examined_per_row_returned), dg.no_index ? "no index" : "index used",
                 dg.digest_text.substr(0, 200)),
             d_.window.onset, 0});
      }
    }
    struct SlowTotals {
      double time = 0, lock = 0, examined = 0, sent = 0;
      const SlowQuery* example = nullptr;
    };
    std::map<std::string, SlowTotals> by_sql;
    for (const auto& q : in_.slow_queries) {
      if (q.server == server && q.t >= d_.window.onset && q.t <= d_.window.end &&
          !monitoring_sql(q.normalized)) {
        auto& totals = by_sql[q.normalized];
        totals.time += q.query_time_s;
        totals.lock += q.lock_time_s;
        totals.examined += static_cast<double>(q.rows_examined);
        totals.sent += static_cast<double>(q.rows_sent);
        if (totals.example == nullptr || q.query_time_s > totals.example->query_time_s) {
          totals.example = &q;
        }
      }
    }
    const std::pair<const std::string, SlowTotals>* best = nullptr;
    for (const auto& entry : by_sql) {
      if (best == nullptr || entry.second.time > best->second.time) {
        best = &entry;
      }
    }
    if (best != nullptr) {
      const auto& totals = best->second;
      const double ratio = totals.examined / std::max(totals.sent, 1.0);
      if (!have_digests) {
        title += fmt::format(", top SQL `{}`", best->first.substr(0, 120));
        if (ratio > 100 && totals.lock <= 0.5 * totals.time) {
          title += fmt::format(" ({} rows examined per row sent)", num(ratio));
          mechanism = "missing_index";
        }
      }
      if (totals.lock > 0.5 * totals.time) {  // statements mostly waiting for a lock
        title += " (waiting on locks)";
        mechanism = "lock_contention";
      }
      base += 0.1;
      const auto* example = totals.example;
      evidence.push_back(
          {"slow_query",
           fmt::format("{}:{} {} Query_time {} s Lock_time {} s Rows_examined {} Rows_sent {}: {}",
                       example->source, example->line, clock_of(example->t),
                       num(example->query_time_s), num(example->lock_time_s),
                       example->rows_examined, example->rows_sent, example->sql.substr(0, 200)),
           example->t, 0});
    }
    const std::string remedy =
        mechanism == "missing_index"
            ? "add the index the top statement needs (EXPLAIN it); meanwhile serve "
              "those reads from replicas or the cache"
        : mechanism == "lock_contention" ? "find the session holding the lock (SHOW PROCESSLIST, "
                                           "performance_schema.data_locks) and "
                                           "shorten transactions"
                                         : "move reads to replicas and the cache, tune or index "
                                           "the top statements, or scale the instance";
    add(Cause{title, component, mechanism, confidence(base, s), remedy, std::move(evidence)});
  }
}

void Rules::replicas() {
  for (const auto* s : top({Signal::replica_lag, Signal::replica_running}, [](auto& x) {
         return x.kind.signal == Signal::replica_lag ? x.increased : !x.increased;
       })) {
    const auto& component = s->kind.component;
    const auto name = component.substr(3);
    // The router's view (crest_replica_usable) is not replication stopping: a lagging
    // replica is taken out of reads.
    const bool usable_view = s->series->name == "crest_replica_usable";
    const auto* lag =
        any(Signal::replica_lag, component, [](auto& x) { return x.increased && x.score >= 3; });
    if (s->kind.signal == Signal::replica_running && !(usable_view && lag != nullptr)) {
      add({usable_view ? fmt::format("{} removed from reads", name)
                       : fmt::format("{} down: replication stopped", name),
           component,
           "replica_down",
           confidence(0.85, s),
           "reads fall back to the primary and the other replicas; restart it and check its "
           "error log",
           {series_evidence(*s)}});
      continue;
    }
    if (lag == nullptr || has_cause(component, "replica_lag")) {
      continue;
    }
    const auto* removed = any(Signal::replica_running, component, [](auto& x) {
      return x.series->name == "crest_replica_usable" && !x.increased && x.score >= 3;
    });
    Cause c{fmt::format("{} lagging {} s{}", name, num(lag->peak),
                        removed ? ", removed from reads" : ""),
            component,
            "replica_lag",
            confidence(0.8, s),
            "keep lagging replicas out of reads (max lag bound), find the long transaction or the "
            "delay, add replica capacity",
            {series_evidence(*lag)}};
    if (removed != nullptr) {
      c.evidence.push_back(series_evidence(*removed));
    }
    add(std::move(c));
  }
}

void Rules::cache() {
  for (const auto* s : top({Signal::cache_errors, Signal::cache_up, Signal::cache_hit_ratio,
                            Signal::cache_misses, Signal::downstream_latency},
                           [](auto& x) {
                             if (x.kind.signal == Signal::downstream_latency) {
                               return x.kind.component == "cache" && x.increased;
                             }
                             return x.kind.signal == Signal::cache_errors ||
                                            x.kind.signal == Signal::cache_misses
                                        ? x.increased
                                        : !x.increased;
                           })) {
    if (has_cause("cache")) {
      return;
    }
    const bool down = s->kind.signal == Signal::cache_errors || s->kind.signal == Signal::cache_up;
    // Its callers' time in cache calls rose, each call slower (scoring lets time spent count
    // only as far as the time per call moved): the cache answers, slowly.
    const bool slow = s->kind.signal == Signal::downstream_latency;
    std::string title = down   ? "cache unavailable"
                        : slow ? "cache slow: its callers' time per call rose"
                               : "cache hit ratio fell";
    // The figures must say what the title says: typical value if it fell, else the lowest.
    if (const auto* ratio = any(Signal::cache_hit_ratio, ""); ratio && !down && !slow) {
      if (ratio->window_median < ratio->normal_centre) {
        title +=
            fmt::format(" from {} to {}", num(ratio->normal_centre), num(ratio->window_median));
      } else if (!ratio->increased && ratio->peak < ratio->normal_centre) {
        title += fmt::format(" from {} to {} at its lowest", num(ratio->normal_centre),
                             num(ratio->peak));
      } else {
        title = "cache misses rose";  // the ratio itself did not fall
      }
    }
    std::vector<Evidence> evidence{series_evidence(*s)};
    // Only reads that typically ran above their normal during the window: "x0.5" is no rise.
    if (const auto* reads = any(Signal::db_queries, "", [](auto& x) {
          return x.increased && x.series->label("operation") == "read" && x.normal_centre > 0 &&
                 x.window_median > x.normal_centre;
        })) {
      const double ratio = reads->window_median / reads->normal_centre;
      title += fmt::format("; {} read QPS x{}", reads->kind.component.substr(3),
                           ratio >= 3 ? num(std::round(ratio)) : fmt::format("{:.1f}", ratio));
      evidence.push_back(series_evidence(*reads));
    }
    add({title, "cache", down ? "cache_unavailable" : "cache_degraded", confidence(0.8, s),
         slow ? "find why the cache is slow (its CPU, memory and evictions, a slow command, "
                "persistence forks, the network); keep its command timeout short so callers fall "
                "back to the database instead of waiting"
              : "bring the cache back; it is an optimisation, so make sure the database can take "
                "the misses (replicas) and that stampedes on hot keys are collapsed",
         std::move(evidence)});
  }
}

}  // namespace crest::diagnose::detail
