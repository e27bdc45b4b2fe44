// crest demo: the peak-season story end to end (libs/demo, docs/demo.md).
#include <signal.h>

#include <atomic>
#include <iostream>

#include <CLI/CLI.hpp>

#include "crest/demo/demo_runner.hpp"
#include "stack_common.hpp"
#include "subcommands.hpp"

namespace crest::cli {
namespace {
std::atomic<bool> g_demo_stop{false};
void on_demo_signal(int) {
  g_demo_stop = true;
}
}  // namespace

int demo(int argc, char** argv) {
  CLI::App app{
      "The whole story on this machine: for the baseline and the scaled platform, crest up, the\n"
      "peak plan (sustained, spike, recovery), a breaking-point search, crest diagnose and crest\n"
      "down; faults on the scaled one; then one report and a verdict. Quick by default (about 8\n"
      "minutes after the build); --full takes about 15; --test is the test suite's variant.",
      "crest demo"};
  demo::DemoOptions options;
  bool quick = false, full = false, test = false, no_faults = false, report_only = false;
  auto* mode = app.add_option_group("variant");
  mode->add_flag("--quick", quick, "the README's variant (default)");
  mode->add_flag("--full", full, "longer phases, finer breaking-point search");
  mode->add_flag("--test", test, "the shortest variant that still crosses every phase");
  mode->require_option(0, 1);
  app.add_option("--out", options.out_dir, "directory for everything it writes")
      ->capture_default_str();
  app.add_option("--profiles", options.profiles, "profiles to compare, in order")
      ->capture_default_str();
  app.add_flag("--no-faults", no_faults, "skip the fault scenarios");
  app.add_flag("--report-only", report_only,
               "rebuild the report from the outputs of a finished demo in --out");
  app.add_option("--plan", options.peak_plan, "the peak plan (default examples/demo/peak.yaml)")
      ->check(CLI::ExistingFile);
  app.add_option("--cores", options.cores, "scale rates to this many cores (default: usable)");
  app.add_option("--payment-failure-rate", options.payment_failure_rate,
                 "share of payments declined")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  options.mode = full ? demo::DemoMode::full : test ? demo::DemoMode::test : demo::DemoMode::quick;
  options.faults = !no_faults;
  options.repo_root = repo_root();
  if (report_only) return demo::rebuild_demo_report(options, std::cout);
  options.stop = &g_demo_stop;
  struct sigaction action {};
  action.sa_handler = on_demo_signal;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGHUP, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return demo::run_demo(options, std::cout);
}

}  // namespace crest::cli
