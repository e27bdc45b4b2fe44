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
  result.totals = MetricSet::for_plan(plan);
  Engine engine(plan, options);
  // Resolve every origin once, before anything is sent.
  auto endpoints = Endpoints::resolve(plan);
  if (!endpoints.ok()) {
    result.error = endpoints.error().message;
    return result;
  }
  engine.endpoints = std::move(*endpoints);
  const auto& load = plan.load;
  const int peak = std::max(1, plan.peak_vus());
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
  engine.forced_journey = once;
  for (std::size_t i = 0; i < plan.scenarios.size(); ++i) {
    const auto& spec = plan.scenarios[i];
    auto scenario = std::make_unique<ScenarioRun>(spec, static_cast<int>(i));
    scenario->arrivals = ArrivalSchedule::from(spec.load);
    scenario->vu_schedule = VuSchedule::from(spec.load);
    double weight = 0;
    for (const auto& [journey, journey_weight] : spec.journeys) {
      if (journey_weight > 0) {
        weight += journey_weight;
        scenario->cumulative_weights.push_back(weight);
        scenario->pickable.push_back(journey);
      }
    }
    const int scenario_vus = std::max(1, spec.load.peak_vus());
    // Arrivals go to the loops that can have VUs of this scenario (VU i lives on loop i mod N).
    scenario->arrival_loops = std::min(engine.loop_count, scenario_vus);
    // A shared-iterations total is shared by the processes that hold VUs of the scenario: the
    // first ceil(vus / threads) of them.
    const int holding = std::min(shards, (scenario_vus + threads - 1) / threads);
    if (shard < holding) {
      const auto total = spec.load.iterations;
      scenario->shared_budget = total / holding + (shard < total % holding ? 1 : 0);
    }
    engine.scenarios.push_back(std::move(scenario));
  }
  if (!options.jtl_path.empty()) {
    if (auto opened = engine.jtl.open(options.jtl_path, options.jtl_append); !opened.ok()) {
      result.error = opened.error().message;
      return result;
    }
  }
  for (int i = 0; i < threads; ++i) {
    const int global = shard * threads + i;  // this loop's index in the whole run
    auto loop = std::make_unique<EventLoop>(engine, global, plan);
    loop->check_passed.reserve(16);
    for (const auto& r : plan.recorded) {
      loop->recorded.push_back({r.step, r.capture, {}, 0});
    }
    // Each loop keeps its share of the limit, so the process never holds more than the limit.
    loop->record_limit = (options.record_limit + static_cast<std::size_t>(threads) - 1) /
                         static_cast<std::size_t>(threads);
    for (std::size_t s = 0; s < plan.scenarios.size(); ++s) {
      const auto& spec = plan.scenarios[s].load;
      auto& share = *loop->scenarios[s];
      const auto share_of = [&](int total) {
        return static_cast<std::size_t>(total / engine.loop_count +
                                        (global < total % engine.loop_count ? 1 : 0));
      };
      const auto number = [&](std::size_t k) {
        return static_cast<std::uint64_t>(global) +
               k * static_cast<std::uint64_t>(engine.loop_count);
      };
      if (spec.is_open_model()) {
        share.max_vus_here = share_of(spec.max_vus);
        const auto pre_allocated = share_of(spec.pre_allocated_vus);
        for (std::size_t k = 0; k < pre_allocated; ++k) {
          share.free_vus.push_back(&engine.new_vu(*loop, static_cast<int>(s), number(k)));
        }
      } else {
        share.max_vus_here = share_of(spec.peak_vus());
        for (std::size_t k = 0; k < share.max_vus_here; ++k) {
          engine.new_vu(*loop, static_cast<int>(s), number(k));
        }
      }
    }
    engine.loops.push_back(std::move(loop));
  }

  engine.start = SteadyClock::now();
  engine.hard_deadline = engine.start;
  for (auto& scenario : engine.scenarios) {
    scenario->start = engine.start + scenario->spec.start_time;
    scenario->end = engine.start + scenario->spec.end();
    scenario->hard_deadline = scenario->end + scenario->spec.load.graceful_stop;
    engine.hard_deadline = std::max(engine.hard_deadline, scenario->hard_deadline);
  }
  aggregate_until_done(engine, result);
  result.threads = threads;
  result.peak_vus = std::max(result.peak_vus, engine.peak_active.load());
  result.source_addresses = engine.source_addresses;
  result.seed = options.seed;
  result.notes = std::move(engine.notes);
  result.record_limit = options.record_limit;
  for (auto& loop : engine.loops) {  // every loop's thread has been joined
    merge_recorded(result.recorded, std::move(loop->recorded), options.record_limit);
  }
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
  once.scenarios.assign(1, Scenario{});
  once.scenarios.front().name = plan.journeys[static_cast<std::size_t>(journey)].name;
  once.scenarios.front().load = once.load;
  RunOptions run = options;
  run.threads = 1;
  run.shard_index = 0;
  run.shard_count = 1;
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
    // A finished iteration is counted (a timed-out one is not): a setup with nothing to capture
    // in a plan without variables has none to hand over, and that is fine.
    if (stats.iterations == 0 || stats.failed > 0) {
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
        if (slot < vars.size()) {
          main.initial_values[slot] = vars[slot];
        }
      }
    }
  }
  // The setup's rows open the JTL; the load's and the teardown's follow them.
  RunOptions after_setup = options;
  after_setup.jtl_append = plan.setup >= 0;
  RunResult result = run_load(main, after_setup, -1, nullptr);
  if (!result.error.empty()) {
    return result;
  }
  // setup and teardown belong to no scenario: only the plan-wide series take them.
  setup.totals.scenarios.clear();
  result.totals.merge(setup.totals);
  result.notes.insert(result.notes.end(), setup.notes.begin(), setup.notes.end());
  merge_recorded(result.recorded, std::move(setup.recorded), options.record_limit);
  // teardown: once, after the load, whatever the load did (unless it was interrupted).
  if (plan.teardown >= 0 && !(options.stop != nullptr && options.stop->load())) {
    std::vector<std::string> vars;
    RunOptions after_load = options;
    after_load.jtl_append = true;
    auto teardown = run_once(main, after_load, plan.teardown, plan.teardown_timeout, &vars);
    teardown.totals.scenarios.clear();
    result.totals.merge(teardown.totals);
    result.notes.insert(result.notes.end(), teardown.notes.begin(), teardown.notes.end());
    merge_recorded(result.recorded, std::move(teardown.recorded), options.record_limit);
    if (!teardown.error.empty()) {
      result.notes.push_back("teardown could not run: " + teardown.error);
    }
  }
  return result;
}

}  // namespace crest::load
