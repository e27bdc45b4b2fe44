#pragma once
// The private parts of `crest demo` that its source files share: the run's context (progress,
// pauses, child processes), the running platform, the steps run against it (demo_platform.cpp),
// and the Demo itself, whose phases live in demo_runner.cpp (prepare, each profile, the report)
// and demo_faults.cpp (the fault scenarios).
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crest/demo/demo_plan.hpp"
#include "crest/demo/demo_runner.hpp"
#include "crest/demo/load_outcome.hpp"
#include "crest/demo/order_audit.hpp"
#include "crest/demo/verdict.hpp"
#include "crest/stack/child_process.hpp"

namespace crest::demo {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double unix_now();
std::string read_text(const fs::path& path);
// The last `lines` lines of `text`.
std::string tail_lines(const std::string& text, int lines);
Error interrupted();

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

// `crest up --foreground --profile PROFILE --dir DIR` until it prints READY; its state.json read.
Result<RunningStack> start_stack(DemoContext& ctx, const std::string& profile, const fs::path& dir);

// `crest run PLAN --target URL --out json=OUT -q [extra]`: the load JSON, read back.
Result<LoadOutcome> run_load(DemoContext& ctx, const RunningStack& stack, const fs::path& plan,
                             const fs::path& out, std::vector<std::string> extra,
                             double expected_s);

// The autoscaler's decision, pod and node events of the stack's event log, copied to `out`.
fs::path autoscaler_log(const fs::path& events, const fs::path& out);

// `crest diagnose` over [from, to] with the load run and the autoscaler's events of that window
// only; the JSON is written to `out`; its headline returned.
std::string diagnose(DemoContext& ctx, const RunningStack& stack, double from, double to,
                     const fs::path& out, const fs::path& load_run);

// What Prometheus recorded over [from, to], saved to `out` as the report reads it.
void capture(DemoContext& ctx, const RunningStack& stack, double from, double to,
             const fs::path& out);

// CPU-seconds the platform (every component but Prometheus and the exporters) used over the
// `elapsed_s` seconds from `from_unix`, from its cgroups' counters in Prometheus; -1 unknown.
double platform_cpu_seconds(DemoContext& ctx, const RunningStack& stack, double from_unix,
                            double elapsed_s);

// Waits until no order is pending (the worker catches up after the load), at most `limit_s`;
// returns every order's id and status.
Result<std::vector<StoredOrder>> settled_orders(DemoContext& ctx, const RunningStack& stack,
                                                double limit_s);

// Adds a load run's accepted checkouts (2xx to `checkout`, and the order ids it recorded) to
// `accepted`; `name` names the run when its ids are missing.
void add_checkouts(AcceptedCheckouts& accepted, const LoadOutcome& run, const std::string& name);

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
  Result<void> run_faults(RunningStack& stack, ProfileRun& run, AcceptedCheckouts& accepted);
  Result<void> write_report();

  DemoContext ctx_;
  fs::path out_dir_;
  DemoSettings settings_;
  ScaledPlan peak_;
  fs::path peak_plan_, step_plan_;
  std::vector<ProfileRun> runs_;
  Verdict verdict_;
};

}  // namespace crest::demo
