// crest status: what runs in a run directory, from its state.json (kept current by the
// supervisor), as a table or as JSON.
#include <unistd.h>

#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "crest/stack/local_platform.hpp"
#include "stack_common.hpp"
#include "subcommands.hpp"

namespace crest::cli {

namespace {
std::string uptime(long seconds) {
  if (seconds < 120) return fmt::format("{}s", seconds);
  if (seconds < 7200) return fmt::format("{}m", seconds / 60);
  return fmt::format("{}h{}m", seconds / 3600, seconds % 3600 / 60);
}
}  // namespace

int status(int argc, char** argv) {
  CLI::App app{
      "Show what `crest up` runs: component, instances ready/desired, address, pid, uptime, "
      "restarts."};
  std::string dir = kDefaultRunDir;
  bool json = false;
  app.add_option("--dir", dir, "run directory")->capture_default_str();
  app.add_flag("--json", json, "print JSON");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto state = stack::read_state(dir);
  if (!state.ok()) {
    std::cerr << "crest status: " << state.error().message << "\n";
    return 3;
  }
  auto s = *state;
  const bool running =
      stack::same_process_alive(s.value("supervisor_pid", 0),
                                s.value("supervisor_start_ticks", std::uint64_t{0})) &&
      !s.value("stopping", false);
  s["running"] = running;
  for (auto& component : s["components"]) {
    for (auto& instance : component["instances"]) {
      instance["alive"] = stack::same_process_alive(
          instance.value("pid", -1), instance.value("start_ticks", std::uint64_t{0}));
    }
  }
  if (json) {
    std::cout << s.dump(2) << "\n";
    return running ? 0 : 3;
  }
  std::cout << fmt::format("stack in {}: {}\n", dir,
                           running ? "running" : "NOT RUNNING (the last state it wrote follows)");
  std::cout << fmt::format(
      "profile {}  started {}  ready in {:.1f} s\nshop {}  prometheus {}\ncgroups: {}  autoscaler: "
      "{}\n",
      s.value("profile", "?"), s.value("started_at", "?"), s.value("startup_seconds", 0.0),
      s.value("shop_url", "?"), s.value("prometheus_url", "?"), s.value("cgroups", "?"),
      s.value("autoscaler", false) ? "on" : "off");
  std::string nodes;
  for (const auto& n : s.value("nodes", nlohmann::json::array())) {
    nodes += fmt::format("{}{} ({} CPU{})", nodes.empty() ? "" : ", ", n.value("name", ""),
                         n.value("allocatable_cpu", 0.0),
                         n.value("ready", false) ? "" : ", provisioning");
  }
  if (!nodes.empty()) std::cout << "nodes: " << nodes << "\n";
  std::cout << fmt::format("\n{:<18} {:>7}  {:<20} {:<16} {:>7} {:>8} {:>8}  {}\n", "COMPONENT",
                           "READY", "INSTANCE", "ADDRESS", "PID", "UPTIME", "RESTARTS", "STATE");
  for (const auto& component : s["components"]) {
    bool first = true;
    for (const auto& instance : component["instances"]) {
      const int port = instance.value("port", 0);
      std::string state_text = instance.value("phase", "");
      if (!instance.value("alive", false) && state_text != "pending")
        state_text += " (not running)";
      if (!instance.value("last_termination", "").empty())
        state_text += "; last: " + instance.value("last_termination", "");
      std::cout << fmt::format(
          "{:<18} {:>7}  {:<20} {:<16} {:>7} {:>8} {:>8}  {}\n",
          first ? component.value("component", "") : "",
          first ? fmt::format("{}/{}", component.value("ready", 0), component.value("desired", 0))
                : "",
          instance.value("name", ""), port ? fmt::format("127.0.0.1:{}", port) : "-",
          instance.value("pid", -1), uptime(instance.value("uptime_seconds", 0L)),
          instance.value("restarts", 0), state_text);
      first = false;
    }
  }
  return running ? 0 : 3;
}

}  // namespace crest::cli
