// crest chaos: list, run and stop reversible faults on the local stack (libs/chaos,
// docs/chaos.md). Every fault is in RUNDIR/chaos/faults.jsonl before it takes effect, so
// `crest chaos stop` and `crest down` undo whatever is still active, even after a crash here.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "crest/autoscale/event_log.hpp"
#include "crest/chaos/scenario.hpp"
#include "crest/chaos/stack_faults.hpp"
#include "crest/core/config.hpp"
#include "stack_common.hpp"
#include "subcommands.hpp"

namespace crest::cli {

namespace {
std::atomic<bool> interrupted{false};
void on_signal(int) {
  interrupted = true;
}

// Waits until `until` or a signal; true if the time ran out.
bool wait_until(std::chrono::steady_clock::time_point until) {
  while (std::chrono::steady_clock::now() < until) {
    if (interrupted) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return true;
}

int list_faults() {
  std::cout << fmt::format("{:<22} {:<30} {:<28} {}\n", "FAULT", "DEFAULT TARGET", "PARAMETERS",
                           "WHAT IT DOES");
  for (const auto& k : chaos::fault_kinds()) {
    std::cout << fmt::format("{:<22} {:<30} {:<28} {}\n", k.name, k.default_target,
                             k.parameters.empty() ? "-" : k.parameters, k.description);
  }
  return 0;
}

int show_active(const std::string& dir) {
  auto active = chaos::active_faults(dir);
  if (!active.ok()) {
    std::cerr << "crest chaos: " << active.error().message << "\n";
    return 1;
  }
  if (active->empty()) std::cout << "no active fault in " << dir << "\n";
  for (const auto& r : *active) {
    std::cout << fmt::format("{}  {}  on {}  since {}  {}\n", r.id, r.fault, r.target,
                             autoscale::format_rfc3339_ms(r.start), r.parameters.dump());
  }
  return 0;
}
}  // namespace

int chaos(int argc, char** argv) {
  CLI::App app{"Break the local stack on purpose, reversibly (docs/chaos.md)."};
  app.require_subcommand(1);
  std::string dir = kDefaultRunDir;
  app.add_option("--dir", dir, "run directory of `crest up`")->capture_default_str();

  auto* list = app.add_subcommand("list", "the faults, their targets and parameters");

  auto* run = app.add_subcommand("run",
                                 "start one fault: crest chaos run cpu-hog --target "
                                 "catalog-1 --for 60s [--set workers=2]");
  std::string fault, target, duration_text;
  std::vector<std::string> settings;
  run->add_option("fault", fault, "a fault from `crest chaos list`")->required();
  run->add_option("--target", target, "service, instance or component (default: the fault's)");
  run->add_option("--for", duration_text,
                  "end it after this long (30s, 2m); waits in the foreground, Ctrl-C ends it "
                  "early. Without it the fault stays until `crest chaos stop`");
  run->add_option("--set", settings, "a fault parameter, key=value (repeatable)");
  run->add_option("--dir", dir, "run directory of `crest up`");

  auto* stop = app.add_subcommand("stop", "undo active faults: crest chaos stop ID | --all");
  std::string stop_id;
  bool stop_all = false;
  stop->add_option("id", stop_id, "the fault's id (crest chaos status)");
  stop->add_flag("--all", stop_all, "every active fault, including a crashed run's");
  stop->add_option("--dir", dir, "run directory of `crest up`");

  auto* status = app.add_subcommand("status", "the active faults");
  status->add_option("--dir", dir, "run directory of `crest up`");

  auto* scenario = app.add_subcommand(
      "scenario", "a load plan with timed faults: crest chaos scenario FILE (docs/chaos.md)");
  std::string scenario_file;
  scenario->add_option("file", scenario_file, "scenario YAML")->required();
  scenario->add_option("--dir", dir, "run directory of `crest up`");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (list->parsed()) return list_faults();
  if (status->parsed()) return show_active(dir);
  if (stop->parsed()) {
    if (stop_all || stop_id.empty()) {
      auto undone = chaos::stop_all_faults(dir);
      if (!undone.ok()) {
        std::cerr << "crest chaos stop: " << undone.error().message << "\n";
        return 1;
      }
      std::cout << fmt::format("undid {} fault(s)\n", undone->size());
      for (const auto& id : *undone) std::cout << "  " << id << "\n";
      return 0;
    }
    if (auto r = chaos::stop_fault(dir, stop_id); !r.ok()) {
      std::cerr << "crest chaos stop: " << r.error().message << "\n";
      return 1;
    }
    std::cout << "undid " << stop_id << "\n";
    return 0;
  }
  if (scenario->parsed()) {
    ::signal(SIGINT, on_signal);
    ::signal(SIGTERM, on_signal);
    return chaos::run_scenario_command(scenario_file, dir, interrupted, std::cout, std::cerr);
  }

  chaos::FaultSpec spec;
  spec.fault = fault;
  spec.target = target;
  auto parameters = chaos::parse_fault_parameters(settings);
  if (!parameters.ok()) {
    std::cerr << "crest chaos run: " << parameters.error().message << "\n";
    return 2;
  }
  spec.parameters = *parameters;
  if (!duration_text.empty()) {
    try {
      spec.duration =
          std::chrono::duration_cast<std::chrono::seconds>(Config::parse_duration(duration_text));
    } catch (const std::exception& e) {
      std::cerr << "crest chaos run: --for " << duration_text << ": " << e.what() << "\n";
      return 2;
    }
    if (spec.duration.count() <= 0) {
      std::cerr << "crest chaos run: --for must be at least 1s\n";
      return 2;
    }
  }
  ::signal(SIGINT, on_signal);
  ::signal(SIGTERM, on_signal);
  auto started = chaos::start_fault(dir, spec);
  if (!started.ok()) {
    std::cerr << "crest chaos run: " << started.error().message << "\n";
    return 1;
  }
  std::cout << fmt::format("{} started: {} on {} {}\n", started->id, started->fault,
                           started->target, started->parameters.dump())
            << std::flush;
  if (spec.duration.count() == 0) {
    std::cout << "active until `crest chaos stop " << started->id
              << "` (or --all, or crest down)\n";
    return 0;
  }
  const bool expired = wait_until(std::chrono::steady_clock::now() + spec.duration);
  if (auto r = chaos::stop_fault(dir, started->id, expired ? "expired" : "stopped"); !r.ok()) {
    std::cerr << "crest chaos run: could not undo " << started->id << ": " << r.error().message
              << " (it stays active: crest chaos stop --all)\n";
    return 1;
  }
  std::cout << fmt::format("{} {}\n", started->id, expired ? "expired and undone" : "undone");
  return 0;
}

}  // namespace crest::cli
