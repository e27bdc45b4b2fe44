#include "crest/chaos/scenario.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <ostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "crest/core/config.hpp"
#include "crest/stack/local_platform.hpp"

extern char** environ;

namespace crest::chaos {
namespace fs = std::filesystem;
using Millis = std::chrono::milliseconds;

namespace {

std::string where(const std::string& source, const YAML::Node& node, const std::string& key) {
  return fmt::format("{}:{}: {}", source, node.Mark().line + 1, key);
}

Result<Millis> duration_of(const std::string& source, const YAML::Node& node,
                           const std::string& key) {
  try {
    const auto d = Config::parse_duration(node.as<std::string>());
    if (d.count() < 0) throw std::invalid_argument("negative");
    return d;
  } catch (const std::exception&) {
    return Error{ErrorKind::invalid_argument,
                 where(source, node, key) + ": expected a duration such as 30s or 2m"};
  }
}

}  // namespace

Result<Scenario> parse_scenario(const std::string& yaml_text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("{}:{}: {}", source, e.mark.line + 1, e.msg)};
  }
  if (!root.IsMap())
    return Error{ErrorKind::invalid_argument, source + ": expected a mapping (plan, faults)"};
  Scenario s;
  s.source = source;
  for (const auto& item : root) {
    const std::string key = item.first.as<std::string>();
    if (key == "plan") {
      fs::path plan = item.second.as<std::string>();
      if (plan.is_relative()) plan = fs::path(source).parent_path() / plan;
      s.plan = plan;
    } else if (key == "duration") {
      auto d = duration_of(source, item.second, key);
      if (!d.ok()) return d.error();
      s.duration = item.second.as<std::string>();
    } else if (key == "faults") {
      if (!item.second.IsSequence())
        return Error{ErrorKind::invalid_argument,
                     where(source, item.second, key) + ": expected a list"};
    } else {
      return Error{ErrorKind::invalid_argument,
                   where(source, item.first, key) + ": unknown key (plan, duration, faults)"};
    }
  }
  for (const auto& entry : root["faults"]) {
    if (!entry.IsMap())
      return Error{ErrorKind::invalid_argument,
                   where(source, entry, "faults") + ": each fault is a mapping"};
    TimedFault t;
    t.line = entry.Mark().line + 1;
    bool has_at = false;
    for (const auto& field : entry) {
      const std::string key = field.first.as<std::string>();
      const YAML::Node& value = field.second;
      if (key == "at") {
        auto d = duration_of(source, value, key);
        if (!d.ok()) return d.error();
        t.at = *d;
        has_at = true;
      } else if (key == "for") {
        auto d = duration_of(source, value, key);
        if (!d.ok()) return d.error();
        t.spec.duration = std::chrono::duration_cast<std::chrono::seconds>(*d);
      } else if (key == "fault") {
        t.spec.fault = value.as<std::string>();
      } else if (key == "target") {
        t.spec.target = value.as<std::string>();
      } else if (key == "parameters") {
        if (!value.IsMap())
          return Error{ErrorKind::invalid_argument,
                       where(source, value, key) + ": expected a mapping of key: value"};
        for (const auto& p : value)
          t.spec.parameters[p.first.as<std::string>()] = p.second.as<std::string>();
      } else {
        return Error{
            ErrorKind::invalid_argument,
            where(source, field.first, key) + ": unknown key (at, fault, target, for, parameters)"};
      }
    }
    if (t.spec.fault.empty() || !has_at)
      return Error{ErrorKind::invalid_argument,
                   fmt::format("{}:{}: a fault needs `at` and `fault`", source, t.line)};
    const auto& known = fault_kinds();
    if (std::none_of(known.begin(), known.end(),
                     [&](const FaultKind& k) { return k.name == t.spec.fault; }))
      return Error{ErrorKind::invalid_argument,
                   fmt::format("{}:{}: unknown fault '{}' (crest chaos list)", source, t.line,
                               t.spec.fault)};
    if (!s.plan && t.spec.duration.count() == 0)
      return Error{ErrorKind::invalid_argument,
                   fmt::format("{}:{}: without a plan every fault needs `for`", source, t.line)};
    s.faults.push_back(std::move(t));
  }
  std::stable_sort(s.faults.begin(), s.faults.end(),
                   [](const TimedFault& a, const TimedFault& b) { return a.at < b.at; });
  return s;
}

Result<Scenario> load_scenario(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return Error{ErrorKind::not_found, "cannot read scenario " + file.string()};
  std::stringstream text;
  text << in.rdbuf();
  return parse_scenario(text.str(), file.string());
}

std::vector<ScenarioStep> scenario_timeline(const Scenario& scenario) {
  std::vector<ScenarioStep> steps;
  for (std::size_t i = 0; i < scenario.faults.size(); ++i) {
    const auto& f = scenario.faults[i];
    steps.push_back({i, true, f.at});
    if (f.spec.duration.count() > 0)
      steps.push_back({i, false, f.at + std::chrono::duration_cast<Millis>(f.spec.duration)});
  }
  // Ends before starts at the same instant, so a fault can follow another on the same target.
  std::stable_sort(steps.begin(), steps.end(), [](const ScenarioStep& a, const ScenarioStep& b) {
    return a.at != b.at ? a.at < b.at : (!a.start && b.start);
  });
  return steps;
}

int run_scenario_command(const fs::path& file, const fs::path& run_dir,
                         const std::atomic<bool>& interrupted, std::ostream& out,
                         std::ostream& err) {
  auto scenario = load_scenario(file);
  if (!scenario.ok()) {
    err << "crest chaos scenario: " << scenario.error().message << "\n";
    return 2;
  }
  auto state = stack::read_state(run_dir);
  if (!state.ok()) {
    err << "crest chaos scenario: " << state.error().message << "\n";
    return 1;
  }
  pid_t load = -1;
  if (scenario->plan) {
    const std::string self = fs::read_symlink("/proc/self/exe").string();
    std::vector<std::string> argv = {self, "run", scenario->plan->string(), "--target",
                                     state->value("shop_url", "")};
    if (!scenario->duration.empty()) argv.insert(argv.end(), {"--duration", scenario->duration});
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (::posix_spawn(&load, self.c_str(), nullptr, nullptr, args.data(), environ) != 0) {
      err << "crest chaos scenario: cannot start crest run\n";
      return 1;
    }
    out << fmt::format("load: crest run {} (pid {})\n", scenario->plan->string(), load);
  }
  const auto began = std::chrono::steady_clock::now();
  std::map<std::size_t, std::string> active;  // fault index -> id
  int status = 0, failures = 0;
  bool load_done = load < 0;
  auto load_finished = [&] {
    if (load_done) return true;
    if (::waitpid(load, &status, WNOHANG) == load) load_done = true;
    return load_done;
  };
  for (const auto& step : scenario_timeline(*scenario)) {
    while (std::chrono::steady_clock::now() - began < step.at) {
      if (interrupted || (load >= 0 && load_finished())) break;
      std::this_thread::sleep_for(Millis(50));
    }
    if (interrupted || (load >= 0 && load_done)) break;
    const auto& fault = scenario->faults[step.fault_index];
    const double t =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    if (step.start) {
      auto started = start_fault(run_dir, fault.spec);
      if (!started.ok()) {
        ++failures;
        err << fmt::format("{:7.1f}s  {}:{}: {}\n", t, file.string(), fault.line,
                           started.error().message);
        continue;
      }
      active[step.fault_index] = started->id;
      out << fmt::format("{:7.1f}s  start {} on {} ({})\n", t, started->fault, started->target,
                         started->id)
          << std::flush;
    } else if (auto it = active.find(step.fault_index); it != active.end()) {
      if (auto r = stop_fault(run_dir, it->second, "expired"); !r.ok()) {
        ++failures;
        err << fmt::format("{:7.1f}s  {}\n", t, r.error().message);
      } else {
        out << fmt::format("{:7.1f}s  end {} ({})\n", t, fault.spec.fault, it->second)
            << std::flush;
      }
      active.erase(it);
    }
  }
  while (!interrupted && !load_finished()) std::this_thread::sleep_for(Millis(100));
  for (const auto& [index, id] : active) {
    if (auto r = stop_fault(run_dir, id, interrupted ? "stopped" : "expired"); !r.ok()) {
      ++failures;
      err << r.error().message << "\n";
    } else {
      out << fmt::format("end {} ({})\n", scenario->faults[index].spec.fault, id);
    }
  }
  if (interrupted && !load_done) {
    ::kill(load, SIGINT);
    ::waitpid(load, &status, 0);
  }
  if (failures > 0) return 1;
  if (load >= 0) return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  return interrupted ? 130 : 0;
}

}  // namespace crest::chaos
