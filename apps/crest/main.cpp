#include <cstring>
#include <iostream>

#include "subcommands.hpp"

namespace {
struct Subcommand {
  const char* name;
  int (*fn)(int, char**);
  const char* help;
};
constexpr Subcommand kSubcommands[] = {
    {"run", crest::cli::run,
     "run a load plan: crest run plan.yaml|plan.jmx [--vus N] [--duration 30s] [--out json=F]"},
    {"worker", crest::cli::worker,
     "run shards of a distributed run: crest worker --coordinator HOST:PORT [--token T]"},
    {"up", crest::cli::up,
     "start the local platform: crest up [--profile baseline|scaled] [--dir D] [--set k=v]"},
    {"status", crest::cli::status, "what runs: crest status [--dir D] [--json]"},
    {"scale", crest::cli::scale,
     "change a service's instances: crest scale SERVICE [--min N] [--max N] [--replicas N] "
     "[--off|--on]"},
    {"chaos", crest::cli::chaos,
     "break it on purpose, reversibly: crest chaos list|run FAULT [--target T] [--for 30s]|stop "
     "--all|scenario FILE"},
    {"down", crest::cli::down, "stop it: crest down [--dir D] [--purge]"},
    {"diagnose", crest::cli::diagnose, "name why it degraded, with evidence (docs/diagnose.md)"},
    {"db", crest::cli::db, "crest db top: database load by SQL digest (--watch, --snapshots F)"},
    {"report", crest::cli::report,
     "build the report: crest report --load baseline=b.json --load scaled=s.json --out DIR"},
    {"convert", crest::cli::convert,
     "translate a JMeter plan: crest convert plan.jmx [--strict] > plan.yaml"},
    {"profile", crest::cli::profile,
     "traffic profile and plan from access logs: crest profile access.log [--plan F]"},
    {"demo", crest::cli::demo,
     "the whole story: baseline vs scaled, breaking points, faults, report: crest demo "
     "[--quick|--full|--test]"},
};

int usage(std::ostream& out) {
  out << "usage: crest <command> [args]\n\ncommands:\n";
  for (const auto& s : kSubcommands) {
    out << "  " << s.name << "  " << s.help << "\n";
  }
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    return usage(std::cerr);
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::cout << "crest " << CREST_VERSION << "\n";
    return 0;
  }
  if (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage(std::cout);
    return 0;
  }
  for (const auto& s : kSubcommands) {
    if (std::strcmp(argv[1], s.name) == 0) {
      return s.fn(argc - 1, argv + 1);
    }
  }
  std::cerr << "crest: unknown command '" << argv[1] << "'\n";
  return usage(std::cerr);
}
