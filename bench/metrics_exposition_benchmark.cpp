// Cost of the metrics hot path (inc, observe, with() lookup) and of one /metrics scrape.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "crest/metrics/registry.hpp"

namespace {

using crest::metrics::Counter;
using crest::metrics::Histogram;
using crest::metrics::Registry;

// Appends rather than `"lit" + std::to_string(i)`, which trips GCC 12's false -Wrestrict at -O2.
std::string numbered(std::string prefix, int i) {
  prefix += std::to_string(i);
  return prefix;
}

void BM_CounterInc(benchmark::State& state) {
  static Registry registry;
  static Counter& counter = registry.counter("bench_hits_total", "Bench.");
  for (auto _ : state) {
    counter.inc();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterInc);
BENCHMARK(BM_CounterInc)->Threads(2);

void BM_CounterIncFraction(benchmark::State& state) {
  static Registry registry;
  static Counter& counter = registry.counter("bench_fraction_total", "Bench.");
  for (auto _ : state) {
    counter.inc(0.5);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterIncFraction);

void BM_HistogramObserve(benchmark::State& state) {
  // Shared across threads on purpose: that is how request handlers use it.
  static Registry registry;
  static Histogram& histogram =
      registry.histogram_family("bench_duration_seconds", "Bench.", {"route"}).with({"/api"});
  double value = 0.0001;
  for (auto _ : state) {
    histogram.observe(value);
    value = value > 20 ? 0.0001 : value * 1.7;  // walk across all buckets
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve);
BENCHMARK(BM_HistogramObserve)->Threads(2);

void BM_WithLookup(benchmark::State& state) {
  static Registry registry;
  static auto& family =
      registry.histogram_family("bench_lookup_seconds", "Bench.",
                                {"http_route", "http_request_method", "http_response_status_code"});
  for (int i = 0; i < 20; ++i) {
    family.with({numbered("/api/route", i), "GET", "200"});
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(&family.with({"/api/route7", "GET", "200"}));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WithLookup);
BENCHMARK(BM_WithLookup)->Threads(2);

// About 50 series: a service's HTTP histograms plus counters and gauges.
void BM_Render50Series(benchmark::State& state) {
  Registry registry;
  auto& duration = registry.histogram_family(
      "http_server_request_duration_seconds", "Duration of HTTP server requests.",
      {"http_route", "http_request_method", "http_response_status_code"});
  for (int i = 0; i < 10; ++i) {
    duration.with({numbered("/api/route", i), "GET", "200"}).observe(0.01 * i);
  }
  auto& orders = registry.counter_family("crest_orders_total", "Orders.", {"status"});
  auto& depth = registry.gauge_family("crest_queue_depth", "Depth.", {"queue", "state"});
  for (int i = 0; i < 20; ++i) {
    orders.with({numbered("s", i)}).inc(i);
    depth.with({numbered("q", i), "visible"}).set(i * 1.5);
  }
  std::string out;
  std::size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    registry.render_to(out);
    bytes += out.size();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
  state.counters["series"] = 10 + 20 + 20;
  state.counters["lines"] = static_cast<double>(std::count(out.begin(), out.end(), '\n'));
}
BENCHMARK(BM_Render50Series);

}  // namespace

BENCHMARK_MAIN();
