#pragma once
// A MetricsReader over Prometheus's HTTP API (/api/v1/query) that runs the queries the
// Prometheus Adapter would: custom (Pods) and external metrics come from the adapter's rules in
// deploy/k8s/monitoring/prometheus-adapter-values.yaml (seriesQuery, name.as, metricsQuery with
// <<.Series>>, <<.LabelMatchers>> and <<.GroupBy>>); cpu and memory, which metrics-server serves
// on a cluster, from the cAdvisor series the stack publishes per instance
// (container_cpu_usage_seconds_total, container_memory_working_set_bytes).
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "crest/autoscale/controller.hpp"

namespace crest::http {
class HttpClient;
}

namespace crest::autoscale {

struct AdapterRule {
  std::string name;           // the metric's name for HPAs (name.as, or the series name)
  std::string series;         // the series the seriesQuery selects
  std::string metrics_query;  // the template
  bool external = false;
};

// Parses the Helm values' rules.custom and rules.external; errors name source, line and field.
Result<std::vector<AdapterRule>> parse_adapter_rules(std::string_view yaml,
                                                     const std::string& source);
Result<std::vector<AdapterRule>> read_adapter_rules(const std::string& path);

struct PrometheusReaderOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9090;
  std::string pod_label = "pod";  // the label naming an instance, as on Kubernetes
  std::map<std::string, std::string> matchers = {{"namespace", "crest"}};  // added to every query
  std::string cpu_query =
      "sum(rate(container_cpu_usage_seconds_total{<<.LabelMatchers>>}[30s])) by (<<.GroupBy>>)";
  std::string memory_query =
      "sum(container_memory_working_set_bytes{<<.LabelMatchers>>}) by (<<.GroupBy>>)";
  // When set (e.g. "15s"), replaces every range selector's duration, for short local windows.
  std::optional<std::string> rate_window;
  std::chrono::milliseconds timeout{2'000};
};

class PrometheusMetricsReader final : public MetricsReader {
 public:
  PrometheusMetricsReader(std::vector<AdapterRule> rules, PrometheusReaderOptions options);
  ~PrometheusMetricsReader() override;

  Result<InstanceValues> instance_values(const std::string& workload,
                                         const std::vector<std::string>& instances,
                                         const MetricQuery& metric) override;
  Result<double> external_value(const MetricQuery& metric) override;

  // The PromQL it runs, for logs, docs and tests.
  Result<std::string> instance_query(const std::vector<std::string>& instances,
                                     const MetricQuery& metric) const;
  Result<std::string> external_query(const MetricQuery& metric) const;

 private:
  struct Sample {
    std::map<std::string, std::string> labels;
    double value = 0;
  };
  Result<std::vector<Sample>> run(const std::string& promql);
  static std::vector<Sample> samples_of(const nlohmann::json& data);  // throws on bad shapes

  std::vector<AdapterRule> rules_;
  PrometheusReaderOptions options_;
  std::mutex mutex_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace crest::autoscale
