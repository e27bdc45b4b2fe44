#include "crest/stack/dynalite_server.hpp"

#include <filesystem>

namespace crest::stack {

Result<DynaliteServer> DynaliteServer::start(const std::string& dir, DynaliteOptions options) {
  if (options.repo_root.empty()) options.repo_root = default_repo_root();
  auto cli = node_package_file(options.repo_root, "dynalite", "cli.js");
  if (!cli.ok()) return cli.error();
  DynaliteServer server;
  auto launched = server.launch_first("dynalite", dir, options, [&](std::uint16_t port) {
    std::vector<std::string> args{cli.value(),
                                  "--host",
                                  "127.0.0.1",
                                  "--port",
                                  std::to_string(port),
                                  "--createTableMs",
                                  "0",
                                  "--deleteTableMs",
                                  "0",
                                  "--updateTableMs",
                                  "0"};
    if (options.persist) {
      args.push_back("--path");
      args.push_back((std::filesystem::path(dir) / "dynalite-data").string());
    }
    return args;
  });
  if (!launched.ok()) return launched.error();
  return server;
}

}  // namespace crest::stack
