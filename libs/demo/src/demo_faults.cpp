#include "demo_session.hpp"

#include <cmath>

#include <fmt/ranges.h>

#include "crest/chaos/stack_faults.hpp"

namespace crest::demo {
namespace {

// The demo's fault scenarios and the chaos faults that play them.
struct FaultPlay {
  const char* scenario;
  const char* fault;
  const char* target;
};
constexpr FaultPlay kFaultPlays[] = {
    {"replica-stop", "replica-stop", "mariadb-replica1"},
    {"redis-stop", "redis-stop", "redis"},
    {"instance-kill", "instance-kill", "catalog"},
    {"worker-kill", "instance-kill", "worker"},
    {"dynamodb-throttle", "dynamodb-throttle", "dynalite"},
    {"queue-outage", "sqs-stop", "sqs"},
};

}  // namespace

Result<void> Demo::run_faults(RunningStack& stack, ProfileRun& run, AcceptedCheckouts& accepted) {
  const auto& s = settings_;
  const double rate = std::max(2.0, std::round(peak_.sustained_rate * s.steady_rate_share));
  // A few seconds for the load's connections and first journeys, then each fault in its slot.
  const double lead_s = 3;
  const FaultTimeline timeline = fault_timeline(s, s.faults.size(), lead_s);
  ctx_.say(fmt::format(
      "scaled: {} faults under a steady {:.0f} journeys/s for {:.0f} s ({:.0f} s quiet before "
      "each, the normal its diagnosis compares with)",
      s.faults.size(), rate, timeline.duration_s, s.quiet_seconds));
  run.faults_json = run.dir / "faults-load.json";
  fs::path log = run.faults_json;
  log.replace_extension(".log");
  const double began_unix = unix_now();
  auto load = stack::ChildProcess::spawn(ctx_.crest(
      {"run", step_plan_.string(), "--target", stack.shop_url, "--rate",
       fmt::format("{:.0f}", rate), "--duration", fmt::format("{:.0f}s", timeline.duration_s),
       "--out", "json=" + run.faults_json.string(), "-q"},
      log));
  if (!load.ok()) return load.error();
  // Whatever happens from here, no fault outlives the demo.
  struct UndoFaults {
    const fs::path& dir;
    ~UndoFaults() { (void)chaos::stop_all_faults(dir); }
  } undo_faults{stack.dir};
  // Sleeps until `offset_s` after the load started (at once when late, so delays never add up).
  auto until = [&](double offset_s) { return ctx_.pause(began_unix + offset_s - unix_now()); };

  struct Played {
    FaultVerdict verdict;
    double quiet_from_unix = 0, from_unix = 0, to_unix = 0, recovered_unix = 0;
  };
  std::vector<Played> played;
  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    const auto& name = s.faults[i];
    const FaultSlot& slot = timeline.slots[i];
    const FaultPlay* play = nullptr;
    for (const auto& p : kFaultPlays) {
      if (name == p.scenario) play = &p;
    }
    if (play == nullptr)
      return Error{ErrorKind::invalid_argument, "unknown fault scenario " + name};
    Played p;
    p.verdict.fault = name;
    p.verdict.target = play->target;
    // The quiet spell starts once the previous fault's recovery is over, never before.
    p.quiet_from_unix =
        std::max(began_unix + slot.quiet_from_s, played.empty() ? 0 : played.back().recovered_unix);
    // On schedule, or late (a slow undo before it): the quiet spell is never cut short.
    if (!until(std::max(slot.from_s, p.quiet_from_unix + s.quiet_seconds - began_unix)))
      return interrupted();
    chaos::FaultSpec spec;
    spec.fault = play->fault;
    spec.target = play->target;
    spec.duration = std::chrono::seconds(static_cast<long>(s.fault_seconds));
    p.from_unix = unix_now();
    auto started = chaos::start_fault(stack.dir, spec);
    if (!started.ok()) {
      p.verdict.applied = false;
      p.verdict.error = started.error().message;
      ctx_.say(fmt::format("scaled:   {}: could not be applied: {}", name, p.verdict.error));
    } else {
      p.verdict.target = started->target;
      ctx_.say(fmt::format("scaled:   {} ({} on {}) for {:.0f} s", name, play->fault,
                           started->target, s.fault_seconds));
    }
    if (!until(slot.to_s)) return interrupted();
    if (started.ok()) {
      if (auto stopped = chaos::stop_fault(stack.dir, started->id, "expired"); !stopped.ok()) {
        ctx_.say(fmt::format("scaled:   {}: undo failed: {}", name, stopped.error().message));
      }
    }
    p.to_unix = unix_now();
    if (!ctx_.pause(std::max(began_unix + slot.recovered_s - unix_now(), s.recovery_seconds / 2)))
      return interrupted();
    p.recovered_unix = unix_now();
    played.push_back(std::move(p));
  }
  auto finished =
      ctx_.wait(*load, std::chrono::seconds(static_cast<long>(timeline.duration_s + 60)));
  if (!finished.ok()) return finished.error();
  if (*finished != 0 && *finished != 99) {
    return Error{ErrorKind::internal,
                 fmt::format("the steady load exited {}; the end of {}:\n{}", *finished,
                             log.string(), tail_lines(read_text(log), 15))};
  }
  auto outcome = LoadOutcome::read(run.faults_json.string());
  if (!outcome.ok()) return outcome.error();
  add_checkouts(accepted, *outcome, run.faults_json.filename().string());
  const double t0 = outcome->start_unix_s();
  run.fault_log = chaos::fault_log_path(stack.dir);
  run.faults_capture = run.dir / "faults-prometheus.json";
  capture(ctx_, stack, t0 - 2, t0 + outcome->elapsed_s() + 2, run.faults_capture);

  // Orders created during each fault, once the worker has caught up; then each diagnosis.
  if (auto settled = settled_orders(ctx_, stack, 60); !settled.ok()) return settled.error();
  int index = 0;
  for (auto& p : played) {
    auto& v = p.verdict;
    v.from_s = p.from_unix - t0;
    v.to_s = p.to_unix - t0;
    v.recovered_s = p.recovered_unix - t0;
    v.diagnosis_from_s = p.quiet_from_unix - t0;
    v.diagnosis_to_s = v.recovered_s;
    v.during = outcome->window(v.from_s, p.recovered_unix - t0);
    v.accepted = outcome->step_passed("checkout", v.from_s, p.recovered_unix - t0);
    auto counts = count_orders(stack.primary, stack.dir.string(),
                               std::make_pair(p.from_unix, p.recovered_unix));
    if (counts.ok()) v.orders = *counts;
    // Its quiet spell, itself and its recovery: no other fault's onset in the window.
    v.diagnosis = diagnose(ctx_, stack, p.quiet_from_unix, p.recovered_unix,
                           run.dir / fmt::format("fault-{}-{}-diagnosis.json", ++index, v.fault),
                           run.faults_json);
    ctx_.say(fmt::format(
        "scaled:   {}: errors {:.2f} % of {} requests; orders {} created: {} confirmed, {} "
        "failed, {} pending; diagnosis: {}",
        v.fault, 100 * v.during.error_rate(), v.during.requests, v.orders.total(),
        v.orders.confirmed, v.orders.failed, v.orders.pending, v.diagnosis));
    verdict_.faults.push_back(v);
  }
  verdict_.faults_run = true;
  return {};
}

}  // namespace crest::demo
