#pragma once
// A run spread over machines: crest run PLAN --coordinator ADDR --workers N listens on ADDR,
// admits N workers (crest worker --coordinator ADDR, src/worker.cpp) that prove they hold the
// shared token, hands each its shard (index, count, the plan text and its data files, the run's
// arguments and a shared start time), then merges their reports exactly as --processes does
// (the same frames, over TCP): one progress line, one summary, thresholds on the merged totals.
#include <atomic>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/load/engine.hpp"

namespace crest::load {

struct CoordinatorOptions {
  std::string listen;  // HOST:PORT (":7700" for every address)
  int workers = 1;
  std::string token;  // required; workers prove they hold it (HMAC of a nonce), never send it
  bool tolerate_lost_workers = false;  // a lost worker marks the result partial, not failed
  double wait_for_workers_s = 300;     // for all N to join (pods are scheduled, images pulled)
  double hello_timeout_s = 10;         // a connection that does not say hello is closed
  double start_delay_s = 1;            // shared start time = the last join + this
  double silence_timeout_s = 30;       // a worker that sends nothing this long is lost
  std::string plan_path;               // read, with its data files, and shipped to every worker
  std::vector<std::string> run_args;   // crest run's arguments after the plan (--vus, -e, ...)
  // Event loops per worker when > 0 (--threads or the plan's load.threads); otherwise the fewest
  // cores any worker has, so the shards are the same shape (the engine requires it).
  int threads = 0;
  std::function<void(const Progress&, bool final)> on_tick;
  std::atomic<bool>* stop = nullptr;
  std::function<bool(const MetricSet& totals, double elapsed_s)> should_abort;
  std::function<void(const std::string& line)> log;  // joins, refusals, losses: stderr
};

// The data files a plan names (data.*.file), as written and with their contents. A file that
// cannot be read, or an absolute path (a worker has no such file), is an error naming it.
Result<std::vector<std::pair<std::string, std::string>>> plan_data_files(
    const std::string& plan_path);

// Runs the plan over the workers. RunResult::error says why it could not run or was stopped (no
// workers in time, a lost worker naming it, a worker's own error); with tolerate_lost_workers a
// lost worker is listed in RunResult::lost_workers and the run goes on.
RunResult run_coordinator(const Plan& plan, const CoordinatorOptions& options);

}  // namespace crest::load
