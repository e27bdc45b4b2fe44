#pragma once
// What a run leaves behind: the k6-style end summary, JSON (summary, per-second timeline and
// serialised histograms), CSV (per-second series), the Prometheus text for --metrics-addr, and
// the `crest run` command that ties plan, engine and outputs together.
#include <memory>
#include <string>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/load/engine.hpp"

namespace crest::load {

std::string format_summary(const Plan& plan, const RunResult& run, const std::vector<ThresholdResult>& thresholds);
std::string format_json(const Plan& plan, const RunResult& run, const std::vector<ThresholdResult>& thresholds);
std::string format_csv(const Plan& plan, const RunResult& run);
std::string format_progress(const Progress& p, std::uint64_t dropped_total);
std::string format_prometheus(const Plan& plan, const MetricSet& totals, int active_vus);

// A tiny plain-text HTTP responder for GET /metrics on its own thread.
class MetricsEndpoint {
 public:
  MetricsEndpoint();
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;
  Result<void> start(const std::string& host_port);  // "127.0.0.1:9464" (port 0: any)
  unsigned short port() const;
  void update(std::string text);
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `crest run PLAN [flags]`: exit 0 on success, 2 on plan or usage errors (nothing sent),
// 99 when a threshold is breached, 1 when the run could not start.
int run_command(int argc, char** argv);

}  // namespace crest::load
