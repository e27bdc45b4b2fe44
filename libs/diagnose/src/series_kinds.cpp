// What each series is (its component, signal and kind, classify), counters as rates and
// instances combined per component; the series derived from these are in derived_series.cpp.
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
    case Signal::capacity_wait:
      return "capacity_wait";
    case Signal::db_rows_examined:
      return "db_rows_examined";
    case Signal::lb_active_servers:
      return "lb_active_servers";
    case Signal::lb_server_up:
      return "lb_server_up";
    case Signal::lb_errors:
      return "lb_errors";
    case Signal::lb_added_latency:
      return "lb_added_latency";
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
  } else if (n == "crest_db_aas" || n == "crest_db_seconds_per_call" ||
             n == "mysql_global_status_threads_running" || n == "DBLoad") {
    set(Signal::db_load,
        "db:" + first_label(s, {"db_server", "server", "instance", "DBInstanceIdentifier", "id"}));
  } else if (n == "crest_db_digest_aas" || n == "crest_db_digest_seconds_per_call") {
    set(Signal::db_digest_load, "db:" + first_label(s, {"db_server", "server", "instance"}));
  } else if (n == "crest_db_digest_rows_examined" || n == "crest_db_digest_rows_per_call") {
    set(Signal::db_rows_examined, "db:" + first_label(s, {"db_server", "server", "instance"}));
  } else if (starts_with(n, "crest_db_slow_quer") || n == "mysql_global_status_slow_queries") {
    set(Signal::db_slow_queries, "db:" + first_label(s, {"db_server", "server", "instance"}));
    k.counter = n == "mysql_global_status_slow_queries" && !s.per_second;
  } else if (n == "crest_db_queries_total" || n == "mysql_global_status_questions") {
    set(Signal::db_queries, "db:" + first_label(s, {"db_server", "server", "instance"}));
    k.instance = service_of(s);
  } else if (starts_with(n, "crest_db_query_duration_seconds")) {
    set(ends_with(n, "_bucket")  ? Signal::other
        : ends_with(n, "_count") ? Signal::throughput
                                 : Signal::downstream_latency,
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
  } else if (starts_with(n, "crest_cache_request_duration_seconds")) {
    set(ends_with(n, "_bucket")  ? Signal::other
        : ends_with(n, "_count") ? Signal::throughput
                                 : Signal::downstream_latency,
        s.label("cache") == "local" ? std::string() : "cache");
    k.instance = service_of(s);
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
    set(ends_with(n, "_bucket")  ? Signal::other
        : ends_with(n, "_count") ? Signal::throughput
        : dynamo                 ? Signal::dynamodb_latency
                                 : Signal::downstream_latency,
        dynamo ? "dynamodb" : aws);
    k.instance = first_label(s, {"pod", "job", "instance"});
  } else if (starts_with(n, "http_client_request_duration_seconds")) {
    set(ends_with(n, "_bucket")  ? Signal::other
        : ends_with(n, "_count") ? Signal::throughput
                                 : Signal::downstream_latency,
        first_label(s, {"server_address", "peer_service", "peer"}));
  } else if (n == "http_client_errors_total") {
    set(Signal::downstream_errors, first_label(s, {"server_address", "peer_service", "peer"}));
  } else if (n == "crest_pod_pending_seconds" || n == "crest_node_provisioning_seconds") {
    set(Signal::capacity_wait);
    k.provides_capacity = n == "crest_node_provisioning_seconds";
  } else if (n == "crest_autoscaler_unmet_replicas" || n == "crest_autoscaler_desired_replicas" ||
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
  } else if (n == kLbAddedSeries) {
    set(Signal::lb_added_latency);
  } else if (n == "haproxy_backend_response_time_average_seconds" || n == kOwnMeanSeries ||
             n == kLbRequestSeries) {
    // Inputs of lb_added_response_seconds only: each alone moves with any slowdown of the service.
    k.skipped = true;
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
  k.per_call = ends_with(n, "_per_call");
  k.skipped = k.skipped || ends_with(n, "_bucket") ||
              (starts_with(n, "crest_aws_request_duration_seconds") &&
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

// Removes the series flagged in `drop`, keeping the others in order.
void remove_flagged(std::vector<Series>& series, const std::vector<bool>& drop) {
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
}

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
  remove_flagged(series, drop);
  for (auto& s : added) {
    series.push_back(std::move(s));
  }
}

}  // namespace crest::diagnose
