#pragma once
// crest run --processes N: one run split over N child processes. A process holds one descriptor
// per virtual user and the hard RLIMIT_NOFILE caps it, so a run past that limit needs several
// processes, each with its own descriptor table. The parent fork+execs the crest binary once per
// shard (`crest run PLAN ... --shard I/N --report-fd FD`); every child runs run_plan on its shard
// and writes, once a second and at the end, a frame with its cumulative MetricSet and the last
// second's TimelinePoint to a pipe. The parent merges the frames exactly (histograms add bucket by
// bucket) into one RunResult, so the summary, thresholds and outputs read as for one process.
#include <sys/types.h>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crest/load/engine.hpp"
#include "crest/load/wire.hpp"

namespace crest::load {

// The child's side: runs the shard (options carry shard_index/shard_count) and reports to
// report_fd. SIGTERM stops it gracefully, SIGUSR1 aborts it (the parent's abort_on_fail), SIGINT
// is the parent's to handle. Returns the exit code: 0, or 1 when the run failed.
int run_shard(const Plan& plan, RunOptions options, int report_fd);

struct ProcessRunOptions {
  int processes = 2;
  std::string executable = "/proc/self/exe";  // the crest binary
  // The child's arguments after argv[0]: "run", the plan and its overrides; the shard flags (and
  // --out jtl=FILE.part-I) are appended per child.
  std::vector<std::string> child_args;
  std::string jtl_path;  // each child writes FILE.part-I; the parent joins them into FILE
  // As RunOptions: on_tick sees the merged totals and the merged second; should_abort is asked
  // after every merged second; *stop (Ctrl-C) stops every child gracefully.
  std::function<void(const Progress&, bool final)> on_tick;
  std::atomic<bool>* stop = nullptr;
  std::function<bool(const MetricSet& totals, double elapsed_s)> should_abort;
  // A child that sends nothing for this long is taken as hung (it ticks once a second).
  double silence_timeout_s = 60;
  // Called once every child has been started, with their pids by shard (tests, diagnostics).
  std::function<void(const std::vector<pid_t>& pids)> on_started;
};

// Fork+execs `executable args...` as a shard process: only `report_fd` (and stdio) crosses exec,
// the child dies with its parent (PR_SET_PDEATHSIG) and finds SIGTERM/SIGUSR1 blocked until
// run_shard installs its handlers. Returns the pid, or -1 (errno says why).
pid_t spawn_shard(const std::string& executable, std::vector<std::string>& args, int report_fd);

// Runs the plan over options.processes children and merges their reports. A child that dies,
// exits non-zero, goes silent or sends a malformed frame stops the run: every other child is
// killed and reaped and RunResult::error names the shard, its pid and what happened.
RunResult run_processes(const Plan& plan, const ProcessRunOptions& options);

}  // namespace crest::load
