#include "crest/diagnose/command.hpp"
#include "subcommands.hpp"

namespace crest::cli {
int diagnose(int argc, char** argv) {
  return crest::diagnose::diagnose_command(argc, argv);
}
}  // namespace crest::cli
