#include "crest/stack/fauxqs_server.hpp"

#include <filesystem>

#include <fmt/format.h>

namespace crest::stack {

Result<FauxqsServer> FauxqsServer::start(const std::string& dir, FauxqsOptions options) {
  if (options.repo_root.empty()) options.repo_root = default_repo_root();
  auto package = node_package_file(options.repo_root, "fauxqs", "package.json");
  if (!package.ok()) return package.error();
  const std::string script =
      (std::filesystem::path(options.repo_root) / "scripts" / "fauxqs-server.mjs").string();
  std::error_code ec;
  if (!std::filesystem::exists(script, ec)) {
    return Error{ErrorKind::not_found, fmt::format("{} is missing", script)};
  }
  FauxqsServer server;
  auto launched = server.launch_first("fauxqs", dir, options, [&](std::uint16_t port) {
    return std::vector<std::string>{script, std::to_string(port), options.region};
  });
  if (!launched.ok()) return launched.error();
  return server;
}

}  // namespace crest::stack
