#include "crest/stack/fauxqs_server.hpp"

#include <signal.h>

#include <filesystem>

#include <fmt/format.h>

namespace crest::stack {
namespace fs = std::filesystem;

Result<FauxqsServer> FauxqsServer::start(const std::string& dir, FauxqsOptions options) {
  FauxqsServer server;
  if (options.repo_root.empty()) options.repo_root = default_repo_root();
  auto package = node_package_file(options.repo_root, "fauxqs", "package.json");
  if (!package.ok()) return package.error();
  server.script_ = (fs::path(options.repo_root) / "scripts" / "fauxqs-server.mjs").string();
  std::error_code ec;
  if (!fs::exists(server.script_, ec)) {
    return Error{ErrorKind::not_found, fmt::format("{} is missing", server.script_)};
  }
  fs::create_directories(dir, ec);
  if (ec) {
    return Error{ErrorKind::internal, fmt::format("cannot create {}: {}", dir, ec.message())};
  }
  server.dir_ = dir;
  server.log_path_ = (fs::path(dir) / "fauxqs.log").string();
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

Result<void> FauxqsServer::launch() {
  ProcessSpec spec;
  spec.program = options_.node;
  spec.args = {script_, std::to_string(port_), options_.region};
  spec.working_dir = options_.repo_root;
  spec.log_path = log_path_;
  auto child = spawn_and_wait(spec, port_, options_.ready_timeout, "fauxqs");
  if (!child.ok()) return child.error();
  process_.emplace(std::move(child.value()));
  return {};
}

std::string FauxqsServer::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}
pid_t FauxqsServer::pid() const noexcept {
  return process_ ? process_->pid() : -1;
}

void FauxqsServer::stop() {
  if (process_) {
    process_->stop(std::chrono::seconds(5));
    process_.reset();
  }
}
void FauxqsServer::pause() {
  if (process_) process_->signal(SIGSTOP);
}
void FauxqsServer::resume() {
  if (process_) process_->signal(SIGCONT);
}
Result<void> FauxqsServer::restart() {
  stop();
  return launch();
}

}  // namespace crest::stack
