// The Prometheus reader against a real prometheus on loopback, scraping a small fixture
// exporter (an http::Server in this process) every second.
#include "crest/autoscale/prometheus_reader.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "crest/http/client.hpp"
#include "crest/http/middleware.hpp"
#include "crest/http/server.hpp"
#include "crest/metrics/registry.hpp"
#include "crest/stack/child_process.hpp"

namespace crest::autoscale {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

const char* kAdapterValues = CREST_K8S_DIR "/monitoring/prometheus-adapter-values.yaml";

TEST(AdapterRules, ReadsTheDeployedPrometheusAdapterValues) {
  auto rules = read_adapter_rules(kAdapterValues);
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  ASSERT_EQ(rules->size(), 3U);
  EXPECT_EQ((*rules)[0].name, "http_server_request_duration_seconds_p95");
  EXPECT_EQ((*rules)[0].series, "http_server_request_duration_seconds_bucket");
  EXPECT_FALSE((*rules)[0].external);
  EXPECT_EQ((*rules)[2].name, "crest_queue_approximate_messages");
  EXPECT_TRUE((*rules)[2].external);
}

TEST(AdapterRules, BuildsTheAdapterQueries) {
  auto rules = read_adapter_rules(kAdapterValues);
  ASSERT_TRUE(rules.ok());
  PrometheusMetricsReader reader(*rules, {});
  auto p95 = reader.instance_query(
      {"catalog-1", "catalog-2"},
      {MetricSourceType::pods, "http_server_request_duration_seconds_p95", {}});
  ASSERT_TRUE(p95.ok()) << p95.error().message;
  EXPECT_EQ(*p95,
            "histogram_quantile(0.95, sum(rate(http_server_request_duration_seconds_bucket"
            "{namespace=\"crest\",pod=~\"catalog-1|catalog-2\"}[2m])) by (le, pod))");
  auto queue = reader.external_query({MetricSourceType::external,
                                      "crest_queue_approximate_messages",
                                      {{"queue", "orders"}, {"state", "visible"}}});
  ASSERT_TRUE(queue.ok());
  EXPECT_EQ(*queue,
            "max(crest_queue_approximate_messages{namespace=\"crest\",queue=\"orders\","
            "state=\"visible\"}) by (queue, state)");
  PrometheusReaderOptions shorter;
  shorter.rate_window = "10s";
  PrometheusMetricsReader local(*rules, shorter);
  EXPECT_THAT(*local.instance_query({"a"}, {MetricSourceType::resource, "cpu", {}}),
              HasSubstr("[10s])) by (pod)"));
  EXPECT_FALSE(reader.instance_query({"a"}, {MetricSourceType::pods, "no_such_metric", {}}).ok());
}

TEST(AdapterRules, RejectsARuleWithoutQuery) {
  auto rules = parse_adapter_rules("rules:\n  custom:\n    - seriesQuery: 'x{}'\n", "v.yaml");
  ASSERT_FALSE(rules.ok());
  EXPECT_THAT(rules.error().message, HasSubstr("v.yaml:3: rules.custom[0]"));
}

// What the fixture exporter serves: counters that grow with each scrape.
class FixtureExporter {
 public:
  FixtureExporter() {
    http::Router router;
    router.add("GET", "/fixture",
               [this](http::Request&) { return http::Response::text(200, render()); });
    http::ServerOptions options;
    options.port = 0;
    options.event_loops = 1;
    server_ = std::make_unique<http::Server>(options, std::move(router),
                                             std::vector<http::Middleware>{}, registry_);
    EXPECT_TRUE(server_->listen().ok());
    done_ = std::async(std::launch::async, [this] { server_->run(); });
  }
  ~FixtureExporter() {
    server_->drain();
    done_.wait();
  }
  std::uint16_t port() const { return server_->port(); }

 private:
  std::string render() {
    const double n = static_cast<double>(++scrapes_);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::string out;
    auto line = [&](const std::string& series, double value) {
      out += series + " " + std::to_string(value) + "\n";
    };
    // catalog-1: 10 requests a scrape between 0.25 and 0.5 s; catalog-2 between 0.05 and 0.1 s;
    // catalog-3 none (its quantile is NaN: no value).
    for (const auto& [pod, le_hit] :
         {std::pair{"catalog-1", 3}, std::pair{"catalog-2", 1}, std::pair{"catalog-3", 99}}) {
      const char* bounds[] = {"0.05", "0.1", "0.25", "0.5", "+Inf"};
      for (int b = 0; b < 5; ++b) {
        const double count = (b >= le_hit) ? 10 * n : 0;
        line(std::string("http_server_request_duration_seconds_bucket{namespace=\"crest\",pod=\"") +
                 pod + "\",le=\"" + bounds[b] + "\"}",
             count);
      }
    }
    line("container_cpu_usage_seconds_total{namespace=\"crest\",pod=\"catalog-1\"}", 0.5 * seconds);
    line("container_cpu_usage_seconds_total{namespace=\"crest\",pod=\"catalog-2\"}", 0.1 * seconds);
    line("container_memory_working_set_bytes{namespace=\"crest\",pod=\"catalog-1\"}", 200e6);
    line("container_memory_working_set_bytes{namespace=\"other\",pod=\"catalog-1\"}", 999e6);
    line("crest_queue_approximate_messages{namespace=\"crest\",queue=\"orders\",state=\"visible\"}",
         130);
    line(
        "crest_queue_approximate_messages{namespace=\"crest\",queue=\"orders\",state=\"inflight\"}",
        7);
    return out;
  }

  metrics::Registry registry_;
  std::unique_ptr<http::Server> server_;
  std::future<void> done_;
  std::atomic<int> scrapes_{0};
  const std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class PrometheusOnLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    auto program = stack::find_program("prometheus");
    if (!program) {
      GTEST_SKIP() << "prometheus is not installed (apt-get install prometheus)";
    }
    dir_ = std::filesystem::temp_directory_path() /
           ("crest-autoscale-prom-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    {
      std::ofstream config(dir_ / "prometheus.yml");
      config << "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                "scrape_configs:\n  - job_name: fixture\n    metrics_path: /fixture\n    "
                "static_configs:\n"
                "      - targets: ['127.0.0.1:"
             << exporter_.port() << "']\n";
    }
    auto port = stack::free_loopback_port();
    ASSERT_TRUE(port.ok());
    port_ = *port;
    stack::ProcessSpec spec;
    spec.program = *program;
    spec.args = {"--config.file=" + (dir_ / "prometheus.yml").string(),
                 "--storage.tsdb.path=" + (dir_ / "data").string(),
                 "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                 "--storage.tsdb.retention.time=1h"};
    spec.log_path = (dir_ / "prometheus.log").string();
    auto child = stack::spawn_and_wait(spec, port_, 10s, "prometheus");
    ASSERT_TRUE(child.ok()) << child.error().message;
    prometheus_.emplace(std::move(*child));
    // The port opens before the TSDB is loaded; /-/ready says when queries work.
    http::HttpClient client("127.0.0.1", port_);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      auto ready = client.send({"GET", "/-/ready", {}, ""});
      if (ready.ok() && ready->status == 200) {
        break;
      }
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "prometheus not ready in 10 s";
      std::this_thread::sleep_for(100ms);
    }
  }
  void TearDown() override {
    if (prometheus_) {
      prometheus_->stop(5s);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  FixtureExporter exporter_;
  std::filesystem::path dir_;
  std::uint16_t port_ = 0;
  std::optional<stack::ChildProcess> prometheus_;
};

TEST_F(PrometheusOnLoopback, ReadsPodsResourceAndExternalMetricsWithTheAdapterQueries) {
  auto rules = read_adapter_rules(kAdapterValues);
  ASSERT_TRUE(rules.ok());
  PrometheusReaderOptions options;
  options.port = port_;
  options.rate_window = "4s";  // the fixture's history is seconds long
  PrometheusMetricsReader reader(*rules, options);
  const std::vector<std::string> pods = {"catalog-1", "catalog-2", "catalog-3"};
  const MetricQuery p95{MetricSourceType::pods, "http_server_request_duration_seconds_p95", {}};

  // Wait until Prometheus has enough scrapes for a rate (at most ~10 s).
  InstanceValues latency;
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto got = reader.instance_values("catalog", pods, p95);
    ASSERT_TRUE(got.ok()) << got.error().message;
    if (got->size() == 2) {
      latency = *got;
      break;
    }
    std::this_thread::sleep_for(500ms);
  }
  ASSERT_EQ(latency.size(), 2U) << "no rate after 15 s";
  EXPECT_NEAR(latency["catalog-1"], 0.4875, 0.01);  // 0.25 + 0.95 x 0.25
  EXPECT_NEAR(latency["catalog-2"], 0.0975, 0.01);
  EXPECT_EQ(latency.count("catalog-3"), 0U);  // no requests: no value

  // rate() divides by the whole window: it is right once the history covers it.
  const MetricQuery cpu_query{MetricSourceType::resource, "cpu", {}};
  auto cpu = reader.instance_values("catalog", pods, cpu_query);
  while (cpu.ok() && std::fabs((*cpu)["catalog-1"] - 0.5) > 0.1 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(500ms);
    cpu = reader.instance_values("catalog", pods, cpu_query);
  }
  ASSERT_TRUE(cpu.ok()) << cpu.error().message;
  EXPECT_NEAR((*cpu)["catalog-1"], 0.5, 0.1);
  EXPECT_NEAR((*cpu)["catalog-2"], 0.1, 0.05);

  auto memory = reader.instance_values("catalog", pods, {MetricSourceType::resource, "memory", {}});
  ASSERT_TRUE(memory.ok());
  EXPECT_DOUBLE_EQ((*memory)["catalog-1"], 200e6);  // not the other namespace's

  auto backlog = reader.external_value({MetricSourceType::external,
                                        "crest_queue_approximate_messages",
                                        {{"queue", "orders"}, {"state", "visible"}}});
  ASSERT_TRUE(backlog.ok()) << backlog.error().message;
  EXPECT_DOUBLE_EQ(*backlog, 130);

  auto absent = reader.external_value(
      {MetricSourceType::external, "crest_queue_approximate_messages", {{"queue", "none"}}});
  EXPECT_FALSE(absent.ok());
}

TEST(PrometheusReader, ReportsAnUnreachablePrometheus) {
  auto port = stack::free_loopback_port();
  ASSERT_TRUE(port.ok());
  PrometheusReaderOptions options;
  options.port = *port;
  options.timeout = 500ms;
  PrometheusMetricsReader reader({}, options);
  auto got = reader.instance_values("x", {"a"}, {MetricSourceType::resource, "cpu", {}});
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.error().message, HasSubstr("Prometheus at 127.0.0.1:"));
}

}  // namespace
}  // namespace crest::autoscale
