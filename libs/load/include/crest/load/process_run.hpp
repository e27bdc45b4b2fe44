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

namespace crest::load {

// One message from a shard to the parent. On the wire: a 4-byte little-endian payload length,
// then the payload, text:
//   "tick <elapsed_s> <total_s> <active_vus> <final 0|1> <point bytes> <totals bytes>\n"
//       followed by serialise(TimelinePoint) and serialise(MetricSet) of those lengths;
//   "result <elapsed_s> <peak_vus> <threads> <source_addresses> <aborted 0|1> <error bytes>\n"
//       followed by the error text (empty when the run went well): the shard's last frame.
struct ShardFrame {
  enum class Kind : std::uint8_t { tick, result };
  Kind kind = Kind::tick;
  double elapsed_s = 0;  // tick: Progress::elapsed_s; result: RunResult::elapsed_s
  double total_s = 0;
  int active_vus = 0;
  bool final = false;
  std::optional<TimelinePoint> last;
  MetricSet totals;
  int peak_vus = 0;
  int threads = 0;
  int source_addresses = 1;
  bool aborted = false;
  std::string error;
};

inline constexpr std::size_t kMaxShardFrameBytes = 256u << 20;

std::string encode_shard_frame(const ShardFrame& frame);
enum class FrameStatus : std::uint8_t { complete, incomplete, malformed };
// Takes one frame off the front of `bytes` (advancing it) when a whole one is there.
FrameStatus decode_shard_frame(std::string_view& bytes, ShardFrame& out);

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

// Runs the plan over options.processes children and merges their reports. A child that dies,
// exits non-zero, goes silent or sends a malformed frame stops the run: every other child is
// killed and reaped and RunResult::error names the shard, its pid and what happened.
RunResult run_processes(const Plan& plan, const ProcessRunOptions& options);

}  // namespace crest::load
