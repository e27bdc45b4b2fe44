// The VU lifecycle: virtual users as coroutines on their event loop, started and stopped by the
// loop's control coroutine (closed model) or by the arrival schedule (open model); iterations of
// a journey's steps, think time and pacing; the per-loop timeout sweep.
#include <algorithm>
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
  std::lock_guard lock(notes_mutex);
  if (noted.emplace(step.metric, kind).second) {
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
  if (plan.journeys.size() == 1) {
    return plan.journeys.front();
  }
  std::uniform_real_distribution<double> dist(0, cumulative_weights.back());
  const double r = dist(vu.rng);
  const auto it = std::upper_bound(cumulative_weights.begin(), cumulative_weights.end(), r);
  return plan.journeys[std::min<std::size_t>(
      static_cast<std::size_t>(it - cumulative_weights.begin()), plan.journeys.size() - 1)];
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
  bool failed = false;
  int group = -1;
  TimePoint group_start{};
  JtlTransaction transaction;  // the open group's JTL row
  auto close_group = [&](TimePoint now) {
    if (group >= 0) {
      metrics.groups[static_cast<std::size_t>(group)].record(now - group_start + vu.lag);
      if (jtl.is_open() && transaction.samples > 0) {
        append_jtl_transaction_row(loop.jtl_rows, plan.groups[static_cast<std::size_t>(group)].name,
                                   transaction, journey, vu.index + 1,
                                   active_vus.load(std::memory_order_relaxed), now - group_start);
      }
    }
    transaction = {};
  };
  for (const auto& step : journey.steps) {
    if (loop.aborted) {
      ++metrics.interrupted;
      co_return;
    }
    if (step.group != group) {
      const auto now = SteadyClock::now();
      close_group(now);
      group = step.group;
      group_start = now;
    }
    Sample sample;
    co_await exchange(loop, vu, step, sample);
    if (loop.aborted) {
      ++metrics.interrupted;
      co_return;
    }
    if (sample.got_response) {
      judge_response(ResponseContext{plan, step, vu.parser, vu.response, vu.jar, vu.vars, vu.lag},
                     loop.check_passed, sample, &loop.missing_capture);
      if (sample.failure == FailureKind::capture_failed) {
        note_capture_failure(vu, step, loop.missing_capture);
      }
    }
    record(loop, vu, journey, step, sample);
    if (group >= 0 && jtl.is_open()) {
      transaction.add(sample);
    }
    if (sample.failure != FailureKind::none) {
      failed = true;
      if (sample.failure != FailureKind::http_status &&
          sample.failure != FailureKind::check_failed) {
        break;  // transport errors and missing captures end the iteration
      }
    }
    const auto think = think_time(vu, step.think);
    if (think.count() > 0) {
      co_await loop.io.sleep_until(vu.timer, SteadyClock::now() + think);
    }
  }
  const auto now = SteadyClock::now();
  close_group(now);
  auto& journey_stats = metrics.journeys[journey_index];
  ++journey_stats.iterations;
  journey_stats.failed += failed ? 1 : 0;
  journey_stats.iteration.record(now - started + vu.lag);
}

io::Task<void> Engine::vu_loop(EventLoop& loop, VirtualUser& vu) {
  ++loop.running;
  vu_started();
  vu.intended = SteadyClock::now();
  while (!loop.stopping && !loop.aborted && !vu.dead &&
         vu.index < static_cast<std::uint64_t>(loop.target)) {
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
    if (!open_model && !loop.stopping) {
      loop.target = vu_schedule.target_at(now - start);
      for (auto& vu : loop.vus) {
        if (!vu->running && !vu->dead && vu->index < static_cast<std::uint64_t>(loop.target)) {
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
