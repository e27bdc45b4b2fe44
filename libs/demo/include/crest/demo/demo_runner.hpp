#pragma once
// `crest demo`: the whole story on one machine. For each profile (baseline, then scaled): start
// the platform, run the peak plan, search the breaking point, diagnose, save Prometheus's data
// for the run window, count the orders, stop the platform; on the scaled one, the fault
// scenarios under steady load first. Then the report and the verdict. Every step is a child
// process of its own (`crest up --foreground`, `crest run`, `crest diagnose`, `crest chaos`),
// started and stopped by pid, so Ctrl-C or a failure stops exactly what the demo started.
#include <atomic>
#include <ostream>
#include <string>
#include <vector>

#include "crest/demo/demo_plan.hpp"

namespace crest::demo {

struct DemoOptions {
  DemoMode mode = DemoMode::quick;
  std::string out_dir = "crest-demo";  // everything the demo writes, report included
  std::string crest_binary;            // the crest program; empty: this process's own
  std::string repo_root;               // profiles and examples/demo/peak.yaml
  std::string peak_plan;               // empty: <repo_root>/examples/demo/peak.yaml
  int cores = 0;                       // 0: what this process may use
  std::vector<std::string> profiles = {"baseline", "scaled"};
  bool faults = true;
  double payment_failure_rate = 0.02;  // declines stay on, at a realistic small rate
  double slo_p99_ms = 500;
  double slo_error_rate = 0.01;
  std::atomic<bool>* stop = nullptr;  // set by Ctrl-C
};

// Prints progress to `out`; returns 0 when the story was told (whatever the verdict), 1 when a
// step failed, 130 when interrupted.
int run_demo(const DemoOptions& options, std::ostream& out);

// The report again from a finished demo's outputs in options.out_dir (its verdict.json and the
// files beside it), e.g. after the report page changed; prints the paths. 0, or 1 with why.
int rebuild_demo_report(const DemoOptions& options, std::ostream& out);

}  // namespace crest::demo
