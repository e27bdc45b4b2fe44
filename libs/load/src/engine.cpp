// The VU lifecycle: virtual users as coroutines on their event loop, started and stopped by the
// loop's control coroutine (closed model) or by the arrival schedule (open model); iterations of
// a journey's steps, think time and pacing; the per-loop timeout sweep.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <random>

#include "engine_state.hpp"

namespace crest::load {

VirtualUser& Engine::new_vu(EventLoop& loop, int scenario, std::uint64_t number) {
  allocated_vus.fetch_add(1, std::memory_order_relaxed);
  const auto& spec = plan.scenarios[static_cast<std::size_t>(scenario)];
  auto& share = *loop.scenarios[static_cast<std::size_t>(scenario)];
  auto vu =
      std::make_unique<VirtualUser>(options.seed, spec.first_vu + number, number, scenario, share);
  vu->vars = plan.initial_values;
  for (const auto& [slot, value] : spec.env) {
    vu->vars[static_cast<std::size_t>(slot)] = value;
  }
  vu->unique_rows.assign(plan.feeds.size(), -1);
  for (std::size_t i = 0; i < plan.origins.size(); ++i) {
    vu->connections.push_back(std::make_unique<Connection>());
  }
  share.vus.push_back(vu.get());
  loop.vus.push_back(std::move(vu));
  return *loop.vus.back();
}

void Engine::vu_started() {
  const int now = active_vus.fetch_add(1, std::memory_order_relaxed) + 1;
  int peak = peak_active.load(std::memory_order_relaxed);
  while (now > peak && !peak_active.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

void Engine::record(EventLoop& loop, VirtualUser& vu, const Journey& journey, const Step& step,
                    const Sample& sample) {
  record_sample(loop.metrics.recording, step, sample, vu.lag, loop.check_passed,
                forced_journey >= 0 ? -1 : vu.scenario);
  if (jtl.is_open()) {
    append_jtl_row(
        loop.jtl_rows,
        JtlRow{plan, journey, step, sample, vu.index + 1, vu.parser.reason(vu.response), vu.request,
               active_vus.load(std::memory_order_relaxed), thread_group(vu)});
    if (loop.jtl_rows.size() > JtlFile::kFlushBytes) {
      jtl.write(loop.jtl_rows);
    }
  }
}

void Engine::keep_recorded(EventLoop& loop, const VirtualUser& vu, const Step& step) {
  for (const auto& capture : step.captures) {
    if (capture.recorded < 0) {
      continue;
    }
    auto& kept = loop.recorded[static_cast<std::size_t>(capture.recorded)];
    if (kept.values.size() < loop.record_limit) {
      kept.values.push_back(vu.vars[static_cast<std::size_t>(capture.slot)]);
    } else {
      ++kept.not_kept;
    }
  }
}

std::string_view Engine::thread_group(const VirtualUser& vu) const {
  return plan.scenarios.size() > 1 && forced_journey < 0
             ? std::string_view(plan.scenarios[static_cast<std::size_t>(vu.scenario)].name)
             : std::string_view();
}

void Engine::note_once(const Step& step, FailureKind kind,
                       const std::function<std::string()>& text) {
  note_once(std::to_string(step.metric) + "/" + to_string(kind), text);
}

void Engine::note_once(const std::string& key, const std::function<std::string()>& text) {
  std::lock_guard lock(notes_mutex);
  if (noted.insert(key).second) {
    notes.push_back(text());
  }
}

void Engine::note_capture_failure(const VirtualUser& vu, const Step& step,
                                  const std::string& capture) {
  note_once(step, FailureKind::capture_failed, [&] {
    std::string expression;
    for (const auto& c : step.captures) {
      if (c.name == capture) {
        static constexpr const char* kKinds[] = {"json", "regex", "header", "cookie"};
        expression = std::string(kKinds[static_cast<int>(c.kind)]) + " " + c.source;
      }
    }
    const std::string_view body = vu.parser.body(vu.response);
    constexpr std::size_t kShown = 512;
    return "step '" + step.name + "': capture '" + capture + "' (" + expression +
           ") found nothing; first such response: status " + std::to_string(vu.parser.status()) +
           ", body " + (body.size() > kShown ? "(first 512 bytes) " : "") + "'" +
           std::string(body.substr(0, kShown)) + "'";
  });
}

const Journey& Engine::pick_journey(VirtualUser& vu) {
  if (forced_journey >= 0) {
    return plan.journeys[static_cast<std::size_t>(forced_journey)];
  }
  const auto& scenario = *scenarios[static_cast<std::size_t>(vu.scenario)];
  const auto& pickable = scenario.pickable;
  const auto& cumulative_weights = scenario.cumulative_weights;
  if (pickable.size() == 1) {
    return plan.journeys[pickable.front()];
  }
  std::uniform_real_distribution<double> dist(0, cumulative_weights.back());
  const double r = dist(vu.rng);
  const auto it = std::upper_bound(cumulative_weights.begin(), cumulative_weights.end(), r);
  return plan.journeys[pickable[std::min<std::size_t>(
      static_cast<std::size_t>(it - cumulative_weights.begin()), pickable.size() - 1)]];
}

bool Engine::claim_iteration(VirtualUser& vu) {
  auto& scenario = *scenarios[static_cast<std::size_t>(vu.scenario)];
  switch (scenario.spec.load.executor) {
    case Executor::per_vu_iterations:
      return vu.iteration < static_cast<std::uint64_t>(scenario.spec.load.iterations);
    case Executor::shared_iterations:
      return scenario.iterations_claimed.fetch_add(1, std::memory_order_relaxed) <
             scenario.shared_budget;
    default:
      return true;
  }
}

void Engine::close_group(EventLoop& loop, VirtualUser& vu, const Journey& journey, TimePoint now) {
  auto& open = vu.groups.back();
  loop.metrics.recording.groups[static_cast<std::size_t>(open.group)].record(now - open.start +
                                                                             vu.lag);
  if (jtl.is_open() && open.transaction.samples > 0) {
    append_jtl_transaction_row(
        loop.jtl_rows, plan.groups[static_cast<std::size_t>(open.group)].name, open.transaction,
        journey, vu.index + 1, active_vus.load(std::memory_order_relaxed), now - open.start,
        thread_group(vu));
  }
  vu.groups.pop_back();
}

SteadyClock::duration Engine::think_time(VirtualUser& vu, const ThinkTime& think) {
  switch (think.kind) {
    case ThinkTime::Kind::none:
      return {};
    case ThinkTime::Kind::constant:
      return think.a;
    case ThinkTime::Kind::uniform:
      return Duration(
          std::uniform_int_distribution<std::int64_t>(think.a.count(), think.b.count())(vu.rng));
    case ThinkTime::Kind::normal: {
      std::normal_distribution<double> dist(static_cast<double>(think.a.count()),
                                            static_cast<double>(think.b.count()));
      return Duration(static_cast<std::int64_t>(std::max(0.0, dist(vu.rng))));
    }
  }
  return {};
}

io::Task<void> Engine::iteration(EventLoop& loop, VirtualUser& vu) {
  auto& metrics = loop.metrics.recording;
  const auto started = SteadyClock::now();
  // No intended time (closed model without pacing): the iteration starts when it starts.
  vu.lag = vu.intended != TimePoint{} && started > vu.intended ? started - vu.intended
                                                               : SteadyClock::duration{};
  ++vu.iteration;
  const Journey& journey = pick_journey(vu);
  const auto journey_index = static_cast<std::size_t>(&journey - plan.journeys.data());
  // Per-scenario series exist only for plans with several (stats.hpp).
  auto* scenario_stats = forced_journey >= 0 || metrics.scenarios.empty()
                             ? nullptr
                             : &metrics.scenarios[static_cast<std::size_t>(vu.scenario)].iterations;
  if (!feeds.take_rows(vu.vars, vu.unique_rows, vu.rng)) {
    ++metrics.journeys[journey_index].iterations;
    ++metrics.journeys[journey_index].failed;
    if (scenario_stats != nullptr) {
      ++scenario_stats->iterations;
      ++scenario_stats->failed;
    }
    ++metrics.steps[static_cast<std::size_t>(journey.steps.front().metric)]
          .by_kind[static_cast<std::size_t>(FailureKind::data_exhausted)];
    vu.dead = true;
    co_return;
  }
  vu.debugging =
      options.http_debug != HttpDebug::off &&
      debugged_iterations.fetch_add(1, std::memory_order_relaxed) < options.http_debug_iterations;
  bool failed = false;
  vu.groups.clear();
  vu.loops.clear();
  const RenderContext context{vu.vars, vu.rng, vu.index + 1, vu.iteration};
  const auto holds = [&](int condition) {
    return journey.conditions[static_cast<std::size_t>(condition)].evaluate(
        context, vu.scratch_left, vu.scratch_right);
  };
  const auto& program = journey.program;
  std::size_t pc = 0;
  while (pc < program.size()) {
    const auto& op = program[pc];
    switch (op.kind) {
      case Instruction::Kind::jump_unless:
        pc = holds(op.condition) ? pc + 1 : static_cast<std::size_t>(op.target);
        continue;
      case Instruction::Kind::jump:
        pc = static_cast<std::size_t>(op.target);
        continue;
      case Instruction::Kind::group_begin: {
        auto& open = vu.groups.emplace_back();
        open.group = op.group;
        open.start = SteadyClock::now();
        open.transaction = {};
        ++pc;
        continue;
      }
      case Instruction::Kind::group_end:
        close_group(loop, vu, journey, SteadyClock::now());
        ++pc;
        continue;
      case Instruction::Kind::loop_begin: {
        std::int64_t limit = op.bound;
        if (op.condition < 0) {
          vu.scratch_left.clear();
          op.count.render(context, vu.scratch_left);
          const auto& text = vu.scratch_left;
          auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
          if (ec != std::errc() || ptr != text.data() + text.size() || limit < 0) {
            note_once(journey.name + "/loop/" + std::to_string(pc), [&] {
              return "journey '" + journey.name + "': a loop count rendered to '" + text +
                     "', not a count >= 0; the iteration ended there (counted as failed)";
            });
            failed = true;
            pc = program.size();
            continue;
          }
        }
        if (limit == 0 || (op.condition >= 0 && !holds(op.condition))) {
          pc = static_cast<std::size_t>(op.target);
          continue;
        }
        vu.loops.push_back({0, limit});
        ++pc;
        continue;
      }
      case Instruction::Kind::loop_next: {
        auto& open = vu.loops.back();
        ++open.done;
        if (open.done < open.limit && (op.condition < 0 || holds(op.condition))) {
          pc = static_cast<std::size_t>(op.target);
        } else {
          vu.loops.pop_back();
          ++pc;
        }
        continue;
      }
      case Instruction::Kind::request:
        break;
    }
    const auto& step = journey.steps[static_cast<std::size_t>(op.step)];
    ++pc;
    if (vu.share->aborted) {
      ++metrics.interrupted;
      co_return;
    }
    Sample sample;
    co_await exchange(loop, vu, step, sample);
    if (vu.share->aborted) {
      ++metrics.interrupted;
      co_return;
    }
    if (sample.got_response) {
      judge_response(
          ResponseContext{plan, step, vu.parser, vu.response, vu.jar, vu.vars, vu.lag, &vu.rng},
          loop.check_passed, sample, &loop.missing_capture);
      if (sample.failure == FailureKind::capture_failed) {
        note_capture_failure(vu, step, loop.missing_capture);
      }
    }
    record(loop, vu, journey, step, sample);
    if (step.records && sample.failure == FailureKind::none) {
      keep_recorded(loop, vu, step);
    }
    if (vu.debugging) {
      print_exchange(vu, step, sample);
    }
    if (jtl.is_open()) {
      for (auto& open : vu.groups) {
        open.transaction.add(sample);
      }
    }
    if (sample.failure != FailureKind::none) {
      failed = true;
      if (sample.failure != FailureKind::http_status &&
          sample.failure != FailureKind::check_failed) {
        break;  // transport errors and missing captures end the iteration, blocks included
      }
    }
    const auto think = think_time(vu, step.think);
    if (think.count() > 0) {
      co_await loop.io.sleep_until(vu.timer, SteadyClock::now() + think);
    }
  }
  const auto now = SteadyClock::now();
  while (!vu.groups.empty()) {
    close_group(loop, vu, journey, now);  // an iteration that ended inside its transactions
  }
  auto& journey_stats = metrics.journeys[journey_index];
  ++journey_stats.iterations;
  journey_stats.failed += failed ? 1 : 0;
  journey_stats.iteration.record(now - started + vu.lag);
  if (scenario_stats != nullptr) {
    ++scenario_stats->iterations;
    scenario_stats->failed += failed ? 1 : 0;
    scenario_stats->iteration.record(now - started + vu.lag);
  }
  if (forced_journey >= 0) {
    std::lock_guard lock(notes_mutex);
    final_vars = vu.vars;
  }
}

void Engine::print_exchange(const VirtualUser& vu, const Step& step, const Sample& sample) {
  // Headers, and bodies with --http-debug=full (else their size), as the wire carried them.
  const bool full = options.http_debug == HttpDebug::full;
  const auto part = [full](std::string_view message) {
    const auto head_end = message.find("\r\n\r\n");
    if (head_end == std::string_view::npos) {
      return std::string(message);
    }
    const auto body = message.substr(head_end + 4);
    std::string out(message.substr(0, head_end + 2));
    if (!body.empty()) {
      out += full ? "\r\n" + std::string(body)
                  : "\r\n[body: " + std::to_string(body.size()) +
                        " bytes; --http-debug=full shows it]";
    }
    return out;
  };
  std::string text = "--- vu " + std::to_string(vu.index + 1) + " iteration " +
                     std::to_string(vu.iteration) + " step '" + step.name + "'\n>>> request\n" +
                     part(vu.request) + "\n";
  if (sample.got_response) {
    text += "<<< response (" +
            std::to_string(
                std::chrono::duration_cast<std::chrono::microseconds>(sample.service).count()) +
            " us)\n" + part(std::string_view(vu.response)) + "\n";
  } else {
    text += "<<< no response: " + std::string(to_string(sample.failure)) + "\n";
  }
  std::lock_guard lock(debug_mutex);
  std::fwrite(text.data(), 1, text.size(), stderr);
}

io::Task<void> Engine::vu_loop(EventLoop& loop, VirtualUser& vu) {
  auto& share = *vu.share;
  const auto pacing = plan.scenarios[static_cast<std::size_t>(vu.scenario)].load.pacing;
  ++loop.running;
  ++share.running;
  vu_started();
  vu.intended = SteadyClock::now();
  while (!share.stopping && !share.aborted && !vu.dead &&
         vu.number_in_scenario < static_cast<std::uint64_t>(share.target)) {
    if (!claim_iteration(vu)) {
      vu.exhausted = true;
      break;
    }
    const auto suspensions = loop.io.suspensions();
    co_await iteration(loop, vu);
    if (loop.io.suspensions() == suspensions) {
      co_await loop.io.yield();  // it never waited (a refused connect): let the others run
    }
    if (pacing.count() > 0) {
      vu.intended += pacing;
      if (SteadyClock::now() < vu.intended && !share.stopping) {
        vu.pacing_wait = true;
        co_await loop.io.sleep_until(vu.timer, vu.intended);
        vu.pacing_wait = false;
      }
    } else {
      vu.intended = {};
    }
  }
  vu.running = false;
  active_vus.fetch_sub(1, std::memory_order_relaxed);
  --share.running;
  --loop.running;
}

io::Task<void> Engine::arrival_iteration(EventLoop& loop, VirtualUser& vu) {
  co_await iteration(loop, vu);
  vu.running = false;
  vu.share->free_vus.push_back(&vu);
  active_vus.fetch_sub(1, std::memory_order_relaxed);
  --vu.share->running;
  --loop.running;
}

io::Task<void> Engine::arrival_loop(EventLoop& loop, ScenarioRun& scenario, LoopScenario& share) {
  ++loop.running;  // keeps the loop alive while arrivals remain
  ++share.running;
  const auto stride = static_cast<std::uint64_t>(scenario.arrival_loops);
  for (auto k = static_cast<std::uint64_t>(loop.index);; k += stride) {
    const auto offset = scenario.arrivals.time_of(k);
    if (!offset) {
      break;
    }
    const auto due = scenario.start + *offset;
    if (SteadyClock::now() < due) {
      co_await loop.io.sleep_until(share.arrival_timer, due);
    }
    // Every arrival due before the end is run or counted as dropped, even when this loop is
    // late; only an abort or a stop request ends the schedule early.
    if (share.aborted || stop_requested.load()) {
      break;
    }
    VirtualUser* vu = nullptr;
    if (!share.free_vus.empty()) {
      vu = share.free_vus.back();
      share.free_vus.pop_back();
    } else if (share.vus.size() < share.max_vus_here) {
      vu = &new_vu(loop, scenario.index,
                   static_cast<std::uint64_t>(loop.index) + share.vus.size() * stride);
    }
    if (vu == nullptr) {
      // No free virtual user: counted, never silently lost.
      ++loop.metrics.recording.dropped;
      if (!loop.metrics.recording.scenarios.empty()) {
        ++loop.metrics.recording.scenarios[static_cast<std::size_t>(scenario.index)].dropped;
      }
      continue;
    }
    if (vu->dead) {
      continue;
    }
    vu->intended = due;
    vu->running = true;
    ++loop.running;
    ++share.running;
    vu_started();
    loop.io.spawn(arrival_iteration(loop, *vu));
  }
  --share.running;
  --loop.running;
}

void Engine::hard_stop(EventLoop& loop, LoopScenario& share) {
  share.aborted = true;
  for (auto* vu : share.vus) {
    loop.io.cancel(vu->timer);
    for (auto& connection : vu->connections) {
      connection->cancel(loop.io);
    }
  }
  loop.io.cancel(share.arrival_timer);
}

io::Task<void> Engine::sweep(EventLoop& loop) {
  // Timeouts: one timer per loop instead of one per request. The same beat hands the loop's
  // metrics to the aggregator when it asks.
  while (!loop.done) {
    co_await loop.io.sleep_until(loop.sweep_timer,
                                 SteadyClock::now() + std::chrono::milliseconds(20));
    loop.metrics.publish_if_requested();
    const auto now = SteadyClock::now();
    for (auto& vu : loop.vus) {
      if (vu->deadline < now && vu->deadline_connection != nullptr) {
        vu->timed_out = true;
        vu->deadline_connection->cancel(loop.io);
        vu->deadline = kNoDeadline;
      }
    }
  }
}

// One scenario's beat on one loop: start it at its start time, stop it at its end, cut it after
// its graceful stop, and (closed models) start the VUs its schedule wants now.
void Engine::control_scenario(EventLoop& loop, ScenarioRun& scenario, LoopScenario& share,
                              TimePoint now) {
  const auto& load = scenario.spec.load;
  if (share.done) {
    return;
  }
  if (!share.started) {
    if (now < scenario.start && !stop_requested.load()) {
      return;
    }
    share.started = true;
    if (load.is_open_model() && loop.index < scenario.arrival_loops) {
      loop.io.spawn(arrival_loop(loop, scenario, share));
    }
  }
  if (!share.stopping && (now >= scenario.end || stop_requested.load())) {
    share.stopping = true;
    loop.io.cancel(share.arrival_timer);
    // Cut pacing waits (think time inside an iteration still runs until the hard stop).
    for (auto* vu : share.vus) {
      if (vu->pacing_wait) {
        loop.io.cancel(vu->timer);
      }
    }
  }
  if (!share.aborted &&
      (hard_stop_requested.load() || (share.stopping && now >= scenario.hard_deadline))) {
    hard_stop(loop, share);
  }
  if (share.stopping && share.running == 0) {
    share.done = true;
    return;
  }
  if (load.is_iteration_based() && !share.stopping && share.running == 0 &&
      std::all_of(share.vus.begin(), share.vus.end(),
                  [](const VirtualUser* vu) { return vu->exhausted || vu->dead; })) {
    share.done = true;  // every iteration has run: done before max_duration
    return;
  }
  if (!load.is_open_model() && !share.stopping) {
    share.target = scenario.vu_schedule.target_at(now - scenario.start);
    for (auto* vu : share.vus) {
      if (!vu->running && !vu->dead && !vu->exhausted &&
          vu->number_in_scenario < static_cast<std::uint64_t>(share.target)) {
        vu->running = true;
        loop.io.spawn(vu_loop(loop, *vu));
      }
    }
  }
}

io::Task<void> Engine::control(EventLoop& loop) {
  const bool ramping = std::any_of(scenarios.begin(), scenarios.end(), [](const auto& scenario) {
    return scenario->spec.load.executor == Executor::ramping_vus;
  });
  for (;;) {
    const auto now = SteadyClock::now();
    bool all_done = true;
    bool any_aborted = false;
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
      auto& share = *loop.scenarios[i];
      control_scenario(loop, *scenarios[i], share, now);
      all_done = all_done && share.done;
      any_aborted = any_aborted || (share.aborted && !share.done);
    }
    if (all_done) {
      break;
    }
    if (any_aborted && now >= hard_deadline + std::chrono::seconds(2)) {
      loop.io.stop();  // something did not unwind: give up on it
      break;
    }
    const auto period = std::chrono::milliseconds(ramping ? 50 : 100);
    co_await loop.io.sleep_until(loop.control_timer, SteadyClock::now() + period);
  }
  loop.done = true;
  loop.io.cancel(loop.sweep_timer);
}

void Engine::run_loop(EventLoop& loop) {
  loop.io.spawn(control(loop));
  loop.io.spawn(sweep(loop));
  loop.io.run();
  jtl.write(loop.jtl_rows);
  loop.finished.store(true, std::memory_order_release);
  loops_done.fetch_add(1);
}

}  // namespace crest::load
