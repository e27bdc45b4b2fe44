// run_plan's setup: resolve the origins, size the event loops and their share of the virtual
// users, open the JTL, then hand over to the aggregator.
#include <algorithm>
#include <chrono>
#include <thread>

#include "aggregator.hpp"
#include "engine_state.hpp"

namespace crest::load {

RunResult run_plan(const Plan& plan, const RunOptions& options) {
  RunResult result;
  result.start_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  result.totals = MetricSet(plan.step_names.size(), plan.journeys.size(), plan.groups.size(),
                            plan.check_names.size());
  Engine engine(plan, options);
  // Resolve every origin once, before anything is sent.
  auto endpoints = Endpoints::resolve(plan);
  if (!endpoints.ok()) {
    result.error = endpoints.error().message;
    return result;
  }
  engine.endpoints = std::move(*endpoints);
  const auto& load = plan.load;
  const int peak = std::max(1, load.peak_vus());
  const int shards = std::max(1, options.shard_count);
  const int shard = std::clamp(options.shard_index, 0, shards - 1);
  int threads = options.threads > 0 ? options.threads : load.threads;
  if (threads <= 0) {
    threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  }
  threads = std::max(1, std::min(threads, peak / shards));
  engine.loop_count = threads * shards;
  engine.feeds.set_shard(shard, shards);
  if (load.source_addresses > 0) {
    engine.source_addresses = load.source_addresses;
  } else if (peak > 5000 && (*engine.endpoints)[0].loopback_v4) {
    // Past a few thousand connections from one source address the kernel's ephemeral-port search
    // in connect() grows to milliseconds per call (measured: 1.2 ms at 14 000), and past ~28 000
    // it runs out: give each loopback source address at most 5 000 connections.
    engine.source_addresses = std::min(250, peak / 5000 + 1);
  }
  engine.arrivals = ArrivalSchedule::from(load);
  engine.vu_schedule = VuSchedule::from(load);
  double weight = 0;
  for (const auto& journey : plan.journeys) {
    weight += journey.weight;
    engine.cumulative_weights.push_back(weight);
  }
  if (!options.jtl_path.empty()) {
    if (auto opened = engine.jtl.open(options.jtl_path); !opened.ok()) {
      result.error = opened.error().message;
      return result;
    }
  }
  for (int i = 0; i < threads; ++i) {
    const int global = shard * threads + i;  // this loop's index in the whole run
    auto loop = std::make_unique<EventLoop>(engine, global, plan);
    loop->check_passed.reserve(16);
    const auto share = [&](int total) {
      return static_cast<std::size_t>(total / engine.loop_count +
                                      (global < total % engine.loop_count ? 1 : 0));
    };
    const auto vu_index = [&](std::size_t k) {
      return static_cast<std::uint64_t>(global) + k * static_cast<std::uint64_t>(engine.loop_count);
    };
    if (load.is_open_model()) {
      loop->max_vus_here = share(load.max_vus);
      const auto pre_allocated = share(load.pre_allocated_vus);
      for (std::size_t k = 0; k < pre_allocated; ++k) {
        loop->free_vus.push_back(&engine.new_vu(*loop, vu_index(k)));
      }
    } else {
      loop->max_vus_here = share(peak);
      for (std::size_t k = 0; k < loop->max_vus_here; ++k) {
        engine.new_vu(*loop, vu_index(k));
      }
    }
    engine.loops.push_back(std::move(loop));
  }

  engine.start = SteadyClock::now();
  engine.end = engine.start + load.total_duration();
  engine.hard_deadline = engine.end + load.graceful_stop;
  aggregate_until_done(engine, result);
  result.threads = threads;
  result.peak_vus = std::max(result.peak_vus, engine.peak_active.load());
  result.source_addresses = engine.source_addresses;
  result.seed = options.seed;
  result.notes = std::move(engine.notes);
  return result;
}

}  // namespace crest::load
