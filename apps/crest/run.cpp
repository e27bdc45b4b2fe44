#include "crest/load/outputs.hpp"
#include "subcommands.hpp"

namespace crest::cli {
int run(int argc, char** argv) { return crest::load::run_command(argc, argv); }
}  // namespace crest::cli
