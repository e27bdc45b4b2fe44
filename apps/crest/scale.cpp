// crest scale: changes a service's bounds or count at run time (the supervisor reads
// <run dir>/scale.json on its next pass), or switches its autoscaling off and on.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "crest/stack/local_platform.hpp"
#include "crest/stack/stack_profile.hpp"
#include "stack_common.hpp"
#include "subcommands.hpp"

namespace crest::cli {
namespace fs = std::filesystem;

int scale(int argc, char** argv) {
  CLI::App app{
      "Change a service's instance bounds at run time: crest scale catalog --min 2 --max 6, "
      "--replicas 3, --off, --on."};
  std::string dir = kDefaultRunDir;
  std::string service;
  std::optional<int> min, max, replicas;
  bool off = false, on = false;
  app.add_option("service", service, "users, catalog, cart, orders or worker")->required();
  app.add_option("--dir", dir, "run directory")->capture_default_str();
  app.add_option("--min", min, "fewest instances")->check(CLI::Range(0, 64));
  app.add_option("--max", max, "most instances")->check(CLI::Range(0, 64));
  app.add_option("--replicas", replicas, "a fixed count (switches its autoscaling off)")
      ->check(CLI::Range(0, 64));
  app.add_flag("--off", off, "switch its autoscaling off (the count stays)");
  app.add_flag("--on", on, "switch its autoscaling back on and forget --replicas");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  const auto& services = stack::storefront_services();
  if (std::find(services.begin(), services.end(), service) == services.end()) {
    std::cerr << "crest scale: no service '" << service
              << "' (users, catalog, cart, orders, worker)\n";
    return 2;
  }
  auto state = stack::read_state(dir);
  if (!state.ok() ||
      !stack::same_process_alive(state->value("supervisor_pid", 0),
                                 state->value("supervisor_start_ticks", std::uint64_t{0}))) {
    std::cerr << "crest scale: no stack running in " << dir << "\n";
    return 1;
  }
  const fs::path file = fs::path(dir) / "scale.json";
  nlohmann::json overrides = nlohmann::json::object();
  if (std::ifstream in(file); in) {
    try {
      overrides = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception&) {
      overrides = nlohmann::json::object();
    }
  }
  auto& o = overrides[service];
  if (o.is_null()) o = nlohmann::json::object();
  if (min) o["min"] = *min;
  if (max) o["max"] = *max;
  if (replicas) o["replicas"] = *replicas;
  if (off) o["off"] = true;
  if (on) {
    o.erase("off");
    o.erase("replicas");
  }
  if (o.contains("min") && o.contains("max") && o["min"].get<int>() > o["max"].get<int>()) {
    std::cerr << fmt::format("crest scale: --min {} is above --max {}\n", o["min"].get<int>(),
                             o["max"].get<int>());
    return 2;
  }
  {
    std::ofstream out(file.string() + ".tmp", std::ios::trunc);
    out << overrides.dump(1);
  }
  fs::rename(file.string() + ".tmp", file);
  std::cout << fmt::format("{}: {}\n", service, o.dump());
  return 0;
}

}  // namespace crest::cli
