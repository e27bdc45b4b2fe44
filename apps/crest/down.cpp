// crest down: stops exactly the processes `crest up` started, by pid: the supervisor first (it
// stops its children gracefully), then any that survived it, forcibly.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "crest/chaos/stack_faults.hpp"
#include "crest/stack/local_platform.hpp"
#include "stack_common.hpp"
#include "subcommands.hpp"

namespace crest::cli {
namespace fs = std::filesystem;

namespace {
bool wait_gone(pid_t pid, std::uint64_t ticks, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (stack::same_process_alive(pid, ticks)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}
}  // namespace

int down(int argc, char** argv) {
  CLI::App app{
      "Stop the platform `crest up` started in a run directory (gracefully, then forcibly)."};
  std::string dir = kDefaultRunDir;
  bool purge = false;
  int timeout_seconds = 60;
  app.add_option("--dir", dir, "run directory")->capture_default_str();
  app.add_flag("--purge", purge, "also delete the run directory (data and logs)");
  app.add_option("--timeout", timeout_seconds, "seconds for a graceful stop before SIGKILL")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto state = stack::read_state(dir);
  if (!state.ok()) {
    std::cerr << "crest down: " << state.error().message << "\n";
    return 1;
  }
  // Faults still active (crest chaos, even a crashed one) are undone while their targets live.
  if (auto undone = chaos::stop_all_faults(dir); !undone.ok()) {
    std::cerr << "crest down: some faults could not be undone: " << undone.error().message << "\n";
  } else if (!undone->empty()) {
    std::cout << fmt::format("undid {} active fault(s) (crest chaos)\n", undone->size());
  }
  const auto& s = *state;
  const pid_t supervisor = s.value("supervisor_pid", 0);
  const std::uint64_t supervisor_ticks = s.value("supervisor_start_ticks", std::uint64_t{0});
  const auto began = std::chrono::steady_clock::now();
  if (stack::same_process_alive(supervisor, supervisor_ticks)) {
    std::cout << fmt::format("stopping the supervisor (pid {}) and everything it started...\n",
                             supervisor)
              << std::flush;
    ::kill(supervisor, SIGTERM);
    if (!wait_gone(supervisor, supervisor_ticks, std::chrono::seconds(timeout_seconds))) {
      std::cout << fmt::format("the supervisor did not stop in {} s: SIGKILL\n", timeout_seconds);
      ::kill(supervisor, SIGKILL);
      wait_gone(supervisor, supervisor_ticks, std::chrono::seconds(5));
    }
  } else {
    std::cout << "the supervisor is not running; checking the processes it recorded\n";
  }
  // Anything still alive (the supervisor was killed, or a child ignored SIGTERM): by pid and
  // start time, so a pid reused by an unrelated process is left alone.
  int stopped = 0, forced = 0;
  for (const auto& component : s.value("components", nlohmann::json::array())) {
    for (const auto& instance : component.value("instances", nlohmann::json::array())) {
      const pid_t pid = instance.value("pid", -1);
      const std::uint64_t ticks = instance.value("start_ticks", std::uint64_t{0});
      if (pid <= 0 || ticks == 0) continue;
      ++stopped;
      if (!stack::same_process_alive(pid, ticks)) continue;
      ::kill(pid, SIGTERM);
      if (!wait_gone(pid, ticks, std::chrono::seconds(10))) {
        ::kill(pid, SIGKILL);
        wait_gone(pid, ticks, std::chrono::seconds(5));
      }
      ++forced;
      std::cout << fmt::format("  {} (pid {}) outlived the supervisor; stopped\n",
                               instance.value("name", "?"), pid);
    }
  }
  std::cout << fmt::format(
      "stopped {} processes in {:.1f} s{}\n", stopped,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count(),
      forced ? fmt::format(" ({} needed a signal of their own)", forced) : "");
  if (purge) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    std::cout << (ec ? "could not delete " + dir + ": " + ec.message() : "deleted " + dir) << "\n";
  } else {
    std::cout << "data and logs kept in " << dir << " (--purge deletes them)\n";
  }
  return 0;
}

}  // namespace crest::cli
