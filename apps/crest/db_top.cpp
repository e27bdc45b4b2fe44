#include <cstring>
#include <iostream>

#include "crest/diagnose/db_top.hpp"
#include "subcommands.hpp"

namespace crest::cli {
// `crest db top ...`: `db` groups database tools; `top` is the only one so far.
int db(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "top") != 0) {
    std::cerr
        << "usage: crest db top [--snapshots F | --host H --port P ...] (crest db top --help)\n";
    return 2;
  }
  return crest::diagnose::db_top_command(argc - 1, argv + 1);
}
}  // namespace crest::cli
