#include "crest/diagnose/scoring.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <numeric>

namespace crest::diagnose {

const char* to_string(Signal s) {
  switch (s) {
    case Signal::slo_latency:
      return "slo_latency";
    case Signal::slo_errors:
      return "slo_errors";
    case Signal::cpu:
      return "cpu";
    case Signal::cpu_throttling:
      return "cpu_throttling";
    case Signal::memory:
      return "memory";
    case Signal::restarts:
      return "restarts";
    case Signal::in_flight:
      return "in_flight";
    case Signal::pool_wait:
      return "pool_wait";
    case Signal::db_load:
      return "db_load";
    case Signal::db_digest_load:
      return "db_digest_load";
    case Signal::db_slow_queries:
      return "db_slow_queries";
    case Signal::db_queries:
      return "db_queries";
    case Signal::db_connections:
      return "db_connections";
    case Signal::replica_lag:
      return "replica_lag";
    case Signal::replica_running:
      return "replica_running";
    case Signal::cache_hits:
      return "cache_hits";
    case Signal::cache_misses:
      return "cache_misses";
    case Signal::cache_hit_ratio:
      return "cache_hit_ratio";
    case Signal::cache_errors:
      return "cache_errors";
    case Signal::cache_up:
      return "cache_up";
    case Signal::queue_depth:
      return "queue_depth";
    case Signal::queue_oldest_age:
      return "queue_oldest_age";
    case Signal::queue_dead_letters:
      return "queue_dead_letters";
    case Signal::outbox_pending:
      return "outbox_pending";
    case Signal::dynamodb_throttles:
      return "dynamodb_throttles";
    case Signal::dynamodb_latency:
      return "dynamodb_latency";
    case Signal::downstream_latency:
      return "downstream_latency";
    case Signal::downstream_errors:
      return "downstream_errors";
    case Signal::replicas_desired:
      return "replicas_desired";
    case Signal::replicas_current:
      return "replicas_current";
    case Signal::replicas_max:
      return "replicas_max";
    case Signal::lb_active_servers:
      return "lb_active_servers";
    case Signal::lb_server_up:
      return "lb_server_up";
    case Signal::lb_errors:
      return "lb_errors";
    case Signal::target_up:
      return "target_up";
    case Signal::log_errors:
      return "log_errors";
    case Signal::log_warnings:
      return "log_warnings";
    case Signal::throughput:
      return "throughput";
    case Signal::other:
      return "other";
  }
  return "other";
}

namespace {

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
bool is_counter_name(const std::string& n) {
  return ends_with(n, "_total") || ends_with(n, "_count") || ends_with(n, "_sum");
}

std::string first_label(const Series& s, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto v = s.label(k);
    if (!v.empty()) {
      return v;
    }
  }
  return {};
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// A container series (cAdvisor's names: `container`, `pod`) belongs to what the container runs:
// a database server's pod is `db:<its role>` (pod `mariadb-replica1` -> `db:replica1`), Redis is
// the cache, and a stand-in for a managed service is that service; anything else is the container
// (the Deployment's name), never the scrape job that happened to collect it.
std::string component_of_container(const std::string& container, const std::string& pod) {
  const auto image = lower(container);
  if (image == "mariadb" || image == "mysql" || image == "mysqld") {
    const auto prefix = container + "-";
    return "db:" + (pod.rfind(prefix, 0) == 0 ? pod.substr(prefix.size()) : pod);
  }
  if (image == "redis" || image == "valkey" || image == "memcached") {
    return "cache";
  }
  if (image == "dynalite" || image == "dynamodb-local") {
    return "dynamodb";
  }
  if (image == "exporter") {  // a monitoring sidecar: the pod says whose
    return pod.empty() ? container : pod;
  }
  return container;
}

// The service a series belongs to: a service label, else the container (or the Deployment or
// HPA it names), and only then Prometheus' job, which names the scraper, not the component.
std::string service_of(const Series& s) {
  if (const auto service = s.label("service"); !service.empty()) {
    return service;
  }
  if (const auto container = s.label("container"); !container.empty()) {
    return component_of_container(container, s.label("pod"));
  }
  return first_label(
      s, {"app", "deployment", "horizontalpodautoscaler", "job", "pod", "instance", "component"});
}

// The AWS service a crest_aws_* series measures: Prometheus renames an exported `service` label
// to `exported_service` when the target has a `service` label of its own (ours: the caller).
std::string aws_service_of(const Series& s) {
  auto aws = s.label("exported_service");
  if (aws.empty()) {
    aws = s.label("aws_service");
  }
  if (aws.empty() && s.label("pod").empty()) {
    aws = s.label("service");
  }
  return lower(aws);
}

}  // namespace

SeriesKind classify(const Series& s) {
  const auto& n = s.name;
  SeriesKind k;
  k.counter = is_counter_name(n) && !s.per_second;
  k.component = service_of(s);
  k.instance = first_label(s, {"pod", "instance", "server"});
  auto set = [&](Signal signal, std::string component = {}) {
    k.signal = signal;
    if (!component.empty()) {
      k.component = std::move(component);
    }
  };
  const auto aws = aws_service_of(s);  // crest_aws_*: the AWS service, not ours
  if (starts_with(n, "load_")) {
    k.component = "load";
    set(n == "load_requests"          ? Signal::throughput
        : ends_with(n, "error_ratio") ? Signal::slo_errors
                                      : Signal::slo_latency);
    k.counter = false;
  } else if (starts_with(n, "http_server_request_duration_seconds")) {
    if (ends_with(n, "_count")) {
      set(Signal::throughput);
    } else if (ends_with(n, "_bucket") || ends_with(n, "_sum")) {
      set(Signal::other);
    } else {
      set(Signal::slo_latency);
    }
  } else if (ends_with(n, "error_ratio")) {
    set(Signal::slo_errors);
  } else if (n == "container_cpu_usage_seconds_total" || n == "process_cpu_seconds_total" ||
             n == "CPUUtilization") {
    set(Signal::cpu);
  } else if (starts_with(n, "container_cpu_cfs_throttled")) {
    set(Signal::cpu_throttling);
  } else if (n == "container_memory_working_set_bytes" || n == "process_resident_memory_bytes" ||
             n == "MemoryUtilization" || n == "container_memory_rss") {
    set(Signal::memory);
  } else if (n == "container_oom_events_total" || n.find("restarts") != std::string::npos) {
    set(Signal::restarts);
    k.counter = (k.counter || n.find("restarts") != std::string::npos) && !s.per_second;
  } else if (n == "http_server_active_requests") {
    set(Signal::in_flight);
  } else if (starts_with(n, "crest_db_pool_wait_seconds")) {
    set(Signal::pool_wait);
  } else if (n == "crest_db_aas" || n == "mysql_global_status_threads_running" || n == "DBLoad") {
    set(Signal::db_load,
        "db:" + first_label(s, {"db_server", "server", "instance", "DBInstanceIdentifier", "id"}));
  } else if (n == "crest_db_digest_aas") {
    set(Signal::db_digest_load, "db:" + first_label(s, {"db_server", "server", "instance"}));
  } else if (starts_with(n, "crest_db_slow_quer") || n == "mysql_global_status_slow_queries") {
    set(Signal::db_slow_queries, "db:" + first_label(s, {"db_server", "server", "instance"}));
    k.counter = n == "mysql_global_status_slow_queries" && !s.per_second;
  } else if (n == "crest_db_queries_total" || n == "mysql_global_status_questions") {
    set(Signal::db_queries, "db:" + first_label(s, {"db_server", "server", "instance"}));
    k.instance = service_of(s);
  } else if (starts_with(n, "crest_db_query_duration_seconds")) {
    set(ends_with(n, "_bucket") ? Signal::other : Signal::downstream_latency,
        "db:" + first_label(s, {"db_server", "server"}));
    k.instance = service_of(s);
  } else if (n == "mysql_global_status_threads_connected" || n == "DatabaseConnections") {
    set(Signal::db_connections, "db:" + first_label(s, {"db_server", "server", "instance"}));
  } else if (n == "crest_replica_lag_seconds" || n == "mysql_slave_status_seconds_behind_master" ||
             n == "ReplicaLag") {
    set(Signal::replica_lag,
        "db:" + first_label(s, {"replica", "db_server", "server", "instance"}));
  } else if (n == "crest_replica_running" || n == "crest_replica_usable" ||
             n == "mysql_slave_status_slave_sql_running") {
    set(Signal::replica_running,
        "db:" + first_label(s, {"replica", "db_server", "server", "instance"}));
  } else if (n == "crest_cache_requests_total") {
    const auto result = s.label("result");
    // An in-process cache is part of its service; a shared one (Redis) is the cache.
    const bool local = s.label("cache") == "local";
    set(result == "hit"    ? Signal::cache_hits
        : result == "miss" ? Signal::cache_misses
                           : Signal::cache_errors,
        local ? std::string() : "cache");
    k.instance = s.label("cache");
  } else if (n == "crest_cache_hit_ratio") {
    set(Signal::cache_hit_ratio, s.label("cache") == "local" ? std::string() : "cache");
    k.instance = s.label("cache");
  } else if (n == "redis_up") {
    set(Signal::cache_up, "cache");
  } else if (n == "crest_queue_approximate_messages" || n == "crest_queue_depth" ||
             n == "ApproximateNumberOfMessagesVisible") {
    set(Signal::queue_depth, "queue:" + first_label(s, {"queue", "QueueName", "id"}));
  } else if (n == "crest_queue_oldest_message_age_seconds" ||
             n == "ApproximateAgeOfOldestMessage") {
    set(Signal::queue_oldest_age, "queue:" + first_label(s, {"queue", "QueueName", "id"}));
  } else if (n == "crest_queue_messages_dead_lettered_total") {
    set(Signal::queue_dead_letters, "queue:" + first_label(s, {"queue"}));
  } else if (starts_with(n, "crest_queue_messages_")) {
    set(Signal::throughput, "queue:" + first_label(s, {"queue"}));
  } else if (n == "crest_outbox_pending") {
    set(Signal::outbox_pending);
  } else if (n == "crest_aws_throttled_total" || n == "ReadThrottleEvents" ||
             n == "WriteThrottleEvents" || n == "ThrottledRequests") {
    const bool dynamo = aws.empty() || aws == "dynamodb";
    set(dynamo ? Signal::dynamodb_throttles : Signal::downstream_errors, dynamo ? "dynamodb" : aws);
    k.instance = first_label(s, {"pod", "job", "instance"});
  } else if (n == "crest_aws_requests_total") {
    // Calls by final outcome: anything but success is the dependency failing its callers.
    const bool dynamo = aws.empty() || aws == "dynamodb";
    const auto outcome = s.label("outcome");
    set(outcome == "success"               ? Signal::throughput
        : outcome == "throttled" && dynamo ? Signal::dynamodb_throttles
                                           : Signal::downstream_errors,
        dynamo ? "dynamodb" : aws);
    k.instance = first_label(s, {"pod", "job", "instance"});
  } else if (starts_with(n, "crest_aws_request_duration_seconds") ||
             n == "SuccessfulRequestLatency") {
    const bool dynamo = aws.empty() || aws == "dynamodb";
    set(ends_with(n, "_bucket") ? Signal::other
        : dynamo                ? Signal::dynamodb_latency
                                : Signal::downstream_latency,
        dynamo ? "dynamodb" : aws);
    k.instance = first_label(s, {"pod", "job", "instance"});
  } else if (starts_with(n, "http_client_request_duration_seconds")) {
    set(ends_with(n, "_bucket") ? Signal::other : Signal::downstream_latency,
        first_label(s, {"server_address", "peer_service", "peer"}));
  } else if (n == "http_client_errors_total") {
    set(Signal::downstream_errors, first_label(s, {"server_address", "peer_service", "peer"}));
  } else if (n == "crest_autoscaler_desired_replicas" ||
             n == "kube_horizontalpodautoscaler_status_desired_replicas") {
    set(Signal::replicas_desired);
  } else if (n == "crest_autoscaler_current_replicas" ||
             n == "kube_horizontalpodautoscaler_status_current_replicas" ||
             n == "kube_deployment_status_replicas_available") {
    set(Signal::replicas_current);
  } else if (n == "crest_autoscaler_max_replicas" ||
             n == "kube_horizontalpodautoscaler_spec_max_replicas") {
    set(Signal::replicas_max);
  } else if (n == "haproxy_backend_active_servers") {
    set(Signal::lb_active_servers, first_label(s, {"proxy", "backend"}));
  } else if (n == "haproxy_server_status" || n == "haproxy_server_up") {
    set(Signal::lb_server_up, first_label(s, {"proxy", "backend"}));
    k.instance = s.label("server");
    if (!s.label("state").empty()) {  // the exporter's one-series-per-state form: keep UP only
      set(s.label("state") == "UP" ? Signal::lb_server_up : Signal::other);
    }
  } else if (n == "haproxy_backend_http_responses_total") {
    set(s.label("code") == "5xx" ? Signal::lb_errors : Signal::throughput,
        first_label(s, {"proxy", "backend"}));
  } else if (n == "up") {
    // A scrape target that stops answering: a frozen or dead process. The scrape job names what
    // the target is when no other label does (job "redis": the cache's exporter).
    set(Signal::target_up, s.label("db_server").empty() ? component_of_container(k.component, "")
                                                        : "db:" + s.label("db_server"));
  } else if (n == "log_errors") {
    set(Signal::log_errors);
  } else if (n == "log_warnings") {
    set(Signal::log_warnings);
  }
  // Buckets are scored through their quantiles or sums. A long poll (SQS ReceiveMessage waits
  // up to 20 s for a message) lasts as long as the queue is empty: its duration is not latency.
  k.skipped = ends_with(n, "_bucket") || (starts_with(n, "crest_aws_request_duration_seconds") &&
                                          s.label("operation") == "ReceiveMessage");
  if (k.component.empty() || k.component == "db:" || k.component == "queue:") {
    k.component = k.component.empty() ? "unknown" : k.component + "unknown";
  }
  return k;
}

Series to_rate(const Series& c) {
  Series r{c.name, c.labels, {}, {}, c.source};
  for (std::size_t i = 1; i < c.t.size(); ++i) {
    const double dt = c.t[i] - c.t[i - 1];
    if (dt <= 0) {
      continue;
    }
    const double dv = c.v[i] >= c.v[i - 1] ? c.v[i] - c.v[i - 1] : c.v[i];
    r.t.push_back(c.t[i]);
    r.v.push_back(dv / dt);
  }
  return r;
}

namespace {

enum class Combine { keep, sum, sum_and_keep, max };

// How a signal's per-instance series combine into their component's: work and events add up
// (scaling out spreads them over more instances, and their sum stays what the component does);
// a queue's depth or age is one number that every instance reports; CPU is summed and also kept
// per instance (one hot instance is worth naming); memory stays per instance (a leak is in one).
Combine combine_of(Signal signal) {
  switch (signal) {
    case Signal::cpu:
      return Combine::sum_and_keep;
    case Signal::cpu_throttling:
    case Signal::in_flight:
    case Signal::pool_wait:
    case Signal::db_queries:
    case Signal::downstream_latency:
    case Signal::downstream_errors:
    case Signal::dynamodb_throttles:
    case Signal::dynamodb_latency:
    case Signal::cache_hits:
    case Signal::cache_misses:
    case Signal::cache_errors:
    case Signal::queue_dead_letters:
    case Signal::throughput:
    case Signal::restarts:
      return Combine::sum;
    case Signal::queue_depth:
    case Signal::queue_oldest_age:
    case Signal::outbox_pending:
      return Combine::max;
    default:
      return Combine::keep;
  }
}

constexpr const char* kInstanceLabels[] = {"pod", "instance", "node"};

}  // namespace

void aggregate_instances(std::vector<Series>& series) {
  struct Group {
    std::vector<std::size_t> members;
    Combine combine = Combine::keep;
    Labels labels;
  };
  std::map<std::string, Group> groups;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const auto kind = classify(s);
    const auto combine = combine_of(kind.signal);
    if (combine == Combine::keep || s.per_second || s.t.empty()) {
      continue;
    }
    Labels labels = s.labels;
    bool per_instance = false;
    for (const char* key : kInstanceLabels) {
      per_instance = labels.erase(key) > 0 || per_instance;
    }
    if (!per_instance) {
      continue;
    }
    // The component is part of the key: pods of different components stay apart even when the
    // rest of their labels agree.
    Series key{s.name, labels, {}, {}, {}};
    auto& g = groups[kind.component + "|" + key.display_name()];
    g.members.push_back(i);
    g.combine = combine;
    g.labels = std::move(labels);
  }
  std::vector<bool> drop(series.size(), false);
  std::vector<Series> added;
  for (auto& [key, g] : groups) {
    if (g.members.size() < 2) {
      continue;  // one instance: nothing to combine, and its pod label names it
    }
    const auto& first = series[g.members.front()];
    const bool counter = classify(first).counter;
    std::map<long long, double> values;  // by millisecond, so grids of equal steps line up
    for (auto i : g.members) {
      const Series rate = counter ? to_rate(series[i]) : Series{};
      const Series& s = counter ? rate : series[i];
      for (std::size_t j = 0; j < s.t.size(); ++j) {
        const auto ms = static_cast<long long>(std::llround(s.t[j] * 1000));
        auto [it, fresh] = values.emplace(ms, s.v[j]);
        if (!fresh) {
          it->second =
              g.combine == Combine::max ? std::max(it->second, s.v[j]) : it->second + s.v[j];
        }
      }
      if (g.combine != Combine::sum_and_keep) {
        drop[i] = true;
      }
    }
    Series total{first.name, g.labels, {}, {}, first.source};
    total.per_second = counter;
    for (const auto& [ms, v] : values) {
      total.t.push_back(static_cast<double>(ms) / 1000);
      total.v.push_back(v);
    }
    added.push_back(std::move(total));
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (!drop[i]) {
      if (kept != i) {
        series[kept] = std::move(series[i]);
      }
      ++kept;
    }
  }
  series.resize(kept);
  for (auto& s : added) {
    series.push_back(std::move(s));
  }
}

void add_derived_series(std::vector<Series>& series) {
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

namespace {

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
    case Signal::db_load:
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
    case Signal::pool_wait:
      absolute = 0.01;  // seconds spent waiting per second
      break;
    default:
      break;
  }
  return std::max(0.01 * std::abs(centre), absolute);
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

// A score beyond this is "certainly anomalous"; past it, the earlier mover ranks first.
constexpr double kScoreCap = 100;

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
  std::stable_sort(out.begin(), out.end(), [](const ScoredSeries& a, const ScoredSeries& b) {
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
      if (a.first_anomalous_t != b.first_anomalous_t) {
        return a.first_anomalous_t < b.first_anomalous_t;
      }
    }
    return a.score > b.score;
  });
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
