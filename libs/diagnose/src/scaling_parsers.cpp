// The autoscaler's event log and the replica-count series built from it.
#include "crest/diagnose/parsers.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "parser_support.hpp"

namespace crest::diagnose {

using namespace detail;

Result<std::vector<ScalingEvent>> parse_autoscaler_log(std::string_view text,
                                                       const std::string& source) {
  std::vector<ScalingEvent> out;
  auto r = for_each_timed_json_line(
      text, source, [&](const json& record, double when, int number) -> Result<void> {
        ScalingEvent e;
        e.t = when;
        e.kind = string_field(record, "kind");
        if (e.kind.empty()) {
          return bad(source, number, "field 'kind' is missing");
        }
        // The local stack's event log holds more kinds than scaling (stack, pod_signal, restart,
        // override...): they are kept as events and read by no rule.
        e.service = string_field(record, "service");
        if (e.service.empty() && (e.kind == "decision" || e.kind == "pod" || e.kind == "scale")) {
          return bad(source, number, "field 'service' is missing");
        }
        // `crest scale` and the stack's own scaling write {"kind":"scale","from":N,"to":M}: the
        // same step as a decision from N to M replicas.
        const bool scale = e.kind == "scale";
        for (auto [key, into] :
             {std::pair{scale ? "from" : "current", &e.current},
              std::pair{scale ? "to" : "desired", &e.desired}, std::pair{"max", &e.max}}) {
          auto it = record.find(key);
          if (it != record.end() && !it->is_null()) {
            auto v = number_of(*it);
            if (!v || !std::isfinite(*v)) {
              return bad(source, number, fmt::format("field '{}' is not a number", key));
            }
            *into = *v;
          }
        }
        if (e.kind == "decision" && (!e.current || !e.desired)) {
          return bad(source, number, "a decision needs 'current' and 'desired'");
        }
        if (scale && (!e.current || !e.desired)) {
          return bad(source, number, "a scale event needs 'from' and 'to'");
        }
        e.reason = string_field(record, "reason");
        e.transition = string_field(record, "transition");
        e.subject = string_field(record, e.kind == "node" ? "node" : "instance");
        // What the metrics asked for, before the min/max bounds: a cap shows as wanted > max.
        if (auto m = record.find("metrics"); m != record.end() && m->is_array()) {
          for (const auto& metric : *m) {
            auto p = metric.is_object() ? metric.find("proposal") : metric.end();
            if (metric.is_object() && p != metric.end()) {
              auto v = number_of(*p);
              if (v && std::isfinite(*v)) e.wanted = std::max(e.wanted.value_or(*v), *v);
            }
          }
        }
        e.line = number;
        e.source = source;
        out.push_back(std::move(e));
        return {};
      });
  if (!r.ok()) {
    return r.error();
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.t < b.t; });
  return out;
}

namespace {

// The age of the oldest pod (per service) or node (the node pool) waiting in a state, per second:
// pods `pending` until they start, nodes `requested` until they are ready. A scale-up that waits
// for capacity shows as this age growing.
void add_waiting_ages(const std::vector<ScalingEvent>& events, std::vector<Series>& out) {
  std::set<std::pair<std::string, std::string>> groups;  // (kind, service)
  for (const auto& e : events) {
    if ((e.kind == "pod" || e.kind == "node") && !e.subject.empty() && !e.transition.empty()) {
      groups.emplace(e.kind, e.service);
    }
  }
  if (groups.empty()) return;
  const double first = events.front().t, last = events.back().t;  // sorted by time
  // Per second: replay the transitions and take the oldest wait at each step.
  for (const auto& key : groups) {
    const auto& [kind, service] = key;
    Buckets b(first, last);
    Series age =
        b.make(kind == "pod" ? "crest_pod_pending_seconds" : "crest_node_provisioning_seconds",
               {{"service", service}}, events.front().source);
    std::map<std::string, double> since;
    std::size_t k = 0;
    for (std::size_t i = 0; i < b.n; ++i) {
      const double t = age.t[i];
      for (; k < events.size() && events[k].t <= t + b.step; ++k) {
        const auto& e = events[k];
        if (e.kind != kind || e.service != service || e.subject.empty()) continue;
        if (e.transition == (kind == "pod" ? "pending" : "requested")) {
          since.emplace(e.subject, e.t);
        } else if (!e.transition.empty()) {
          since.erase(e.subject);
        }
      }
      double oldest = 0;
      for (const auto& [subject, from] : since) oldest = std::max(oldest, t + b.step - from);
      age.v[i] = oldest;
    }
    out.push_back(std::move(age));
  }
}

}  // namespace

std::vector<Series> scaling_series(const std::vector<ScalingEvent>& events) {
  std::map<std::string, std::vector<const ScalingEvent*>> per_service;
  for (const auto& e : events) {
    if (e.kind == "decision") {
      per_service[e.service].push_back(&e);
    }
  }
  std::vector<Series> out;
  add_waiting_ages(events, out);
  for (const auto& [service, list] : per_service) {
    Buckets b(list.front()->t, list.back()->t);
    Series desired =
        b.make("crest_autoscaler_desired_replicas", {{"service", service}}, list.front()->source);
    Series current =
        b.make("crest_autoscaler_current_replicas", {{"service", service}}, list.front()->source);
    Series max =
        b.make("crest_autoscaler_max_replicas", {{"service", service}}, list.front()->source);
    // Replicas the metrics asked for beyond what the bounds let the service have.
    Series unmet =
        b.make("crest_autoscaler_unmet_replicas", {{"service", service}}, list.front()->source);
    bool has_max = false, has_wanted = false;
    std::size_t k = 0;
    double d = *list.front()->desired, c = *list.front()->current,
           m = list.front()->max.value_or(0), u = 0;
    for (std::size_t i = 0; i < b.n; ++i) {
      while (k < list.size() && b.index(list[k]->t) <= i) {
        d = *list[k]->desired;
        c = *list[k]->current;
        if (list[k]->max) {
          m = *list[k]->max;
          has_max = true;
        }
        if (list[k]->wanted) {
          u = std::max(0.0, *list[k]->wanted - c);
          has_wanted = true;
        }
        ++k;
      }
      desired.v[i] = d;
      current.v[i] = c;
      max.v[i] = m;
      unmet.v[i] = u;
    }
    out.push_back(std::move(desired));
    out.push_back(std::move(current));
    if (has_wanted) {
      out.push_back(std::move(unmet));
    }
    if (has_max) {
      out.push_back(std::move(max));
    }
  }
  return out;
}

}  // namespace crest::diagnose
