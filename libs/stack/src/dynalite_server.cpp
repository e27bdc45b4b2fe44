#include "crest/stack/dynalite_server.hpp"

#include <signal.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

namespace crest::stack {
namespace fs = std::filesystem;

std::string default_repo_root() {
  if (const char* env = std::getenv("CREST_SOURCE_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return CREST_SOURCE_ROOT;  // the source tree this library was built from
}

Result<std::string> node_package_file(const std::string& repo_root, const std::string& package,
                                      const std::string& file) {
  const fs::path path = fs::path(repo_root) / "node_modules" / package / file;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return Error{
        ErrorKind::not_found,
        fmt::format("npm package '{}' is not installed ({} is missing): run `npm ci` in {}",
                    package, path.string(), repo_root)};
  }
  return path.string();
}

Result<DynaliteServer> DynaliteServer::start(const std::string& dir, DynaliteOptions options) {
  DynaliteServer server;
  if (options.repo_root.empty()) options.repo_root = default_repo_root();
  auto cli = node_package_file(options.repo_root, "dynalite", "cli.js");
  if (!cli.ok()) return cli.error();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Error{ErrorKind::internal, fmt::format("cannot create {}: {}", dir, ec.message())};
  }
  server.cli_ = cli.value();
  server.dir_ = dir;
  server.log_path_ = (fs::path(dir) / "dynalite.log").string();
  server.port_ = options.port;
  if (server.port_ == 0) {
    auto port = free_loopback_port();
    if (!port.ok()) return port.error();
    server.port_ = port.value();
  }
  server.options_ = std::move(options);
  if (auto launched = server.launch(); !launched.ok()) return launched.error();
  return server;
}

Result<void> DynaliteServer::launch() {
  ProcessSpec spec;
  spec.program = options_.node;
  spec.args = {cli_,
               "--host",
               "127.0.0.1",
               "--port",
               std::to_string(port_),
               "--createTableMs",
               "0",
               "--deleteTableMs",
               "0",
               "--updateTableMs",
               "0"};
  if (options_.persist) {
    spec.args.push_back("--path");
    spec.args.push_back((fs::path(dir_) / "dynalite-data").string());
  }
  spec.working_dir = options_.repo_root;
  spec.log_path = log_path_;
  auto child = spawn_and_wait(spec, port_, options_.ready_timeout, "dynalite");
  if (!child.ok()) return child.error();
  process_.emplace(std::move(child.value()));
  return {};
}

std::string DynaliteServer::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}
pid_t DynaliteServer::pid() const noexcept {
  return process_ ? process_->pid() : -1;
}

void DynaliteServer::stop() {
  if (process_) {
    process_->stop(std::chrono::seconds(5));
    process_.reset();
  }
}
void DynaliteServer::pause() {
  if (process_) process_->signal(SIGSTOP);
}
void DynaliteServer::resume() {
  if (process_) process_->signal(SIGCONT);
}
Result<void> DynaliteServer::restart() {
  stop();
  return launch();
}

}  // namespace crest::stack
