#include "crest/demo/demo_runner.hpp"

#include <sched.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "crest/chaos/stack_faults.hpp"
#include "crest/demo/load_outcome.hpp"
#include "crest/demo/order_audit.hpp"
#include "crest/demo/prometheus_capture.hpp"
#include "crest/demo/verdict.hpp"
#include "crest/report/inputs.hpp"
#include "crest/stack/child_process.hpp"
#include "crest/stack/stack_profile.hpp"

namespace crest::demo {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string tail_lines(const std::string& text, int lines) {
  auto pos = text.size();
  for (int i = 0; i <= lines && pos != std::string::npos && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::thread::hardware_concurrency());
}

Error interrupted() {
  return Error{ErrorKind::unavailable, "interrupted"};
}

// Everything one demo run shares: where things are, the clock, the progress printer.
class DemoContext {
 public:
  DemoContext(const DemoOptions& options, std::ostream& out)
      : options_(options), out_(out), began_(Clock::now()) {}

  const DemoOptions& options() const { return options_; }
  bool stopping() const { return options_.stop != nullptr && options_.stop->load(); }

  // "[ 1:23] message", flushed at once.
  void say(const std::string& message) {
    const auto s = static_cast<long>(std::chrono::duration<double>(Clock::now() - began_).count());
    out_ << fmt::format("[{:2}:{:02}] {}\n", s / 60, s % 60, message) << std::flush;
  }
  double elapsed_s() const { return std::chrono::duration<double>(Clock::now() - began_).count(); }

  // Sleeps up to `seconds`, returning early (false) on Ctrl-C.
  bool pause(double seconds) {
    const auto until = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < until) {
      if (stopping()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return !stopping();
  }

  stack::ProcessSpec crest(std::vector<std::string> args, const fs::path& log) const {
    stack::ProcessSpec spec;
    spec.program = options_.crest_binary;
    spec.args = std::move(args);
    spec.log_path = log.string();
    spec.env = {{"CREST_SOURCE_DIR", options_.repo_root}};
    return spec;
  }

  // Runs `crest ARGS` to completion (stdout and stderr to `log`): its exit status. Ctrl-C
  // stops it (SIGINT, as a terminal would) and is an error; so is `timeout`.
  Result<int> run(std::vector<std::string> args, const fs::path& log,
                  std::chrono::seconds timeout) {
    auto child = stack::ChildProcess::spawn(crest(std::move(args), log));
    if (!child.ok()) return child.error();
    return wait(*child, timeout);
  }

  Result<int> wait(stack::ChildProcess& child, std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      if (auto status = child.wait_for_exit(std::chrono::milliseconds(200))) return *status;
      if (stopping()) {
        child.stop(std::chrono::seconds(15), SIGINT);
        return interrupted();
      }
      if (Clock::now() > deadline) {
        child.stop(std::chrono::seconds(10), SIGINT);
        return Error{ErrorKind::timeout,
                     fmt::format("{} did not finish in {} s", child.name(), timeout.count())};
      }
    }
  }

 private:
  const DemoOptions& options_;
  std::ostream& out_;
  Clock::time_point began_;
};

// A platform started with `crest up --foreground` as our child: SIGTERM stops it (as `crest
// down` would), and if the demo dies the kernel stops it (PR_SET_PDEATHSIG).
struct RunningStack {
  RunningStack() = default;
  RunningStack(RunningStack&&) = default;
  RunningStack& operator=(RunningStack&&) = default;
  // A step that failed or was interrupted returns early: the platform still stops, gracefully.
  ~RunningStack() {
    if (supervisor) supervisor->stop(std::chrono::seconds(60));
  }

  std::string profile;
  fs::path dir;
  std::optional<stack::ChildProcess> supervisor;
  std::string shop_url;
  std::string prometheus_url;
  DatabaseAddress primary;

  void stop(DemoContext& ctx) {
    if (!supervisor) return;
    ctx.say(fmt::format("{}: stopping the platform (crest down)", profile));
    const auto began = Clock::now();
    supervisor->stop(std::chrono::seconds(60));
    supervisor.reset();
    ctx.say(fmt::format("{}: stopped in {:.1f} s", profile,
                        std::chrono::duration<double>(Clock::now() - began).count()));
  }
};

// The test users the peak plan logs in as (examples/demo/users.csv: the stack's seed is
// deterministic, so these are the first 200 it creates).
constexpr int kSeededUsers = 200;

Result<RunningStack> start_stack(DemoContext& ctx, const std::string& profile,
                                 const fs::path& dir) {
  fs::create_directories(dir);
  const auto log = dir.parent_path() / (profile + "-up.log");
  ctx.say(fmt::format("{}: crest up --profile {} --dir {}", profile, profile, dir.string()));
  std::vector<std::string> args = {
      "up",    "--foreground", "--profile", profile,
      "--dir", dir.string(),   "--set",     fmt::format("seed.users={}", kSeededUsers)};
  // The fault proxy in front of dynalite, for the DynamoDB faults, where the stack has it.
  const auto schema = stack::stack_profile_schema();
  if (std::any_of(schema.begin(), schema.end(),
                  [](const ConfigOption& o) { return o.key == "chaos.proxy"; })) {
    args.insert(args.end(), {"--set", "chaos.proxy=true"});
  }
  auto spec = ctx.crest(args, log);
  spec.env["CREST_PAYMENT_FAILURE_RATE"] = fmt::format("{}", ctx.options().payment_failure_rate);
  auto child = stack::ChildProcess::spawn(spec);
  if (!child.ok()) return child.error();
  RunningStack running;
  running.profile = profile;
  running.dir = dir;
  running.supervisor.emplace(std::move(*child));
  const auto deadline = Clock::now() + std::chrono::seconds(240);
  for (;;) {
    const auto text = read_text(log);
    if (auto ready = text.find("\nREADY in "); ready != std::string::npos) {
      const auto end = text.find('\n', ready + 1);
      ctx.say(fmt::format("{}: {}", profile, text.substr(ready + 1, end - ready - 1)));
      break;
    }
    if (text.find("\nFAILED") != std::string::npos || !running.supervisor->running()) {
      running.supervisor->stop(std::chrono::seconds(30));
      return Error{ErrorKind::unavailable,
                   fmt::format("crest up --profile {} failed; the end of {}:\n{}", profile,
                               log.string(), tail_lines(text, 15))};
    }
    if (ctx.stopping()) {
      running.stop(ctx);
      return interrupted();
    }
    if (Clock::now() > deadline) {
      running.stop(ctx);
      return Error{ErrorKind::timeout,
                   fmt::format("crest up --profile {} was not ready in 240 s (see {})", profile,
                               log.string())};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  auto state = json::parse(read_text(dir / "state.json"), nullptr, false);
  if (state.is_discarded()) {
    running.stop(ctx);
    return Error{ErrorKind::internal, (dir / "state.json").string() + ": not JSON"};
  }
  running.shop_url = state.value("shop_url", "");
  running.prometheus_url = state.value("prometheus_url", "");
  for (const auto& component : state.value("components", json::array())) {
    for (const auto& instance : component.value("instances", json::array())) {
      if (instance.value("name", "") == "mariadb-primary") {
        running.primary.port = instance.value("port", std::uint16_t{0});
      }
    }
  }
  if (running.shop_url.empty() || running.prometheus_url.empty() || running.primary.port == 0) {
    running.stop(ctx);
    return Error{ErrorKind::internal, (dir / "state.json").string() +
                                          ": no shop_url, prometheus_url or mariadb-primary port"};
  }
  return running;
}

// `crest run PLAN --target URL --out json=OUT -q [extra]`: the load JSON, read back.
Result<LoadOutcome> run_load(DemoContext& ctx, const RunningStack& stack, const fs::path& plan,
                             const fs::path& out, std::vector<std::string> extra,
                             double expected_s) {
  std::vector<std::string> args = {"run",   plan.string(),          "--target", stack.shop_url,
                                   "--out", "json=" + out.string(), "-q"};
  args.insert(args.end(), extra.begin(), extra.end());
  fs::path log = out;
  log.replace_extension(".log");
  auto status = ctx.run(args, log, std::chrono::seconds(static_cast<long>(expected_s * 2 + 60)));
  if (!status.ok()) return status.error();
  if (*status != 0 && *status != 99) {  // 99: thresholds breached, which the verdict judges
    return Error{ErrorKind::internal,
                 fmt::format("crest run exited {}; the end of {}:\n{}", *status, log.string(),
                             tail_lines(read_text(log), 15))};
  }
  return LoadOutcome::read(out.string());
}

// The stack's event log holds the autoscaler's decisions and the pod and node events among
// others of its own (stack, scale, pod_signal); the diagnosis and the report read the first
// three kinds only, so they get a copy with just those.
fs::path autoscaler_log(const fs::path& events, const fs::path& out) {
  std::ifstream in(events);
  std::ofstream copy(out);
  std::string line;
  while (std::getline(in, line)) {
    const auto event = json::parse(line, nullptr, false);
    if (event.is_discarded() || !event.is_object()) continue;
    const auto kind = event.value("kind", "");
    if ((kind == "decision" || kind == "pod" || kind == "node") &&
        !event.value("service", "").empty() && event.contains("ts")) {
      copy << line << "\n";
    }
  }
  return out;
}

// `crest diagnose` over a window; the JSON is written to `out`; its headline returned.
std::string diagnose(DemoContext& ctx, const RunningStack& stack, double from, double to,
                     const fs::path& out, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {
      "-c",
      "exec \"$0\" \"$@\" 2>>'" + out.string() + ".log'",
      ctx.options().crest_binary,
      "diagnose",
      "--prometheus",
      stack.prometheus_url,
      "--from",
      fmt::format("{:.3f}", from),
      "--to",
      fmt::format("{:.3f}", to),
      "--autoscaler-log",
      autoscaler_log(stack.dir / "events.jsonl", out.parent_path() / "autoscaler.jsonl").string(),
      "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  stack::ProcessSpec spec;
  spec.program = "/bin/sh";
  spec.args = args;
  spec.log_path = out.string();
  auto child = stack::ChildProcess::spawn(spec);
  if (!child.ok()) return "diagnosis failed: " + child.error().message;
  auto status = ctx.wait(*child, std::chrono::seconds(120));
  if (!status.ok()) return "diagnosis failed: " + status.error().message;
  const auto doc = json::parse(read_text(out), nullptr, false);
  if (*status != 0 || doc.is_discarded()) {
    return fmt::format("diagnosis failed (exit {}; see {}.log)", *status, out.string());
  }
  if (doc.value("no_rule_fits", false) || doc.value("causes", json::array()).empty()) {
    const auto top = doc.value("top_evidence", json::array());
    return top.empty() ? "no anomaly found"
                       : "no rule fits; top evidence: " +
                             top[0].value("text", top[0].value("series", std::string("?")));
  }
  const auto& cause = doc["causes"][0];
  return fmt::format("{} [{}]", cause.value("title", "?"), cause.value("component", "?"));
}

void capture(DemoContext& ctx, const RunningStack& stack, double from, double to,
             const fs::path& out) {
  auto captured = capture_prometheus(stack.prometheus_url, stack_capture_queries(), from, to, 1);
  if (!captured.ok()) {
    ctx.say(
        fmt::format("{}: Prometheus capture failed: {}", stack.profile, captured.error().message));
    return;
  }
  std::ofstream(out) << captured->dump() << "\n";
  ctx.say(fmt::format("{}: saved {} Prometheus series groups for {:.0f} s to {}", stack.profile,
                      (*captured)["queries"].size(), to - from, out.string()));
}

// Waits until no order is pending (the worker catches up after the load), at most `limit`.
Result<OrderCounts> settled_orders(DemoContext& ctx, const RunningStack& stack, double limit_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(limit_s);
  for (;;) {
    auto counts = count_orders(stack.primary, stack.dir.string());
    if (!counts.ok()) return counts.error();
    if (counts->pending == 0 || Clock::now() > deadline) return counts;
    if (!ctx.pause(1)) return interrupted();
  }
}

struct ProfileRun {
  std::string profile;
  fs::path dir;
  fs::path peak_json;
  fs::path capture_json;
  fs::path diagnosis_json;
  fs::path events;
  fs::path faults_json, faults_capture, fault_log;
  ProfileVerdict verdict;
};

class Demo {
 public:
  Demo(const DemoOptions& options, std::ostream& out)
      : ctx_(options, out), out_dir_(fs::absolute(options.out_dir)) {}

  int run();

 private:
  Result<void> prepare();
  Result<void> run_profile(const std::string& profile);
  Result<void> run_faults(RunningStack& stack, ProfileRun& run, std::uint64_t& accepted);
  Result<void> write_report();

  DemoContext ctx_;
  fs::path out_dir_;
  DemoSettings settings_;
  ScaledPlan peak_;
  fs::path peak_plan_, step_plan_;
  std::vector<ProfileRun> runs_;
  Verdict verdict_;
};

Result<void> Demo::prepare() {
  const auto& o = ctx_.options();
  settings_ = settings_for(o.mode, o.cores > 0 ? o.cores : usable_cores());
  fs::create_directories(out_dir_);
  const std::string source = o.peak_plan.empty()
                                 ? (fs::path(o.repo_root) / "examples/demo/peak.yaml").string()
                                 : o.peak_plan;
  auto scaled = scale_peak_plan(source, settings_.rate_factor, settings_.time_factor);
  if (!scaled.ok()) return scaled.error();
  peak_ = std::move(*scaled);
  peak_plan_ = out_dir_ / "peak-plan.yaml";
  std::ofstream(peak_plan_) << peak_.yaml;
  auto step = constant_rate_plan(source, 600);
  if (!step.ok()) return step.error();
  step_plan_ = out_dir_ / "step-plan.yaml";
  std::ofstream(step_plan_) << *step;
  verdict_.slo_p99_ms = o.slo_p99_ms;
  verdict_.slo_error_rate = o.slo_error_rate;
  settings_.search.slo_p99_ms = o.slo_p99_ms;
  settings_.search.slo_error_rate = o.slo_error_rate;

  const auto& s = settings_;
  // Measured on an idle 2-core machine: start-up 20-35 s, 3-4 s per load run on top of its
  // duration, a diagnosis 2-3 s, crest down 2-6 s.
  const double search_s = s.search.max_steps * (s.step_seconds + 4);
  const double faults_s =
      o.faults ? s.faults.size() * (s.fault_seconds + s.recovery_seconds + 3) + 30 : 0;
  const double estimate =
      static_cast<double>(o.profiles.size()) * (30 + peak_.duration_s + 10 + search_s + 10) +
      faults_s;
  ctx_.say(
      fmt::format("crest demo --{}: {} core(s), so rates x{:.2f}; durations x{:.2f}. Output in {}",
                  to_string(s.mode), s.cores, s.rate_factor, s.time_factor, out_dir_.string()));
  std::string phases;
  for (const auto& p : peak_.phases) {
    phases +=
        fmt::format("{}{} {:.0f}-{:.0f} s", phases.empty() ? "" : ", ", p.name, p.from_s, p.to_s);
  }
  ctx_.say(fmt::format(
      "peak plan {}: {:.0f} s ({}); sustained {:.0f} journeys/s, spike {:.0f} journeys/s", source,
      peak_.duration_s, phases, peak_.sustained_rate, peak_.spike_rate));
  ctx_.say(fmt::format(
      "breaking point: {:.0f} s steps from {:.0f} journeys/s, x{:.1f} per step, at most {} steps; "
      "SLO p99 < {:.0f} ms and errors < {:.2g} %",
      s.step_seconds, s.search.start_rate, s.search.growth, s.search.max_steps, s.search.slo_p99_ms,
      100 * s.search.slo_error_rate));
  if (o.faults) {
    ctx_.say(fmt::format("faults on scaled, {:.0f} s each + {:.0f} s recovery: {}", s.fault_seconds,
                         s.recovery_seconds, fmt::join(s.faults, ", ")));
  }
  ctx_.say(fmt::format("expected duration: about {:.0f} min", std::ceil(estimate / 60)));
  return {};
}

Result<void> Demo::run_profile(const std::string& profile) {
  const auto& s = settings_;
  ProfileRun run;
  run.profile = profile;
  run.dir = out_dir_ / profile;
  fs::create_directories(run.dir);
  auto started = start_stack(ctx_, profile, run.dir / "stack");
  if (!started.ok()) return started.error();
  RunningStack& stack = *started;
  run.events = stack.dir / "events.jsonl";
  std::uint64_t accepted = 0;  // 2xx to checkout over every load run on this platform

  // The peak.
  ctx_.say(fmt::format("{}: the peak plan, {:.0f} s (sustained {:.0f}/s, spike {:.0f}/s)", profile,
                       peak_.duration_s, peak_.sustained_rate, peak_.spike_rate));
  run.peak_json = run.dir / "peak.json";
  auto peak = run_load(ctx_, stack, peak_plan_, run.peak_json, {}, peak_.duration_s);
  if (!peak.ok()) return peak.error();
  accepted += peak->step_2xx("checkout");
  std::vector<std::pair<std::string, std::pair<double, double>>> windows;
  for (const auto& p : peak_.phases) {
    if (p.name != "warm-up") windows.push_back({p.name, {p.from_s, p.to_s + 0.5}});
  }
  run.verdict.profile = profile;
  run.verdict.phases = phase_verdicts(*peak, windows, verdict_.slo_p99_ms, verdict_.slo_error_rate);
  for (const auto& v : run.verdict.phases) {
    ctx_.say(fmt::format("{}:   {:<9} SLO {}: p99 {:.0f} ms, errors {:.2f} % of {} requests",
                         profile, v.phase, v.held ? "held  " : "BROKEN", v.stats.p99_ms,
                         100 * v.stats.error_rate(), v.stats.requests));
  }
  const double peak_from = peak->start_unix_s();
  const double peak_to = peak_from + peak->elapsed_s();

  // Diagnose the peak and save what Prometheus saw.
  run.diagnosis_json = run.dir / "diagnosis.json";
  run.verdict.diagnosis = diagnose(ctx_, stack, peak_from, peak_to, run.diagnosis_json,
                                   {"--load-run", run.peak_json.string()});
  ctx_.say(fmt::format("{}: crest diagnose: {}", profile, run.verdict.diagnosis));
  run.capture_json = run.dir / "prometheus.json";
  capture(ctx_, stack, peak_from - 2, peak_to + 2, run.capture_json);
  if (ctx_.stopping()) return interrupted();

  // The breaking point.
  ctx_.say(fmt::format("{}: breaking-point search", profile));
  int step_index = 0;
  auto found = find_breaking_point(
      s.search,
      [&](double rate) -> Result<StepMeasurement> {
        const auto out = run.dir / fmt::format("step-{:02}-{:.0f}.json", ++step_index, rate);
        auto step = run_load(ctx_, stack, step_plan_, out,
                             {"--rate", fmt::format("{:.0f}", rate), "--duration",
                              fmt::format("{:.0f}s", s.step_seconds)},
                             s.step_seconds);
        if (!step.ok()) return step.error();
        accepted += step->step_2xx("checkout");
        StepMeasurement m;
        m.requests = step->requests();
        m.failures = step->failures();
        m.iterations = step->iterations();
        m.dropped = step->dropped();
        m.p99_ms = step->p99_ms();
        m.output = out.string();
        return m;
      },
      [&](const StepOutcome& o) {
        ctx_.say(fmt::format(
            "{}:   {:>5.3g} journeys/s: {} (p99 {:.0f} ms, errors {:.2f} %, "
            "{} requests, {} dropped)",
            profile, o.rate, o.held ? "held" : "broke: " + o.why, o.measured.p99_ms,
            o.measured.requests == 0 ? 0.0 : 100.0 * o.measured.failures / o.measured.requests,
            o.measured.requests, o.measured.dropped));
      });
  if (!found.ok()) return found.error();
  run.verdict.breaking_point = *found;
  if (found->highest_held) {
    ctx_.say(fmt::format("{}: breaking point {}{:.3g} journeys/s", profile,
                         found->is_lower_bound() ? ">= " : "", *found->highest_held));
  } else {
    ctx_.say(fmt::format("{}: the SLO broke even at {:.3g} journeys/s", profile,
                         found->lowest_broken.value_or(0)));
  }

  // The faults, on the scaled platform.
  if (profile == "scaled" && ctx_.options().faults) {
    auto faults = run_faults(stack, run, accepted);
    if (!faults.ok()) return faults.error();
  }

  // Orders: every accepted one confirmed or failed, none pending.
  auto counts = settled_orders(ctx_, stack, profile == "scaled" ? 60 : 10);
  if (!counts.ok()) return counts.error();
  run.verdict.orders.accepted = accepted;
  run.verdict.orders.stored = *counts;
  ctx_.say(
      fmt::format("{}: orders: {} accepted by the shop; in the database {} confirmed, {} "
                  "failed, {} pending: {} lost",
                  profile, accepted, counts->confirmed, counts->failed, counts->pending,
                  run.verdict.orders.lost()));
  stack.stop(ctx_);
  run.events = autoscaler_log(run.events, run.dir / "autoscaler.jsonl");
  runs_.push_back(std::move(run));
  return {};
}

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

Result<void> Demo::run_faults(RunningStack& stack, ProfileRun& run, std::uint64_t& accepted) {
  const auto& s = settings_;
  const double rate = std::max(2.0, std::round(peak_.sustained_rate * s.steady_rate_share));
  const double lead_s = 8;
  const double per_fault_s = s.fault_seconds + s.recovery_seconds;
  const double total_s = lead_s + per_fault_s * static_cast<double>(s.faults.size()) + 3;
  ctx_.say(fmt::format("scaled: {} faults under a steady {:.0f} journeys/s for {:.0f} s",
                       s.faults.size(), rate, total_s));
  run.faults_json = run.dir / "faults-load.json";
  fs::path log = run.faults_json;
  log.replace_extension(".log");
  auto load = stack::ChildProcess::spawn(
      ctx_.crest({"run", step_plan_.string(), "--target", stack.shop_url, "--rate",
                  fmt::format("{:.0f}", rate), "--duration", fmt::format("{:.0f}s", total_s),
                  "--out", "json=" + run.faults_json.string(), "-q"},
                 log));
  if (!load.ok()) return load.error();
  // Whatever happens from here, no fault outlives the demo.
  struct UndoFaults {
    const fs::path& dir;
    ~UndoFaults() { (void)chaos::stop_all_faults(dir); }
  } undo_faults{stack.dir};

  struct Played {
    FaultVerdict verdict;
    double from_unix = 0, to_unix = 0, recovered_unix = 0;
  };
  std::vector<Played> played;
  if (!ctx_.pause(lead_s)) return interrupted();
  for (const auto& name : s.faults) {
    const FaultPlay* play = nullptr;
    for (const auto& p : kFaultPlays) {
      if (name == p.scenario) play = &p;
    }
    if (play == nullptr)
      return Error{ErrorKind::invalid_argument, "unknown fault scenario " + name};
    Played p;
    p.verdict.fault = name;
    p.verdict.target = play->target;
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
    if (!ctx_.pause(s.fault_seconds)) return interrupted();
    if (started.ok()) {
      if (auto stopped = chaos::stop_fault(stack.dir, started->id, "expired"); !stopped.ok()) {
        ctx_.say(fmt::format("scaled:   {}: undo failed: {}", name, stopped.error().message));
      }
    }
    p.to_unix = unix_now();
    if (!ctx_.pause(s.recovery_seconds)) return interrupted();
    p.recovered_unix = unix_now();
    played.push_back(std::move(p));
  }
  auto finished = ctx_.wait(*load, std::chrono::seconds(static_cast<long>(total_s + 60)));
  if (!finished.ok()) return finished.error();
  if (*finished != 0 && *finished != 99) {
    return Error{ErrorKind::internal,
                 fmt::format("the steady load exited {}; the end of {}:\n{}", *finished,
                             log.string(), tail_lines(read_text(log), 15))};
  }
  auto outcome = LoadOutcome::read(run.faults_json.string());
  if (!outcome.ok()) return outcome.error();
  accepted += outcome->step_2xx("checkout");
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
    v.during = outcome->window(v.from_s, p.recovered_unix - t0);
    v.accepted = outcome->step_passed("checkout", v.from_s, p.recovered_unix - t0);
    auto counts = count_orders(stack.primary, stack.dir.string(),
                               std::make_pair(p.from_unix, p.recovered_unix));
    if (counts.ok()) v.orders = *counts;
    v.diagnosis = diagnose(ctx_, stack, p.from_unix - 30, p.recovered_unix,
                           run.dir / fmt::format("fault-{}-{}-diagnosis.json", ++index, v.fault),
                           {"--load-run", run.faults_json.string()});
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

// The report from the profiles' outputs (the layout run_profile writes) and the verdict.
Result<std::vector<std::string>> build_and_write_report(const std::vector<ProfileRun>& runs,
                                                        const json& verdict, report::Slo slo,
                                                        const fs::path& out_dir) {
  std::vector<report::PhaseInputs> inputs;
  for (const auto& r : runs) {
    report::PhaseInputs in;
    in.name = r.profile;
    in.load_json = r.peak_json.string();
    if (fs::exists(r.capture_json)) in.prometheus.push_back(r.capture_json.string());
    if (fs::exists(r.events)) in.autoscaler_events = r.events.string();
    if (fs::exists(r.diagnosis_json) && fs::file_size(r.diagnosis_json) > 0) {
      in.diagnosis = r.diagnosis_json.string();
    }
    inputs.push_back(in);
    if (!r.faults_json.empty() && fs::exists(r.faults_json)) {
      report::PhaseInputs faults;
      faults.name = r.profile + " under faults";
      faults.load_json = r.faults_json.string();
      if (fs::exists(r.faults_capture)) faults.prometheus.push_back(r.faults_capture.string());
      if (fs::exists(r.events)) faults.autoscaler_events = r.events.string();
      if (fs::exists(r.fault_log)) faults.fault_events = r.fault_log.string();
      inputs.push_back(faults);
    }
  }
  auto built = report::build_report(inputs, slo, "Crest demo: the peak, baseline vs scaled");
  if (!built.ok()) return built.error();
  built->verdict = verdict;
  return report::write_report(*built, (out_dir / "report").string());
}

// Where run_profile left a profile's outputs.
ProfileRun profile_outputs(const fs::path& out_dir, const std::string& profile) {
  ProfileRun r;
  r.profile = profile;
  r.dir = out_dir / profile;
  r.peak_json = r.dir / "peak.json";
  r.capture_json = r.dir / "prometheus.json";
  r.diagnosis_json = r.dir / "diagnosis.json";
  r.events = r.dir / "autoscaler.jsonl";
  if (fs::exists(r.dir / "faults-load.json")) {
    r.faults_json = r.dir / "faults-load.json";
    r.faults_capture = r.dir / "faults-prometheus.json";
    r.fault_log = chaos::fault_log_path(r.dir / "stack");
  }
  return r;
}

Result<void> Demo::write_report() {
  const json verdict = verdict_.to_json();
  auto written = build_and_write_report(
      runs_, verdict, report::Slo{verdict_.slo_p99_ms, verdict_.slo_error_rate}, out_dir_);
  if (!written.ok()) return written.error();
  std::ofstream(out_dir_ / "verdict.json") << verdict.dump(2) << "\n";
  for (const auto& path : *written) ctx_.say("report: " + path);
  ctx_.say("verdict: " + (out_dir_ / "verdict.json").string());
  return {};
}

int Demo::run() {
  auto prepared = prepare();
  if (!prepared.ok()) {
    ctx_.say("crest demo: " + prepared.error().message);
    return 1;
  }
  for (const auto& profile : ctx_.options().profiles) {
    auto done = run_profile(profile);
    if (!done.ok()) {
      if (ctx_.stopping()) {
        ctx_.say("interrupted: every process the demo started has been stopped");
        return 130;
      }
      ctx_.say(fmt::format("crest demo: {} failed: {}", profile, done.error().message));
      return 1;
    }
  }
  for (const auto& r : runs_) verdict_.profiles.push_back(r.verdict);
  auto report = write_report();
  if (!report.ok()) {
    ctx_.say("crest demo: the report: " + report.error().message);
    return 1;
  }
  std::string text = verdict_.to_text();
  ctx_.say(fmt::format("done in {:.1f} min\n{}", ctx_.elapsed_s() / 60, text));
  return 0;
}

}  // namespace

int rebuild_demo_report(const DemoOptions& options, std::ostream& out) {
  const fs::path out_dir = fs::absolute(options.out_dir);
  const auto verdict = json::parse(read_text(out_dir / "verdict.json"), nullptr, false);
  if (verdict.is_discarded() || !verdict.contains("profiles")) {
    out << "crest demo: " << (out_dir / "verdict.json").string()
        << " is missing or not a demo verdict\n";
    return 1;
  }
  std::vector<ProfileRun> runs;
  for (const auto& p : verdict["profiles"]) {
    runs.push_back(profile_outputs(out_dir, p.value("profile", "")));
  }
  report::Slo slo{verdict["slo"].value("p99_ms", 500.0), verdict["slo"].value("error_rate", 0.01)};
  auto written = build_and_write_report(runs, verdict, slo, out_dir);
  if (!written.ok()) {
    out << "crest demo: the report: " << written.error().message << "\n";
    return 1;
  }
  for (const auto& path : *written) out << path << "\n";
  return 0;
}

int run_demo(const DemoOptions& options, std::ostream& out) {
  DemoOptions resolved = options;
  if (resolved.crest_binary.empty()) {
    std::error_code ec;
    resolved.crest_binary = fs::read_symlink("/proc/self/exe", ec).string();
  }
  Demo demo(resolved, out);
  return demo.run();
}

}  // namespace crest::demo
