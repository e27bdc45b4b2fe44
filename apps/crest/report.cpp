// crest report: one page (HTML), a Markdown summary and JSON from one or more runs' outputs.
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>

#include "crest/report/inputs.hpp"
#include "subcommands.hpp"

namespace crest::cli {
namespace {

// "NAME=FILE" into its parts; an empty name is an error.
bool split_named(const std::string& arg, std::string& name, std::string& file) {
  const auto eq = arg.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == arg.size()) {
    return false;
  }
  name = arg.substr(0, eq);
  file = arg.substr(eq + 1);
  return true;
}

}  // namespace

int report(int argc, char** argv) {
  CLI::App app{
      "Build the peak-readiness report from runs' outputs. Each input is PHASE=FILE; a phase is\n"
      "one load run (--load), and the other inputs attach to the phase they name.\n"
      "Example: crest report --load baseline=b.json --load scaled=s.json \\\n"
      "           --prometheus scaled=prom.json --events scaled=autoscaler.jsonl --out report/",
      "crest report"};
  std::vector<std::string> loads, proms, events, faults, diagnoses;
  std::string out_dir = "report";
  std::string title = "Crest peak-readiness report";
  report::Slo slo;
  app.add_option("--load", loads, "PHASE=FILE: a `crest run --out json=` file (one per phase)")
      ->required();
  app.add_option("--prometheus", proms,
                 "PHASE=FILE: a Prometheus query_range answer or a capture of named queries");
  app.add_option("--events", events, "PHASE=FILE: the autoscaler's JSON-lines event log");
  app.add_option("--faults", faults, "PHASE=FILE: the chaos JSON-lines event log (fault windows)");
  app.add_option("--diagnosis", diagnoses, "PHASE=FILE: `crest diagnose --json` output");
  app.add_option("--out", out_dir, "directory for report.html, report.md, report.json")
      ->capture_default_str();
  app.add_option("--title", title, "page title")->capture_default_str();
  app.add_option("--slo-p99-ms", slo.p99_ms, "SLO: p99 latency below this")->capture_default_str();
  app.add_option("--slo-error-rate", slo.error_rate, "SLO: error ratio below this")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  std::vector<report::PhaseInputs> phases;
  std::map<std::string, std::size_t> index;
  std::string name, file;
  for (const auto& arg : loads) {
    if (!split_named(arg, name, file)) {
      std::cerr << "crest report: --load '" << arg << "' is not PHASE=FILE\n";
      return 2;
    }
    if (index.contains(name)) {
      std::cerr << "crest report: phase '" << name << "' is given twice\n";
      return 2;
    }
    index[name] = phases.size();
    phases.push_back({name, file, {}, "", "", ""});
  }
  const std::pair<const char*, std::vector<std::string>*> attached[] = {
      {"--prometheus", &proms},
      {"--events", &events},
      {"--faults", &faults},
      {"--diagnosis", &diagnoses}};
  for (const auto& [flag, args] : attached) {
    for (const auto& arg : *args) {
      if (!split_named(arg, name, file)) {
        std::cerr << "crest report: " << flag << " '" << arg << "' is not PHASE=FILE\n";
        return 2;
      }
      auto it = index.find(name);
      if (it == index.end()) {
        std::cerr << "crest report: " << flag << " names phase '" << name
                  << "', which has no --load\n";
        return 2;
      }
      auto& phase = phases[it->second];
      std::string_view f = flag;
      if (f == "--prometheus") {
        phase.prometheus.push_back(file);
      } else {
        std::string& slot = f == "--events"   ? phase.autoscaler_events
                            : f == "--faults" ? phase.fault_events
                                              : phase.diagnosis;
        if (!slot.empty()) {
          std::cerr << "crest report: " << flag << " given twice for phase '" << name << "'\n";
          return 2;
        }
        slot = file;
      }
    }
  }

  auto built = report::build_report(phases, slo, title);
  if (!built) {
    std::cerr << "crest report: " << built.error().message << "\n";
    return 1;
  }
  auto written = report::write_report(*built, out_dir);
  if (!written) {
    std::cerr << "crest report: " << written.error().message << "\n";
    return 1;
  }
  for (const auto& path : *written) {
    std::cout << path << "\n";
  }
  return 0;
}

}  // namespace crest::cli
