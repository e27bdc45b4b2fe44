// run_plan's setup: resolve the origins, size the event loops and their share of the virtual
// users, open the JTL, then hand over to the aggregator.
#include <algorithm>
#include <chrono>
#include <thread>

#include "aggregator.hpp"
#include "engine_state.hpp"

namespace crest::load {

namespace {

// One run of the load model; `once` (a setup or teardown journey) runs that journey instead of
// the weighted ones, and its last variables come back in *final_vars.
RunResult run_load(const Plan& plan, const RunOptions& options, int once,
                   std::vector<std::string>* final_vars) {
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
  for (std::size_t j = 0; j < plan.journeys.size(); ++j) {
    if (plan.journeys[j].weight > 0) {
      weight += plan.journeys[j].weight;
      engine.cumulative_weights.push_back(weight);
      engine.pickable.push_back(j);
    }
  }
  engine.forced_journey = once;
  // The processes of a --processes run share a shared-iterations total between them.
  engine.shared_budget = load.iterations / shards + (shard < load.iterations % shards ? 1 : 0);
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
  if (final_vars != nullptr) {
    *final_vars = std::move(engine.final_vars);
  }
  return result;
}

// A setup or teardown run: one VU, one iteration of that journey, within its timeout.
RunResult run_once(const Plan& plan, const RunOptions& options, int journey, Duration timeout,
                   std::vector<std::string>* final_vars) {
  Plan once = plan;
  once.load = LoadSpec{};
  once.load.executor = Executor::shared_iterations;
  once.load.vus = 1;
  once.load.iterations = 1;
  once.load.duration = timeout;
  once.load.graceful_stop = Duration{};
  once.load.threads = 1;
  RunOptions run = options;
  run.threads = 1;
  run.shard_index = 0;
  run.shard_count = 1;
  run.jtl_path.clear();
  run.on_tick = nullptr;
  run.should_abort = nullptr;
  return run_load(once, run, journey, final_vars);
}

std::uint64_t failed_samples(const MetricSet& totals) {
  return totals.failures();
}

}  // namespace

RunResult run_plan(const Plan& plan, const RunOptions& options) {
  if (plan.setup < 0 && plan.teardown < 0) {
    return run_load(plan, options, -1, nullptr);
  }
  // setup: once, before the load; what it captured starts every VU's variables.
  Plan main = plan;
  RunResult setup;
  if (plan.setup >= 0) {
    std::vector<std::string> vars;
    setup = run_once(plan, options, plan.setup, plan.setup_timeout, &vars);
    if (!setup.error.empty()) {
      return setup;
    }
    const auto& stats = setup.totals.journeys[static_cast<std::size_t>(plan.setup)];
    if (stats.iterations == 0 || stats.failed > 0 || vars.empty()) {
      RunResult failed = std::move(setup);
      failed.error =
          "setup failed (" + std::to_string(failed_samples(failed.totals)) + " of " +
          std::to_string(failed.totals.requests()) +
          " requests failed, or it ran past its timeout of " +
          format_ms(std::chrono::duration<double, std::milli>(plan.setup_timeout).count()) +
          "); the load did not start";
      for (const auto& note : failed.notes) {
        failed.error += "\n  " + note;
      }
      return failed;
    }
    // Captured slots only: feeds and {{ vu }} are per VU, and setup's feed rows are its own.
    for (const auto& step : plan.journeys[static_cast<std::size_t>(plan.setup)].steps) {
      for (const auto& capture : step.captures) {
        const auto slot = static_cast<std::size_t>(capture.slot);
        main.initial_values[slot] = vars[slot];
      }
    }
  }
  RunResult result = run_load(main, options, -1, nullptr);
  if (!result.error.empty()) {
    return result;
  }
  result.totals.merge(setup.totals);
  result.notes.insert(result.notes.end(), setup.notes.begin(), setup.notes.end());
  // teardown: once, after the load, whatever the load did (unless it was interrupted).
  if (plan.teardown >= 0 && !(options.stop != nullptr && options.stop->load())) {
    std::vector<std::string> vars;
    const auto teardown = run_once(main, options, plan.teardown, plan.teardown_timeout, &vars);
    result.totals.merge(teardown.totals);
    result.notes.insert(result.notes.end(), teardown.notes.begin(), teardown.notes.end());
    if (!teardown.error.empty()) {
      result.notes.push_back("teardown could not run: " + teardown.error);
    }
  }
  return result;
}

}  // namespace crest::load
