// The VU lifecycle: virtual users as coroutines on their event loop, started and stopped by the
// loop's control coroutine (closed model) or by the arrival schedule (open model); iterations of
// a journey's steps, think time and pacing; the per-loop timeout sweep.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <random>

#include "engine_state.hpp"

namespace crest::load {

VirtualUser& Engine::new_vu(EventLoop& loop, std::uint64_t global_index) {
  allocated_vus.fetch_add(1, std::memory_order_relaxed);
  auto vu = std::make_unique<VirtualUser>(options.seed, global_index);
  vu->vars = plan.initial_values;
  vu->unique_rows.assign(plan.feeds.size(), -1);
  for (std::size_t i = 0; i < plan.origins.size(); ++i) {
    vu->connections.push_back(std::make_unique<Connection>());
  }
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
  record_sample(loop.metrics.recording, step, sample, vu.lag, loop.check_passed);
  if (jtl.is_open()) {
    append_jtl_row(loop.jtl_rows,
                   JtlRow{plan, journey, step, sample, vu.index + 1, vu.parser.reason(vu.response),
                          vu.request, active_vus.load(std::memory_order_relaxed)});
    if (loop.jtl_rows.size() > JtlFile::kFlushBytes) {
      jtl.write(loop.jtl_rows);
    }
  }
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
  switch (plan.load.executor) {
    case Executor::per_vu_iterations:
      return vu.iteration < static_cast<std::uint64_t>(plan.load.iterations);
    case Executor::shared_iterations:
      return iterations_claimed.fetch_add(1, std::memory_order_relaxed) < shared_budget;
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
        journey, vu.index + 1, active_vus.load(std::memory_order_relaxed), now - open.start);
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
  if (!feeds.take_rows(vu.vars, vu.unique_rows, vu.rng)) {
    ++metrics.journeys[journey_index].iterations;
    ++metrics.journeys[journey_index].failed;
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
    if (loop.aborted) {
      ++metrics.interrupted;
      co_return;
    }
    Sample sample;
    co_await exchange(loop, vu, step, sample);
    if (loop.aborted) {
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
  ++loop.running;
  vu_started();
  vu.intended = SteadyClock::now();
  while (!loop.stopping && !loop.aborted && !vu.dead &&
         vu.index < static_cast<std::uint64_t>(loop.target)) {
    if (!claim_iteration(vu)) {
      vu.exhausted = true;
      break;
    }
    const auto suspensions = loop.io.suspensions();
    co_await iteration(loop, vu);
    if (loop.io.suspensions() == suspensions) {
      co_await loop.io.yield();  // it never waited (a refused connect): let the others run
    }
    if (plan.load.pacing.count() > 0) {
      vu.intended += plan.load.pacing;
      if (SteadyClock::now() < vu.intended && !loop.stopping) {
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
  --loop.running;
}

io::Task<void> Engine::arrival_iteration(EventLoop& loop, VirtualUser& vu) {
  co_await iteration(loop, vu);
  vu.running = false;
  loop.free_vus.push_back(&vu);
  active_vus.fetch_sub(1, std::memory_order_relaxed);
  --loop.running;
}

io::Task<void> Engine::arrival_loop(EventLoop& loop) {
  ++loop.running;  // keeps the loop alive while arrivals remain
  for (auto k = static_cast<std::uint64_t>(loop.index);;
       k += static_cast<std::uint64_t>(loop_count)) {
    const auto offset = arrivals.time_of(k);
    if (!offset) {
      break;
    }
    const auto due = start + *offset;
    if (SteadyClock::now() < due) {
      co_await loop.io.sleep_until(loop.arrival_timer, due);
    }
    // Every arrival due before the end is run or counted as dropped, even when this loop is
    // late; only an abort or a stop request ends the schedule early.
    if (loop.aborted || stop_requested.load()) {
      break;
    }
    VirtualUser* vu = nullptr;
    if (!loop.free_vus.empty()) {
      vu = loop.free_vus.back();
      loop.free_vus.pop_back();
    } else if (loop.vus.size() < loop.max_vus_here) {
      vu = &new_vu(loop, static_cast<std::uint64_t>(loop.index) +
                             loop.vus.size() * static_cast<std::uint64_t>(loop_count));
    }
    if (vu == nullptr) {
      ++loop.metrics.recording.dropped;  // no free virtual user: counted, never silently lost
      continue;
    }
    if (vu->dead) {
      continue;
    }
    vu->intended = due;
    vu->running = true;
    ++loop.running;
    vu_started();
    loop.io.spawn(arrival_iteration(loop, *vu));
  }
  --loop.running;
}

void Engine::hard_stop(EventLoop& loop) {
  loop.aborted = true;
  for (auto& vu : loop.vus) {
    loop.io.cancel(vu->timer);
    for (auto& connection : vu->connections) {
      connection->cancel(loop.io);
    }
  }
  loop.io.cancel(loop.arrival_timer);
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

io::Task<void> Engine::control(EventLoop& loop) {
  const bool open_model = plan.load.is_open_model();
  if (open_model) {
    loop.io.spawn(arrival_loop(loop));
  }
  for (;;) {
    const auto now = SteadyClock::now();
    if (!loop.stopping && (now >= end || stop_requested.load())) {
      loop.stopping = true;
      loop.io.cancel(loop.arrival_timer);
      // Cut pacing waits (think time inside an iteration still runs until the hard stop).
      for (auto& vu : loop.vus) {
        if (vu->pacing_wait) {
          loop.io.cancel(vu->timer);
        }
      }
    }
    if (!loop.aborted && (hard_stop_requested.load() || (loop.stopping && now >= hard_deadline))) {
      hard_stop(loop);
    }
    if (loop.stopping && loop.running == 0) {
      break;
    }
    if (loop.aborted && now >= hard_deadline + std::chrono::seconds(2)) {
      loop.io.stop();  // something did not unwind: give up on it
      break;
    }
    if (plan.load.is_iteration_based() && !loop.stopping && loop.running == 0 &&
        std::all_of(loop.vus.begin(), loop.vus.end(),
                    [](const auto& vu) { return vu->exhausted || vu->dead; })) {
      break;  // every iteration has run: this loop is done before max_duration
    }
    if (!open_model && !loop.stopping) {
      loop.target = vu_schedule.target_at(now - start);
      for (auto& vu : loop.vus) {
        if (!vu->running && !vu->dead && !vu->exhausted &&
            vu->index < static_cast<std::uint64_t>(loop.target)) {
          vu->running = true;
          loop.io.spawn(vu_loop(loop, *vu));
        }
      }
    }
    const auto period =
        std::chrono::milliseconds(plan.load.executor == Executor::ramping_vus ? 50 : 100);
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
