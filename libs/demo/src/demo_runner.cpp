#include "crest/demo/demo_runner.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/ranges.h>

#include "crest/chaos/stack_faults.hpp"
#include "crest/report/inputs.hpp"
#include "demo_session.hpp"

namespace crest::demo {
namespace {

using nlohmann::json;

// Virtual users the breaking-point steps may use: at a few hundred journeys/s of a few seconds
// each (think times), 600 ran out first and the drops read as the platform breaking.
constexpr int kStepMaxVus = 3000;

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::thread::hardware_concurrency());
}

}  // namespace

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
  auto step = constant_rate_plan(source, kStepMaxVus);
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
      o.faults ? fault_timeline(s, s.faults.size(), 3).duration_s + 3.0 * s.faults.size() + 30 : 0;
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
      "breaking point: {:.0f} s steps from where the peak last held (else {:.0f} journeys/s), "
      "x{:.1f} per step up to {:.0f}/s, at most {} steps; SLO p99 < {:.0f} ms and errors < {:.2g} "
      "%",
      s.step_seconds, s.search.start_rate, s.search.growth, s.search.max_rate, s.search.max_steps,
      s.search.slo_p99_ms, 100 * s.search.slo_error_rate));
  if (o.faults) {
    ctx_.say(fmt::format("faults on scaled, {:.0f} s quiet + {:.0f} s each + {:.0f} s recovery: {}",
                         s.quiet_seconds, s.fault_seconds, s.recovery_seconds,
                         fmt::join(s.faults, ", ")));
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
  AcceptedCheckouts accepted;  // 2xx to checkout, and their order ids, over every load run here

  // The peak.
  ctx_.say(fmt::format("{}: the peak plan, {:.0f} s (sustained {:.0f}/s, spike {:.0f}/s)", profile,
                       peak_.duration_s, peak_.sustained_rate, peak_.spike_rate));
  run.peak_json = run.dir / "peak.json";
  auto peak = run_load(ctx_, stack, peak_plan_, run.peak_json, {}, peak_.duration_s);
  if (!peak.ok()) return peak.error();
  add_checkouts(accepted, *peak, run.peak_json.filename().string());
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
  run.verdict.diagnosis =
      diagnose(ctx_, stack, peak_from, peak_to, run.diagnosis_json, run.peak_json);
  ctx_.say(fmt::format("{}: crest diagnose: {}", profile, run.verdict.diagnosis));
  run.capture_json = run.dir / "prometheus.json";
  capture(ctx_, stack, peak_from - 2, peak_to + 2, run.capture_json);
  if (ctx_.stopping()) return interrupted();

  // The breaking point.
  BreakingPointSearch search = s.search;
  std::vector<std::pair<double, bool>> phase_rates;
  for (const auto& v : run.verdict.phases) {
    for (const auto& p : peak_.phases) {
      if (p.name == v.phase) phase_rates.emplace_back(p.rate, v.held);
    }
  }
  search.start_rate = calibrated_start_rate(search, phase_rates);
  ctx_.say(fmt::format(
      "{}: breaking-point search from {:.3g} journeys/s (where the peak last held), x{:.2g} per "
      "step up to {:.3g}/s",
      profile, search.start_rate, search.growth, search.max_rate));
  int step_index = 0;
  auto found = find_breaking_point(
      search,
      [&](double rate) -> Result<StepMeasurement> {
        const auto out = run.dir / fmt::format("step-{:02}-{:.0f}.json", ++step_index, rate);
        auto step = run_load(ctx_, stack, step_plan_, out,
                             {"--rate", fmt::format("{:.0f}", rate), "--duration",
                              fmt::format("{:.0f}s", s.step_seconds)},
                             s.step_seconds);
        if (!step.ok()) return step.error();
        add_checkouts(accepted, *step, out.filename().string());
        StepMeasurement m;
        m.requests = step->requests();
        m.failures = step->failures();
        m.iterations = step->iterations();
        m.dropped = step->dropped();
        m.p99_ms = step->p99_ms();
        m.elapsed_s = step->elapsed_s();
        m.cpu_seconds = platform_cpu_seconds(ctx_, stack, step->start_unix_s(), step->elapsed_s());
        m.output = out.string();
        return m;
      },
      [&](const StepOutcome& o) {
        ctx_.say(fmt::format(
            "{}:   {:>5.3g} journeys/s: {} (p99 {:.0f} ms, errors {:.2f} %, "
            "{} requests, {} dropped, platform CPU {:.2f})",
            profile, o.rate, o.held ? "held" : "broke: " + o.why, o.measured.p99_ms,
            o.measured.requests == 0 ? 0.0 : 100.0 * o.measured.failures / o.measured.requests,
            o.measured.requests, o.measured.dropped,
            o.measured.elapsed_s > 0 ? o.measured.cpu_seconds / o.measured.elapsed_s : 0.0));
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
  auto stored = settled_orders(ctx_, stack, profile == "scaled" ? 60 : 10);
  if (!stored.ok()) return stored.error();
  run.verdict.orders = audit_orders(accepted, *stored);
  const auto& counts = run.verdict.orders.stored;
  ctx_.say(fmt::format(
      "{}: orders: {} accepted by the shop; in the database {} confirmed, {} failed, {} pending; "
      "{}",
      profile, accepted.count, counts.confirmed, counts.failed, counts.pending,
      run.verdict.orders.describe()));
  stack.stop(ctx_);
  run.events = autoscaler_log(run.events, run.dir / "autoscaler.jsonl");
  runs_.push_back(std::move(run));
  return {};
}

namespace {

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

}  // namespace

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
