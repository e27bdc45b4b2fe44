#include "crest/demo/prometheus_capture.hpp"

#include <fmt/format.h>

#include "crest/http/client.hpp"

namespace crest::demo {
std::vector<CaptureQuery> stack_capture_queries() {
  return {
      {"cpu", "CPU per service", "cores", "resources",
       "sum by (container) (rate(container_cpu_usage_seconds_total{namespace=\"crest\"}[5s]))"},
      {"memory", "Memory per service (working set)", "bytes", "resources",
       "sum by (container) (container_memory_working_set_bytes{namespace=\"crest\"})"},
      {"throttled", "CPU throttled periods per service", "periods/s", "resources",
       "sum by (container) "
       "(rate(container_cpu_cfs_throttled_periods_total{namespace=\"crest\"}[5s]))"},
      {"service_p99", "Service p99 latency (server side)", "s", "latency",
       "histogram_quantile(0.99, sum by (le, service) "
       "(rate(http_server_request_duration_seconds_bucket[5s])))"},
      {"db_queries", "Database queries per server", "queries/s", "database",
       "sum by (db_server) (rate(mysql_global_status_queries[5s]))"},
      {"db_threads", "Database threads running (load)", "threads", "database",
       "sum by (db_server) (mysql_global_status_threads_running)"},
      {"replica_lag", "Replica lag", "s", "database",
       "max by (db_server) (mysql_slave_status_seconds_behind_master)"},
      {"cache_hit_ratio", "Cache hit ratio", "ratio", "cache",
       "sum(rate(crest_cache_requests_total{result=\"hit\"}[5s])) / "
       "sum(rate(crest_cache_requests_total[5s]))"},
      {"queue_depth", "Queue depth", "messages", "queue",
       "max by (queue) (crest_queue_approximate_messages)"},
      {"queue_age", "Oldest message age", "s", "queue",
       "max by (queue) (crest_queue_oldest_message_age_seconds)"},
      {"orders_pending", "Orders pending", "orders", "queue", "max(crest_orders_pending)"},
      {"instances", "Instances serving per service", "instances", "scaling",
       "sum by (service) (crest_stack_replicas{state=\"ready\"})"},
      {"dynamodb_throttles", "DynamoDB throttles", "1/s", "database",
       "sum(rate(crest_aws_throttled_total{service=\"dynamodb\"}[5s]))"},
  };
}

Result<nlohmann::json> capture_prometheus(const std::string& base_url,
                                          const std::vector<CaptureQuery>& queries, double from,
                                          double to, double step_s) {
  auto host_port = http::parse_base_url(base_url);
  if (!host_port.ok()) return host_port.error();
  http::ClientOptions options;
  options.request_timeout = std::chrono::seconds(10);
  options.response_body_limit = 64 * 1024 * 1024;
  http::HttpClient client(host_port->host, host_port->port, options);
  nlohmann::json capture{{"queries", nlohmann::json::object()},
                         {"skipped", nlohmann::json::array()},
                         {"prometheus", base_url},
                         {"from", from},
                         {"to", to}};
  for (const auto& q : queries) {
    http::ClientRequest request;
    request.target = fmt::format("/api/v1/query_range?query={}&start={:.3f}&end={:.3f}&step={}",
                                 http::url_encode(q.expr), from, to, step_s);
    auto response = client.send(request);
    if (!response.ok()) {
      return Error{response.error().kind,
                   fmt::format("Prometheus {}: {}", base_url, response.error().message)};
    }
    nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
    if (response->status != 200 || body.is_discarded() || body.value("status", "") != "success") {
      capture["skipped"].push_back(
          {{"id", q.id}, {"status", response->status}, {"body", response->body.substr(0, 200)}});
      continue;
    }
    capture["queries"][q.id] = {{"title", q.title},
                                {"unit", q.unit},
                                {"family", q.family},
                                {"expr", q.expr},
                                {"data", std::move(body)}};
  }
  return capture;
}

}  // namespace crest::demo
