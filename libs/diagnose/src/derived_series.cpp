// The series made from others before scoring: a dependency's mean time per call (which moderates
// the time spent on it), a cache's hit ratio, and the time the load balancer adds to a service.
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "crest/diagnose/scoring.hpp"

namespace crest::diagnose {

namespace {

// Time spent calling a dependency (`X_seconds_sum` per second) rises when each call is slower and
// when there are more calls: a cache that fails sends its misses to the database, whose time
// spent then rises though nothing is wrong with it. Where the calls are counted too (the
// histogram's `X_seconds_count`, or the client's own call counter: `crest_db_queries_total`,
// `crest_aws_requests_total` summed over outcomes), a companion series of the mean time per call
// (`X_seconds_per_call`: Δsum / Δcalls) is added; scoring lets the time spent count only as far
// as the time per call moved too (score_series).
std::string calls_key(const std::string& base, Labels labels) {
  labels.erase("outcome");
  return Series{base, std::move(labels), {}, {}, {}}.display_name();
}

std::string duration_base_of_calls(const std::string& name) {
  if (name.ends_with("_seconds_count")) return name.substr(0, name.size() - 6);
  if (name == "crest_db_queries_total") return "crest_db_query_duration_seconds";
  if (name == "crest_aws_requests_total") return "crest_aws_request_duration_seconds";
  return {};
}

}  // namespace

std::string calls_key_of(const Series& s) {
  if (s.name.ends_with("_seconds_sum")) {
    return calls_key(s.name.substr(0, s.name.size() - 4), s.labels);
  }
  const auto base = duration_base_of_calls(s.name);
  return base.empty() ? std::string() : calls_key(base, s.labels);
}

namespace {

void add_time_per_call(std::vector<Series>& series) {
  std::map<std::string, std::map<long long, double>> calls;  // key -> calls per second by ms
  for (const auto& s : series) {
    const auto base = duration_base_of_calls(s.name);
    if (base.empty()) {
      continue;
    }
    const Series rate = s.per_second ? s : to_rate(s);
    auto& into = calls[calls_key(base, s.labels)];
    for (std::size_t i = 0; i < rate.t.size(); ++i) {
      into[std::llround(rate.t[i] * 1000)] += rate.v[i];
    }
  }
  std::vector<Series> added;
  for (const auto& sum : series) {
    if (!sum.name.ends_with("_seconds_sum")) {
      continue;
    }
    const auto signal = classify(sum).signal;
    if (signal != Signal::downstream_latency && signal != Signal::dynamodb_latency) {
      continue;
    }
    const std::string base = sum.name.substr(0, sum.name.size() - 4);
    const auto it = calls.find(calls_key(base, sum.labels));
    if (it == calls.end()) {
      continue;
    }
    const Series time = sum.per_second ? sum : to_rate(sum);
    Series mean{base + "_per_call", sum.labels, {}, {}, sum.source};
    for (std::size_t k = 0; k < time.t.size(); ++k) {
      const auto c = it->second.find(std::llround(time.t[k] * 1000));
      // No call completed in the step: no mean (a hung dependency shows when its calls time out).
      if (c != it->second.end() && c->second > 1e-9) {
        mean.t.push_back(time.t[k]);
        mean.v.push_back(time.v[k] / c->second);
      }
    }
    if (!mean.t.empty()) {
      added.push_back(std::move(mean));
    }
  }
  for (auto& s : added) {
    series.push_back(std::move(s));
  }
}

// The balancer's time per request, recovered from its sliding average (scoring.hpp): over an
// interval with n requests of mean x, HAProxy's average moves from a0 to a1 = a0 * k + x * (1 - k),
// k = (1 - 1/512)^n, so x = (a1 - a0 * k) / (1 - k). The average is in whole milliseconds, so the
// interval reaches back until it holds kLbMinRequests requests (at most 60 s): the rounding then
// moves x by at most about 6 ms.
constexpr double kLbWindowRequests = 512;  // HAProxy's TIME_STATS_SAMPLES
constexpr double kLbMinRequests = 100;
constexpr double kLbMaxLookback = 60;
// The service's own mean is a rate over 15 s (command.cpp), and can rise a few seconds after the
// balancer's figure.
constexpr double kOwnRateWindow = 15;
constexpr double kOwnLag = 5;

void add_lb_added_time(std::vector<Series>& series) {
  using ByMs = std::map<long long, double>;
  std::map<std::string, ByMs> own_mean, requests_per_s;  // by service (the backend's name)
  for (const auto& s : series) {
    if (s.name == kOwnMeanSeries && !s.label("service").empty()) {
      auto& into = own_mean[s.label("service")];
      for (std::size_t i = 0; i < s.t.size(); ++i) into[std::llround(s.t[i] * 1000)] = s.v[i];
    } else if (s.name == "haproxy_backend_http_responses_total" && !s.label("proxy").empty()) {
      const Series rate = s.per_second ? s : to_rate(s);
      auto& into = requests_per_s[s.label("proxy")];
      for (std::size_t i = 0; i < rate.t.size(); ++i)
        into[std::llround(rate.t[i] * 1000)] += rate.v[i];
    }
  }
  std::vector<Series> added;
  for (const auto& lb : series) {
    if (lb.name != "haproxy_backend_response_time_average_seconds") continue;
    const std::string service = lb.label("proxy");
    const auto own = own_mean.find(service);
    const auto rates = requests_per_s.find(service);
    if (own == own_mean.end() || rates == requests_per_s.end()) continue;
    Series per_request{kLbRequestSeries, {{"service", service}}, {}, {}, lb.source};
    Series gap{kLbAddedSeries, {{"service", service}}, {}, {}, lb.source};
    for (std::size_t i = 1; i < lb.t.size(); ++i) {
      double n = 0;
      std::size_t j = i;
      while (j > 0 && n < kLbMinRequests && lb.t[i] - lb.t[j - 1] <= kLbMaxLookback) {
        const auto r = rates->second.find(std::llround(lb.t[j] * 1000));
        n += (r == rates->second.end() ? 0.0 : r->second) * (lb.t[j] - lb.t[j - 1]);
        --j;
      }
      if (n < kLbMinRequests) continue;
      const double k = std::pow(1 - 1 / kLbWindowRequests, n);
      const double x = (lb.v[i] - lb.v[j] * k) / (1 - k);
      per_request.t.push_back(lb.t[i]);
      per_request.v.push_back(x);
      // The same requests as the service measured them: its means whose 15 s cover (t_j, t_i].
      const auto from = std::llround(lb.t[j] * 1000);
      const auto to = std::llround((lb.t[i] + kOwnRateWindow + kOwnLag) * 1000);
      double highest = -1;
      for (auto o = own->second.lower_bound(from); o != own->second.end() && o->first <= to; ++o)
        highest = std::max(highest, o->second);
      if (highest >= 0) {
        gap.t.push_back(lb.t[i]);
        gap.v.push_back(std::max(0.0, x - kLbOwnFactor * highest));
      }
    }
    if (!per_request.t.empty()) added.push_back(std::move(per_request));
    if (!gap.t.empty()) added.push_back(std::move(gap));
  }
  for (auto& s : added) series.push_back(std::move(s));
}

}  // namespace

void add_derived_series(std::vector<Series>& series) {
  add_time_per_call(series);
  add_lb_added_time(series);
  // Hit ratio per (cache label set minus result), from rates of hits and misses.
  std::map<std::string, std::pair<const Series*, const Series*>> caches;
  for (const auto& s : series) {
    if (s.name != "crest_cache_requests_total") {
      continue;
    }
    auto labels = s.labels;
    labels.erase("result");
    Series key{"k", labels, {}, {}, {}};
    auto& pair = caches[key.display_name()];
    if (s.label("result") == "hit") {
      pair.first = &s;
    } else if (s.label("result") == "miss") {
      pair.second = &s;
    }
  }
  std::vector<Series> added;
  for (const auto& [key, pair] : caches) {
    if (pair.first == nullptr || pair.second == nullptr) {
      continue;
    }
    auto hits = pair.first->per_second ? *pair.first : to_rate(*pair.first);
    auto misses = pair.second->per_second ? *pair.second : to_rate(*pair.second);
    auto labels = pair.first->labels;
    labels.erase("result");
    Series ratio{"crest_cache_hit_ratio", labels, {}, {}, pair.first->source};
    std::size_t j = 0;
    for (std::size_t i = 0; i < hits.t.size(); ++i) {
      while (j < misses.t.size() && misses.t[j] < hits.t[i] - 1e-6) {
        ++j;
      }
      if (j < misses.t.size() && std::abs(misses.t[j] - hits.t[i]) < 1e-6) {
        const double total = hits.v[i] + misses.v[j];
        if (total > 0) {
          ratio.t.push_back(hits.t[i]);
          ratio.v.push_back(hits.v[i] / total);
        }
      }
    }
    if (!ratio.t.empty()) {
      added.push_back(std::move(ratio));
    }
  }
  for (auto& s : added) {
    series.push_back(std::move(s));
  }
}

}  // namespace crest::diagnose
