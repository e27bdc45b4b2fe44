#include "crest/load/run_command.hpp"
#include "subcommands.hpp"

namespace crest::cli {
int run(int argc, char** argv) {
  return crest::load::run_command(argc, argv);
}
}  // namespace crest::cli
