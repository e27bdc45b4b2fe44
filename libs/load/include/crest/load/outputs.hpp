#pragma once
// What a run leaves behind: the k6-style end summary, JSON (summary, per-second timeline and
// serialised histograms), CSV (per-second series), the Prometheus text for --metrics-addr (served
// by MetricsEndpoint) and JTL rows (src/jtl.cpp).
#include <memory>
#include <string>
#include <vector>

#include "crest/load/engine.hpp"

namespace crest::load {

std::string format_summary(const Plan& plan, const RunResult& run,
                           const std::vector<ThresholdResult>& thresholds);
std::string format_json(const Plan& plan, const RunResult& run,
                        const std::vector<ThresholdResult>& thresholds);
std::string format_csv(const Plan& plan, const RunResult& run);
// --out html=FILE: one self-contained page (uPlot and the page script compiled in, no network)
// with the run's time series (rate, latency percentiles, errors, VUs, dropped) and its summary
// tables; libs/report's page, built from the format_json document.
std::string format_html(const Plan& plan, const RunResult& run,
                        const std::vector<ThresholdResult>& thresholds);
std::string format_progress(const Progress& p, std::uint64_t dropped_total);
std::string format_prometheus(const Plan& plan, const MetricSet& totals, int active_vus);

// The JMeter 5 default JTL header (--out jtl=FILE; rows: src/jtl.cpp).
inline constexpr const char* kJtlHeader =
    "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,"
    "failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect";

}  // namespace crest::load
