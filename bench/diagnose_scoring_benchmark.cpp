// crest diagnose must answer in under 1 s for 400 series x 1,800 samples (issue #11): the whole
// diagnosis (window, robust scoring, ranking, rules) and, for comparison, the NSigma scorer alone.
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "crest/diagnose/diagnosis.hpp"

namespace {

using namespace crest::diagnose;

constexpr int kSamples = 1800;
constexpr double kT0 = 1796025600;
constexpr double kOnset = kT0 + 1200;

// 399 candidate series (a third of them counters) plus the load run's p99; one of them moves.
Inputs make_inputs() {
  std::mt19937 rng(42);
  std::normal_distribution<double> noise(0, 1);
  Inputs in;
  Series p99{"load_p99_ms", {{"component", "load"}}, {}, {}, "bench"};
  for (int i = 0; i < kSamples; ++i) {
    p99.t.push_back(kT0 + i);
    p99.v.push_back((kT0 + i < kOnset ? 30 : 300) + noise(rng));
  }
  in.series.push_back(std::move(p99));
  for (int s = 0; s < 399; ++s) {
    const bool counter = s % 3 == 0;
    Series x{counter ? "container_cpu_usage_seconds_total" : "container_memory_working_set_bytes",
             {{"container", "svc" + std::to_string(s)}},
             {},
             {},
             "bench"};
    double total = 0;
    for (int i = 0; i < kSamples; ++i) {
      const double level = (s == 7 && kT0 + i >= kOnset) ? 3.0 : 1.0;
      const double v = level + 0.1 * noise(rng);
      total += v;
      x.t.push_back(kT0 + i);
      x.v.push_back(counter ? total : v * 1e8);
    }
    in.series.push_back(std::move(x));
  }
  return in;
}

void BM_Diagnose400x1800(benchmark::State& state) {
  const auto inputs = make_inputs();
  for (auto _ : state) {
    auto d = diagnose(inputs);
    benchmark::DoNotOptimize(d.causes.data());
  }
}
BENCHMARK(BM_Diagnose400x1800)->Unit(benchmark::kMillisecond);

void BM_ScoreRobust400x1800(benchmark::State& state) {
  const auto inputs = make_inputs();
  const AnomalyWindow window{kOnset, kT0 + kSamples, true, "bench"};
  for (auto _ : state) {
    auto scored = score_series(inputs.series, window, {Scorer::robust});
    benchmark::DoNotOptimize(scored.data());
  }
}
BENCHMARK(BM_ScoreRobust400x1800)->Unit(benchmark::kMillisecond);

void BM_ScoreNSigma400x1800(benchmark::State& state) {
  const auto inputs = make_inputs();
  const AnomalyWindow window{kOnset, kT0 + kSamples, true, "bench"};
  for (auto _ : state) {
    auto scored = score_series(inputs.series, window, {Scorer::nsigma});
    benchmark::DoNotOptimize(scored.data());
  }
}
BENCHMARK(BM_ScoreNSigma400x1800)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
