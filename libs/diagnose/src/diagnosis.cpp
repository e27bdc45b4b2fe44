#include "crest/diagnose/diagnosis.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "crest/diagnose/parsers.hpp"

namespace crest::diagnose {

namespace {

std::string num(double v) {
  if (std::abs(v) >= 100 || v == std::floor(v)) {
    return fmt::format("{:.0f}", v);
  }
  return fmt::format("{:.3g}", v);
}

std::string clock_of(double t) {
  return format_time(t).substr(11, 8);
}

Evidence series_evidence(const ScoredSeries& s) {
  return {"series",
          fmt::format("{}: normal {} -> {} at {} (score {}{})", s.series->display_name(),
                      num(s.normal_centre), num(s.peak), clock_of(s.peak_t), num(s.score),
                      s.kind.counter ? ", per second" : ""),
          s.peak_t, s.score};
}

bool is_slo(const ScoredSeries& s) {
  return s.kind.signal == Signal::slo_latency || s.kind.signal == Signal::slo_errors ||
         s.kind.component == "load";
}

class Rules {
 public:
  Rules(Diagnosis& d, const Inputs& in, const DiagnoseOptions& options) : d_(d), in_(in) {
    for (const auto& s : d.ranking) {
      if (is_slo(s)) {
        continue;
      }
      if (top_.size() >= options.rule_depth || s.score < options.min_score) {
        break;
      }
      top_.push_back(&s);
    }
  }

  void run() {
    scaling();
    cpu();
    memory_and_restarts();
    database();
    replicas();
    cache();
    queues();
    dynamodb();
    downstream();
    pool_wait();
    std::stable_sort(d_.causes.begin(), d_.causes.end(),
                     [](const Cause& a, const Cause& b) { return a.confidence > b.confidence; });
  }

 private:
  // The top series matching, in rank order.
  std::vector<const ScoredSeries*> top(std::initializer_list<Signal> signals,
                                       std::function<bool(const ScoredSeries&)> extra = {}) const {
    std::vector<const ScoredSeries*> out;
    for (const auto* s : top_) {
      if (std::find(signals.begin(), signals.end(), s->kind.signal) != signals.end() &&
          (!extra || extra(*s))) {
        out.push_back(s);
      }
    }
    return out;
  }
  // Any scored series (not only the top) of `signal` for `component`.
  const ScoredSeries* any(Signal signal, const std::string& component,
                          std::function<bool(const ScoredSeries&)> extra = {}) const {
    for (const auto& s : d_.ranking) {
      if (s.kind.signal == signal && (component.empty() || s.kind.component == component) &&
          (!extra || extra(s))) {
        return &s;
      }
    }
    return nullptr;
  }
  std::size_t rank(const ScoredSeries* s) const {
    return static_cast<std::size_t>(std::find(top_.begin(), top_.end(), s) - top_.begin());
  }
  double confidence(double base, const ScoredSeries* main) const {
    const double factor = 1.0 - 0.04 * static_cast<double>(std::min<std::size_t>(rank(main), 15));
    return std::clamp(base * factor, 0.05, 0.99);
  }
  bool has_cause(const std::string& component, const std::string& mechanism = "") const {
    return std::any_of(d_.causes.begin(), d_.causes.end(), [&](const Cause& c) {
      return c.component == component && (mechanism.empty() || c.mechanism == mechanism);
    });
  }
  void add_logs(Cause& c, const std::string& service) const {
    int added = 0;
    for (const auto& e : in_.logs) {
      if (added >= 3) {
        break;
      }
      if (e.service == service && e.t >= d_.window.onset && e.t <= d_.window.end &&
          (e.level == "error" || e.level == "warn" || e.level == "fatal")) {
        c.evidence.push_back({"log",
                              fmt::format("{}:{} {} {} {}: {}", e.source, e.line, clock_of(e.t),
                                          e.service, e.level, e.message.substr(0, 200)),
                              e.t, 0});
        ++added;
      }
    }
  }
  void add(Cause c) {
    const bool has_logs = std::any_of(c.evidence.begin(), c.evidence.end(),
                                      [](const Evidence& e) { return e.kind == "log"; });
    if (!has_logs) {
      // The first errors (else warnings) any service logged after the onset: what callers saw.
      for (const char* level : {"error", "warn"}) {
        int added = 0;
        for (const auto& e : in_.logs) {
          if (added < 2 && e.level == level && e.t >= d_.window.onset && e.t <= d_.window.end) {
            c.evidence.push_back({"log",
                                  fmt::format("{}:{} {} {} {}: {}", e.source, e.line, clock_of(e.t),
                                              e.service, e.level, e.message.substr(0, 200)),
                                  e.t, 0});
            ++added;
          }
        }
        if (added > 0) {
          break;
        }
      }
    }
    if (!has_cause(c.component, c.mechanism)) {
      d_.causes.push_back(std::move(c));
    }
  }

  // Scaling: at max replicas, or a scale-up that came long after the onset.
  struct ScaleFacts {
    std::optional<double> max;
    bool at_max = false;
    std::optional<double> decided_after_s;  // first scale-up decision after the onset
    std::optional<double> ready_after_s;    // current reached that decision's desired count
    bool never_caught_up = false;
    std::vector<Evidence> events;
  };
  std::map<std::string, ScaleFacts> scale_;

  void scaling() {
    const double onset = d_.window.onset;
    std::map<std::string, std::vector<const ScalingEvent*>> per_service;
    for (const auto& e : in_.scaling_events) {
      per_service[e.service].push_back(&e);
    }
    for (const auto& [service, events] : per_service) {
      ScaleFacts f;
      std::optional<double> target;
      for (const auto* e : events) {
        if (e->max) {
          f.max = e->max;
        }
        const bool in_window = e->t >= onset - 30 && e->t <= d_.window.end;
        if (!in_window) {
          continue;
        }
        if (e->kind == "decision" && e->desired && e->current && *e->desired > *e->current &&
            !target) {
          target = *e->desired;
          f.decided_after_s = e->t - onset;
          f.events.push_back(
              {"scaling",
               fmt::format("{}:{} {} {} decided {} -> {} replicas ({})", e->source, e->line,
                           clock_of(e->t), service, num(*e->current), num(*e->desired), e->reason),
               e->t, 0});
        }
        if (e->kind == "decision" && e->desired && f.max && *e->desired >= *f.max) {
          if (!f.at_max) {
            f.events.push_back({"scaling",
                                fmt::format("{}:{} {} {} wants {} replicas, at its maximum {} ({})",
                                            e->source, e->line, clock_of(e->t), service,
                                            num(*e->desired), num(*f.max), e->reason),
                                e->t, 0});
          }
          f.at_max = true;
        }
        if (e->reason.find("max") != std::string::npos &&
            e->reason.find("limit") != std::string::npos) {
          f.at_max = true;
        }
        if (target && !f.ready_after_s && e->current && *e->current >= *target) {
          f.ready_after_s = e->t - onset;
          f.events.push_back({"scaling",
                              fmt::format("{}:{} {} {} has {} replicas", e->source, e->line,
                                          clock_of(e->t), service, num(*e->current)),
                              e->t, 0});
        }
      }
      f.never_caught_up = target && !f.ready_after_s;
      scale_[service] = std::move(f);
    }
    // A scaling cause only for a service that is itself near the top of the ranking.
    for (auto& [service, f] : scale_) {
      const ScoredSeries* main = nullptr;
      for (const auto* s : top_) {
        if (s->kind.component == service) {
          main = s;
          break;
        }
      }
      if (main == nullptr) {
        continue;
      }
      if (f.ready_after_s && *f.ready_after_s > 20) {
        Cause c{fmt::format("{} scale-up lagged the spike by {} s (decided after {} s)", service,
                            num(std::round(*f.ready_after_s)),
                            num(std::round(f.decided_after_s.value_or(0)))),
                service,
                "scale_lag",
                confidence(0.6, main),
                "react faster: HPA scaleUp stabilizationWindowSeconds 0 and a larger scaleUp "
                "policy; keep "
                "warm capacity (minReplicas, over-provisioned nodes) for known peaks",
                f.events};
        c.evidence.insert(c.evidence.begin(), series_evidence(*main));
        add(std::move(c));
      } else if (f.never_caught_up) {
        Cause c{
            fmt::format("{} scale-up never completed during the incident", service),
            service,
            "scale_lag",
            confidence(0.55, main),
            "check node provisioning (Cluster Autoscaler, instance quotas) and pod start-up time",
            f.events};
        c.evidence.insert(c.evidence.begin(), series_evidence(*main));
        add(std::move(c));
      }
    }
  }

  bool at_max(const std::string& service, std::string& note) {
    auto it = scale_.find(service);
    if (it != scale_.end() && it->second.at_max) {
      note = it->second.max ? fmt::format(" and at max replicas ({})", num(*it->second.max))
                            : " and at max replicas";
      return true;
    }
    const auto* cur = any(Signal::replicas_current, service);
    const auto* max = any(Signal::replicas_max, service);
    if (cur && max && cur->window_median >= max->window_median && max->window_median > 0) {
      note = fmt::format(" and at max replicas ({})", num(max->window_median));
      return true;
    }
    return false;
  }

  void cpu() {
    for (const auto* s :
         top({Signal::cpu, Signal::cpu_throttling}, [](auto& x) { return x.increased; })) {
      const auto& service = s->kind.component;
      if (has_cause(service, "cpu_saturation")) {
        continue;
      }
      double base = 0.7;
      const auto* other = any(s->kind.signal == Signal::cpu ? Signal::cpu_throttling : Signal::cpu,
                              service, [](auto& x) { return x.increased && x.score >= 3; });
      if (other != nullptr) {
        base += 0.1;
      }
      std::string note;
      const bool capped = at_max(service, note);
      if (capped) {
        base += 0.1;
      }
      // One instance of several is hot: name it.
      std::string who = service;
      if (!s->kind.instance.empty()) {
        std::set<std::string> instances;
        for (const auto& x : d_.ranking) {
          if (x.kind.signal == Signal::cpu && x.kind.component == service) {
            instances.insert(x.kind.instance);
          }
        }
        const auto hot = top({Signal::cpu, Signal::cpu_throttling},
                             [&](auto& x) { return x.kind.component == service; });
        const bool one_hot = std::all_of(
            hot.begin(), hot.end(), [&](auto* x) { return x->kind.instance == s->kind.instance; });
        if (instances.size() > 1 && one_hot) {
          who = fmt::format("{} instance {}", service, s->kind.instance);
        }
      }
      Cause c{fmt::format("{} CPU saturated{}", who, note),
              service,
              "cpu_saturation",
              confidence(base, s),
              capped ? "raise the HPA's maxReplicas (and the node group's max size), or cut CPU "
                       "per request"
                     : "scale out (HPA on CPU), raise the CPU limit if it is throttled below its "
                       "request, or "
                       "find what burns CPU on that instance",
              {series_evidence(*s)}};
      if (other != nullptr) {
        c.evidence.push_back(series_evidence(*other));
      }
      if (auto it = scale_.find(service); it != scale_.end()) {
        for (const auto& e : it->second.events) {
          c.evidence.push_back(e);
        }
      }
      add_logs(c, service);
      add(std::move(c));
    }
  }

  void memory_and_restarts() {
    for (const auto* s : top({Signal::memory}, [](auto& x) { return x.increased; })) {
      const auto& service = s->kind.component;
      const auto* restarts =
          any(Signal::restarts, service, [](auto& x) { return x.increased && x.score >= 3; });
      Cause c{fmt::format("{} memory pressure{}", service,
                          restarts ? ": OOM-killed and restarted" : " (memory growing)"),
              service,
              "memory_pressure",
              confidence(restarts ? 0.85 : 0.6, s),
              "find the leak or raise the memory limit; a restarted instance loses its in-flight "
              "requests",
              {series_evidence(*s)}};
      if (restarts) {
        c.evidence.push_back(series_evidence(*restarts));
      }
      add_logs(c, service);
      add(std::move(c));
    }
    for (const auto* s :
         top({Signal::restarts, Signal::lb_server_up, Signal::lb_active_servers}, [](auto& x) {
           return x.kind.signal == Signal::restarts ? x.increased : !x.increased;
         })) {
      const auto& service = s->kind.component;
      if (has_cause(service, "memory_pressure") || has_cause(service, "instance_down")) {
        continue;
      }
      const std::string what =
          s->kind.signal == Signal::restarts ? "restarted"
          : s->kind.signal == Signal::lb_server_up
              ? fmt::format("marked DOWN by the load balancer ({})", s->kind.instance)
              : "lost healthy servers at the load balancer";
      Cause c{fmt::format("{} instance down: {}", service, what),
              service,
              "instance_down",
              confidence(0.75, s),
              "keep at least two instances behind a PodDisruptionBudget; find why it died (exit "
              "code, OOM, "
              "liveness probe)",
              {series_evidence(*s)}};
      add_logs(c, service);
      add(std::move(c));
    }
  }

  void database() {
    for (const auto* s : top({Signal::db_load, Signal::db_digest_load, Signal::db_slow_queries,
                              Signal::db_connections},
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
      const bool have_digests = dbtop != nullptr && !dbtop->digests.empty();
      if (have_digests) {
        const auto& top_sql = dbtop->digests.front();
        title += fmt::format(", top SQL `{}`", top_sql.digest_text.substr(0, 120));
        if (top_sql.no_index) {
          title += " (no index)";
          if (top_sql.rows_examined_per_row_returned > 100) {
            mechanism = "missing_index";
          }
        }
        base += 0.2;
        for (std::size_t i = 0; i < dbtop->digests.size() && i < 3; ++i) {
          const auto& dg = dbtop->digests[i];
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
        if (q.server == server && q.t >= d_.window.onset && q.t <= d_.window.end) {
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
             fmt::format(
                 "{}:{} {} Query_time {} s Lock_time {} s Rows_examined {} Rows_sent {}: {}",
                 example->source, example->line, clock_of(example->t), num(example->query_time_s),
                 num(example->lock_time_s), example->rows_examined, example->rows_sent,
                 example->sql.substr(0, 200)),
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

  void replicas() {
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
      Cause c{
          fmt::format("{} lagging {} s{}", name, num(lag->peak),
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

  void cache() {
    for (const auto* s : top({Signal::cache_errors, Signal::cache_up, Signal::cache_hit_ratio,
                              Signal::cache_misses},
                             [](auto& x) {
                               return x.kind.signal == Signal::cache_errors ||
                                              x.kind.signal == Signal::cache_misses
                                          ? x.increased
                                          : !x.increased;
                             })) {
      if (has_cause("cache")) {
        return;
      }
      const bool down =
          s->kind.signal == Signal::cache_errors || s->kind.signal == Signal::cache_up;
      std::string title = down ? "cache unavailable" : "cache hit ratio fell";
      if (const auto* ratio = any(Signal::cache_hit_ratio, ""); ratio && !down) {
        title +=
            fmt::format(" from {} to {}", num(ratio->normal_centre), num(ratio->window_median));
      }
      std::vector<Evidence> evidence{series_evidence(*s)};
      if (const auto* reads = any(Signal::db_queries, "", [](auto& x) {
            return x.increased && x.series->label("operation") == "read" && x.normal_centre > 0;
          })) {
        const double ratio = reads->window_median / reads->normal_centre;
        title += fmt::format("; {} read QPS x{}", reads->kind.component.substr(3),
                             ratio >= 3 ? num(std::round(ratio)) : fmt::format("{:.1f}", ratio));
        evidence.push_back(series_evidence(*reads));
      }
      add({title, "cache", down ? "cache_unavailable" : "cache_degraded", confidence(0.8, s),
           "bring the cache back; it is an optimisation, so make sure the database can take the "
           "misses "
           "(replicas) and that stampedes on hot keys are collapsed",
           std::move(evidence)});
    }
  }

  void queues() {
    for (const auto* s : top({Signal::queue_depth, Signal::queue_oldest_age,
                              Signal::queue_dead_letters, Signal::outbox_pending},
                             [](auto& x) { return x.increased; })) {
      const auto& component = s->kind.component;
      if (s->kind.signal == Signal::queue_dead_letters) {
        add({fmt::format("poison messages: dead-lettered on {}", component.substr(6)),
             component,
             "poison_messages",
             confidence(0.8, s),
             "inspect the dead-letter queue, fix the consumer's handling, redrive",
             {series_evidence(*s)}});
        continue;
      }
      if (s->kind.signal == Signal::outbox_pending) {
        add({fmt::format("{} outbox not draining: publishing to the queue fails",
                         s->kind.component),
             "sqs",
             "queue_unreachable",
             confidence(0.65, s),
             "restore the queue endpoint; orders stay safe in the outbox and are published when it "
             "returns",
             {series_evidence(*s)}});
        continue;
      }
      if (has_cause(component)) {
        continue;
      }
      const auto* consumed = any(Signal::throughput, component, [](auto& x) {
        const auto& n = x.series->name;
        return n.find("deleted") != std::string::npos || n.find("received") != std::string::npos;
      });
      const bool worker_down = consumed && consumed->normal_centre > 0 &&
                               consumed->window_median < 0.2 * consumed->normal_centre;
      const auto* worker_restarts =
          any(Signal::restarts, "worker", [](auto& x) { return x.increased && x.score >= 3; });
      std::vector<Evidence> evidence{series_evidence(*s)};
      if (consumed != nullptr) {
        evidence.push_back(series_evidence(*consumed));
      }
      const bool down = worker_down || worker_restarts != nullptr;
      add({fmt::format("{} backlog growing{}", component.substr(6), down ? ", worker down" : ""),
           component, down ? "worker_down" : "queue_backlog", confidence(down ? 0.85 : 0.65, s),
           "scale the workers on queue depth and oldest message age (KEDA/HPA on an external "
           "metric); restart "
           "a dead worker: messages wait safely in the queue",
           std::move(evidence)});
    }
  }

  void dynamodb() {
    for (const auto* s : top({Signal::dynamodb_throttles, Signal::dynamodb_latency},
                             [](auto& x) { return x.increased; })) {
      const bool throttled = s->kind.signal == Signal::dynamodb_throttles;
      const auto who = s->kind.instance.empty() ? std::string() : " on " + s->kind.instance;
      add({throttled ? "DynamoDB throttling" + who : "DynamoDB latency up" + who,
           "dynamodb",
           throttled ? "dynamodb_throttling" : "dynamodb_latency",
           confidence(throttled ? 0.85 : 0.6, s),
           throttled ? "on-demand capacity (or higher provisioned capacity with auto scaling), "
                       "spread hot keys, "
                       "keep retries with backoff and jitter"
                     : "check the table's latency metrics and hot partitions; add a cache in front "
                       "of hot reads",
           {series_evidence(*s)}});
    }
  }

  void downstream() {
    for (const auto* s : top({Signal::downstream_latency, Signal::downstream_errors},
                             [](auto& x) { return x.increased; })) {
      const auto& component = s->kind.component;
      if (component.rfind("db:", 0) == 0) {
        if (!has_cause(component)) {
          add({fmt::format("{} DB slow as its clients see it", component.substr(3)),
               component,
               "db_saturation",
               confidence(0.5, s),
               "look at the database's load and top statements (crest db top)",
               {series_evidence(*s)}});
        }
        continue;
      }
      const bool errors = s->kind.signal == Signal::downstream_errors;
      add({fmt::format("calls to {} {}", component, errors ? "failing" : "slow"),
           component,
           errors ? "downstream_errors" : "downstream_latency",
           confidence(0.5, s),
           "timeouts, retries with backoff and a circuit breaker on that dependency; then find why "
           "it is slow",
           {series_evidence(*s)}});
    }
  }

  void pool_wait() {
    for (const auto* s : top({Signal::pool_wait}, [](auto& x) { return x.increased; })) {
      const bool db_cause = std::any_of(d_.causes.begin(), d_.causes.end(), [](const Cause& c) {
        return c.component.rfind("db:", 0) == 0;
      });
      if (db_cause) {
        continue;
      }
      add({fmt::format("{} waits for database connections (pool exhausted)", s->kind.component),
           s->kind.component,
           "pool_exhaustion",
           confidence(0.5, s),
           "size the pool to the database's capacity and the instance's concurrency; find slow "
           "transactions",
           {series_evidence(*s)}});
    }
  }

  Diagnosis& d_;
  const Inputs& in_;
  std::vector<const ScoredSeries*> top_;
};

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
    window = find_anomaly_window(d.series);
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
