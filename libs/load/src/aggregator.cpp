#include "aggregator.hpp"

#include <thread>

namespace crest::load {
namespace {

class Aggregator {
 public:
  Aggregator(Engine& engine, RunResult& result)
      : engine_(engine),
        result_(result),
        interval_(MetricSet::for_plan(engine.plan)),
        total_s_(static_cast<double>(engine.plan.total_duration().count()) / 1e9) {}

  // One interval: ask every loop for its metrics, wait (briefly) for the handovers, merge.
  void tick() {
    interval_.reset();
    ++generation_;
    for (auto& loop : engine_.loops) {
      loop->metrics.requested.store(generation_, std::memory_order_release);
    }
    std::vector<bool> collected(engine_.loops.size(), false);
    const auto give_up = SteadyClock::now() + std::chrono::milliseconds(500);
    for (;;) {
      std::size_t pending = 0;
      for (std::size_t i = 0; i < engine_.loops.size(); ++i) {
        if (!collected[i]) {
          collected[i] = collect(*engine_.loops[i]);
          pending += collected[i] ? 0 : 1;
        }
      }
      // A loop that has not handed over in time keeps its interval for the next tick.
      if (pending == 0 || SteadyClock::now() >= give_up) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    close_interval(false);
  }

  // After every loop's thread has been joined: whatever they recorded since the last tick.
  void final_tick() {
    interval_.reset();
    for (auto& loop : engine_.loops) {
      interval_.merge(loop->metrics.handoff);
      interval_.merge(loop->metrics.recording);
      loop->metrics.handoff.reset();
      loop->metrics.recording.reset();
    }
    close_interval(true);
  }

 private:
  bool collect(EventLoop& loop) {
    auto& metrics = loop.metrics;
    if (loop.finished.load(std::memory_order_acquire)) {
      // Its thread no longer records: take everything.
      interval_.merge(metrics.handoff);
      interval_.merge(metrics.recording);
      metrics.handoff.reset();
      metrics.recording.reset();
      return true;
    }
    if (metrics.published.load(std::memory_order_acquire) != generation_) {
      return false;
    }
    interval_.merge(metrics.handoff);
    metrics.handoff.reset();
    return true;
  }

  void close_interval(bool final) {
    const auto& options = engine_.options;
    result_.totals.merge(interval_);
    TimelinePoint point;
    point.t = std::chrono::duration<double>(SteadyClock::now() - engine_.start).count();
    point.active_vus = engine_.active_vus.load();
    point.allocated_vus = engine_.allocated_vus.load();
    point.dropped = interval_.dropped;
    for (const auto& step : interval_.steps) {
      point.requests += step.requests;
      point.failures += step.failures;
      point.bytes_received += step.bytes_received;
      point.bytes_sent += step.bytes_sent;
      point.duration.merge(step.duration);
      point.step_requests.push_back(step.requests);
      point.step_failures.push_back(step.failures);
      point.step_histograms.push_back(step.duration.serialise());
    }
    if (final && result_.totals.scenarios.empty() && scenario_is_whole_run(engine_.plan)) {
      result_.totals.scenarios.push_back(whole_run_as_scenario(result_.totals));
    }
    result_.peak_vus = std::max(result_.peak_vus, point.active_vus);
    result_.timeline.push_back(std::move(point));
    const auto& last = result_.timeline.back();
    if (options.on_tick) {
      const Progress progress{last.t, total_s_, last.active_vus, &result_.totals, &last};
      options.on_tick(progress, final);
    }
    if (!final && options.should_abort && options.should_abort(result_.totals, last.t)) {
      result_.aborted = true;
      engine_.stop_requested = true;
      engine_.hard_stop_requested = true;
    }
  }

  Engine& engine_;
  RunResult& result_;
  MetricSet interval_;
  double total_s_;
  std::uint64_t generation_ = 0;
};

}  // namespace

void aggregate_until_done(Engine& engine, RunResult& result) {
  std::vector<std::thread> threads;
  for (auto& loop : engine.loops) {
    threads.emplace_back([&engine, event_loop = loop.get()] { engine.run_loop(*event_loop); });
  }
  Aggregator aggregator(engine, result);
  const int loop_count = static_cast<int>(engine.loops.size());
  const auto* stop = engine.options.stop;
  auto next_tick = engine.start + std::chrono::seconds(1);
  while (engine.loops_done.load() < loop_count) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (stop != nullptr && stop->load() && !engine.stop_requested.load()) {
      engine.stop_requested = true;
      result.aborted = true;
    }
    if (SteadyClock::now() >= next_tick && engine.loops_done.load() < loop_count) {
      aggregator.tick();
      next_tick += std::chrono::seconds(1);
    }
  }
  for (auto& thread : threads) {
    thread.join();
  }
  result.elapsed_s = std::chrono::duration<double>(SteadyClock::now() - engine.start).count();
  // The last partial interval (its point's t marks the real end).
  aggregator.final_tick();
  result.elapsed_s = std::max(result.elapsed_s, 1e-9);
}

}  // namespace crest::load
