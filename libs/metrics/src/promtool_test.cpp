// The exposition is checked by the reference implementation itself: `promtool check metrics`
// parses it with Prometheus's own parser and applies its lint rules.
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "crest/metrics/process_metrics.hpp"
#include "crest/metrics/registry.hpp"

namespace crest::metrics {
namespace {

constexpr const char* kPromtool = "/usr/bin/promtool";

struct CommandResult {
  int exit_status = -1;
  std::string output;
};

CommandResult run(const std::string& command) {
  CommandResult result;
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) {
    return result;
  }
  char buf[512];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) {
    result.output.append(buf, n);
  }
  const int status = ::pclose(pipe);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class PromtoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kPromtool, X_OK) != 0) {
      GTEST_SKIP() << kPromtool << " not found; install the prometheus package to run this check";
    }
    path_ = std::filesystem::temp_directory_path() /
            ("crest_metrics_promtool_" + std::to_string(::getpid()) + ".prom");
  }
  void TearDown() override {
    if (!path_.empty()) {
      std::filesystem::remove(path_);
    }
  }

  CommandResult check(const std::string& text) {
    {
      std::ofstream out(path_, std::ios::binary);
      out << text;
    }
    return run(std::string(kPromtool) + " check metrics < " + path_.string());
  }

  std::filesystem::path path_;
};

TEST_F(PromtoolTest, AcceptsEveryMetricType) {
  Registry registry;
  register_process_metrics(registry);
  auto& accepted =
      registry.counter_family("crest_orders_accepted_total",
                              "Orders accepted, by \"service\".\nSecond line \\.", {"service"});
  accepted.with({"orders"}).inc(3);
  accepted.with({"odd \"value\"\\ with\nnewline"}).inc(0.5);
  registry.counter("crest_relay_published_total", "Outbox rows published.").inc();
  auto& depth =
      registry.gauge_family("crest_queue_depth", "Messages in the queue.", {"queue", "state"});
  depth.with({"orders", "visible"}).set(3);
  depth.with({"orders", "in_flight"}).set(-1.5e-7);
  registry.gauge("crest_nan_value", "A gauge holding NaN.")
      .set(std::numeric_limits<double>::quiet_NaN());
  registry.gauge("crest_inf_value", "A gauge holding +Inf.")
      .set(std::numeric_limits<double>::infinity());
  auto& duration = registry.histogram_family(
      "http_server_request_duration_seconds", "Duration of HTTP server requests.",
      {"http_route", "http_request_method", "http_response_status_code"});
  duration.with({"/api/products/{id}", "GET", "200"}).observe(0.012);
  duration.with({"/api/checkout", "POST", "202"}).observe(0.3);
  registry.histogram("crest_batch_size_bytes", "Batch size.", exponential_buckets(1, 10, 8))
      .observe(12345);
  registry.callback_gauge("crest_cache_entries", "Entries in the cache.", [] { return 7.0; });

  const std::string text = registry.render();
  const CommandResult result = check(text);
  EXPECT_EQ(result.exit_status, 0) << result.output << "\n--- exposition ---\n" << text;
}

TEST_F(PromtoolTest, CatchesBrokenExposition) {
  // Proves the harness can fail: a counter without _total is a lint error.
  const CommandResult result = check("# HELP bad Bad.\n# TYPE bad counter\nbad 1\n");
  EXPECT_NE(result.exit_status, 0) << result.output;
}

}  // namespace
}  // namespace crest::metrics
