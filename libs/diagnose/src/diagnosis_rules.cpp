// The rules' shared steps, and the compute rules: scaling, CPU, memory and restarts.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "crest/diagnose/parsers.hpp"
#include "diagnosis_rules.hpp"

namespace crest::diagnose::detail {

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

Rules::Rules(Diagnosis& d, const Inputs& in, const DiagnoseOptions& options) : d_(d), in_(in) {
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

void Rules::run() {
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
  network();
  // The generic ranking says which component; rules only say what happened to it. So causes
  // follow their component's rank, and confidence orders the causes of one component.
  std::map<std::string, std::size_t> component_rank;
  for (std::size_t i = 0; i < d_.components.size(); ++i) {
    component_rank.emplace(d_.components[i].component, i);
  }
  const auto rank_of = [&](const Cause& c) {
    const auto it = component_rank.find(c.component);
    return it == component_rank.end() ? d_.components.size() : it->second;
  };
  std::stable_sort(d_.causes.begin(), d_.causes.end(), [&](const Cause& a, const Cause& b) {
    const auto ra = rank_of(a), rb = rank_of(b);
    return ra != rb ? ra < rb : a.confidence > b.confidence;
  });
}

// The top series matching, in rank order.
std::vector<const ScoredSeries*> Rules::top(std::initializer_list<Signal> signals,
                                            std::function<bool(const ScoredSeries&)> extra) const {
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
const ScoredSeries* Rules::any(Signal signal, const std::string& component,
                               std::function<bool(const ScoredSeries&)> extra) const {
  for (const auto& s : d_.ranking) {
    if (s.kind.signal == signal && (component.empty() || s.kind.component == component) &&
        (!extra || extra(s))) {
      return &s;
    }
  }
  return nullptr;
}

std::size_t Rules::rank(const ScoredSeries* s) const {
  return static_cast<std::size_t>(std::find(top_.begin(), top_.end(), s) - top_.begin());
}

bool Rules::near_window(double t, double after) const {
  return t >= d_.window.onset - 30 && t <= d_.window.end + after;
}

double Rules::confidence(double base, const ScoredSeries* main) const {
  const double factor = 1.0 - 0.04 * static_cast<double>(std::min<std::size_t>(rank(main), 15));
  return std::clamp(base * factor, 0.05, 0.99);
}

bool Rules::has_cause(const std::string& component, const std::string& mechanism) const {
  return std::any_of(d_.causes.begin(), d_.causes.end(), [&](const Cause& c) {
    return c.component == component && (mechanism.empty() || c.mechanism == mechanism);
  });
}

void Rules::add_logs(Cause& c, const std::string& service) const {
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

void Rules::add(Cause c) {
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

void Rules::scaling() {
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
      if (!near_window(e->t)) {
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
      // Kubernetes' ScalingActive=False reason: the autoscaler reads no metrics and changes
      // nothing, so no proposal tells what the service wanted; its saturation has to.
      if (e->kind == "decision" && e->reason == "ScalingDisabled" && !f.disabled) {
        f.disabled = true;
        f.events.push_back(
            {"scaling",
             fmt::format("{}:{} {} {} autoscaling off ({}), {} replicas", e->source, e->line,
                         clock_of(e->t), service, e->reason, e->current ? num(*e->current) : "?"),
             e->t, 0});
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
      Cause c{fmt::format("{} scale-up never completed during the incident", service),
              service,
              "scale_lag",
              confidence(0.55, main),
              "check node provisioning (Cluster Autoscaler, instance quotas) and pod start-up time",
              f.events};
      c.evidence.insert(c.evidence.begin(), series_evidence(*main));
      add(std::move(c));
    }
  }
  // Replicas the metrics asked for and the bounds refused: a cap too low, or autoscaling off.
  for (const auto* s : top({Signal::replicas_desired}, [](auto& x) {
         return x.increased && x.peak >= 1 && x.series->name == "crest_autoscaler_unmet_replicas";
       })) {
    const auto& service = s->kind.component;
    std::string reason;
    double wanted = 0, current = 0;
    for (const auto& e : in_.scaling_events) {
      if (e.kind == "decision" && e.service == service && near_window(e.t) && e.wanted &&
          e.current && *e.wanted - *e.current >= wanted - current) {
        wanted = *e.wanted;
        current = *e.current;
        reason = e.reason;
      }
    }
    const bool off = reason.find("Disabled") != std::string::npos;
    Cause c{fmt::format("{} held at {} replicas while its metrics asked for {}{}", service,
                        num(current), num(wanted), reason.empty() ? "" : " (" + reason + ")"),
            service,
            off ? "autoscaling_off" : "at_max_replicas",
            confidence(0.65, s),
            off ? "turn its autoscaling back on (HPA), or scale it by hand for the peak"
                : "raise the HPA's maxReplicas (and the node group's max size) to what the peak "
                  "needs",
            {series_evidence(*s)}};
    add(std::move(c));
  }
  // Scale-ups waiting for capacity: a node being provisioned for long while pods stay pending.
  for (const auto* s : top({Signal::capacity_wait}, [](auto& x) { return x.increased; })) {
    if (s->series->name != "crest_node_provisioning_seconds" || s->peak < 15) {
      continue;
    }
    Cause c{fmt::format("scale-up waited {} s for a new node ({} provisioning)",
                        num(std::round(s->peak)), s->kind.component),
            s->kind.component,
            "node_provisioning_slow",
            confidence(0.7, s),
            "keep spare node capacity for known peaks (over-provisioning pods, a warm pool), "
            "check the node group's provisioning time and instance quotas",
            {series_evidence(*s)}};
    for (const auto* pods : top({Signal::capacity_wait}, [](auto& x) {
           return x.increased && x.series->name == "crest_pod_pending_seconds";
         })) {
      c.evidence.push_back(series_evidence(*pods));
    }
    for (const auto& e : in_.scaling_events) {
      if (e.kind == "node" && near_window(e.t, 60)) {
        c.evidence.push_back({"scaling",
                              fmt::format("{}:{} {} {} {}", e.source, e.line, clock_of(e.t),
                                          e.subject, e.transition),
                              e.t, 0});
      }
    }
    add(std::move(c));
  }
}

bool Rules::at_max(const std::string& service, std::string& note) {
  auto it = scale_.find(service);
  if (it != scale_.end() && it->second.disabled) {
    note = " and its autoscaling off";
    return true;
  }
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

void Rules::cpu() {
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
    // One instance of several is hot: name it (the top series may be the service's sum).
    std::string who = service;
    std::set<std::string> instances;
    for (const auto& x : d_.ranking) {
      if (x.kind.signal == Signal::cpu && x.kind.component == service && !x.kind.instance.empty()) {
        instances.insert(x.kind.instance);
      }
    }
    std::set<std::string> hot_instances;
    for (const auto* x : top({Signal::cpu, Signal::cpu_throttling}, [&](auto& y) {
           return y.kind.component == service && y.increased && !y.kind.instance.empty();
         })) {
      hot_instances.insert(x->kind.instance);
    }
    if (instances.size() > 1 && hot_instances.size() == 1) {
      who = fmt::format("{} instance {}", service, *hot_instances.begin());
    }
    Cause c{fmt::format("{} CPU saturated{}", who, note),
            service,
            "cpu_saturation",
            confidence(base, s),
            capped && note.find("autoscaling off") != std::string::npos
                ? "turn its autoscaling back on (HPA), or scale it out by hand for the peak"
            : capped ? "raise the HPA's maxReplicas (and the node group's max size), or cut CPU "
                       "per request"
                     : "scale out (HPA on CPU), raise the CPU limit if it is throttled below its "
                       "request, or "
                       "find what burns CPU on that instance",
            {series_evidence(*s)}};
    if (service.rfind("db:", 0) == 0) {
      // A database server's CPU is its load: the statements it runs, not a service to scale out.
      c.title = fmt::format("{} DB CPU saturated", service.substr(3));
      c.mechanism = "db_saturation";
      c.remedy =
          "find the statements that burn it (crest db top, the slow log), index or cut them, "
          "move reads to replicas and the cache, or scale the instance";
    }
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

void Rules::memory_and_restarts() {
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
  // A service's instance that stops answering its scrape is down or frozen (a hung process holds
  // its port and answers nothing). Databases, the cache and the queues have rules of their own.
  for (const auto* s : top({Signal::target_up}, [](auto& x) { return !x.increased; })) {
    const auto& service = s->kind.component;
    if (service == "cache" || service == "sqs" || service == "dynamodb" ||
        service.rfind("db:", 0) == 0 || service.rfind("queue:", 0) == 0 ||
        has_cause(service, "instance_down") || has_cause(service, "memory_pressure")) {
      continue;
    }
    Cause c{fmt::format("{} instance {} not answering: down or frozen", service,
                        s->kind.instance.empty() ? service : s->kind.instance),
            service,
            "instance_down",
            confidence(0.7, s),
            "find why it stopped answering (a hung process, a stopped container, the node); keep "
            "at least two instances behind a PodDisruptionBudget",
            {series_evidence(*s)}};
    add_logs(c, service);
    add(std::move(c));
  }
}

}  // namespace crest::diagnose::detail
