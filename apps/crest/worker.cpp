#include "crest/load/worker.hpp"
#include "subcommands.hpp"

namespace crest::cli {
int worker(int argc, char** argv) {
  return load::worker_command(argc, argv);
}
}  // namespace crest::cli
