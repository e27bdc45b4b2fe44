#include "crest/stack/node_server.hpp"

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

Result<void> NodeServer::launch_first(
    std::string name, const std::string& dir, const NodeServerOptions& options,
    const std::function<std::vector<std::string>(std::uint16_t port)>& script_and_args) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Error{ErrorKind::internal, fmt::format("cannot create {}: {}", dir, ec.message())};
  }
  name_ = std::move(name);
  log_path_ = (fs::path(dir) / (name_ + ".log")).string();
  port_ = options.port;
  if (port_ == 0) {
    auto port = free_loopback_port();
    if (!port.ok()) return port.error();
    port_ = port.value();
  }
  ready_timeout_ = options.ready_timeout;
  spec_.program = options.node;
  spec_.args = script_and_args(port_);
  spec_.working_dir = options.repo_root.empty() ? default_repo_root() : options.repo_root;
  spec_.log_path = log_path_;
  return launch();
}

Result<void> NodeServer::launch() {
  auto child = spawn_and_wait(spec_, port_, ready_timeout_, name_.c_str());
  if (!child.ok()) return child.error();
  process_.emplace(std::move(child.value()));
  return {};
}

std::string NodeServer::endpoint() const {
  return fmt::format("http://127.0.0.1:{}", port_);
}
pid_t NodeServer::pid() const noexcept {
  return process_ ? process_->pid() : -1;
}

void NodeServer::stop() {
  if (process_) {
    process_->stop(std::chrono::seconds(5));
    process_.reset();
  }
}
void NodeServer::pause() {
  if (process_) process_->signal(SIGSTOP);
}
void NodeServer::resume() {
  if (process_) process_->signal(SIGCONT);
}
Result<void> NodeServer::restart() {
  stop();
  return launch();
}

}  // namespace crest::stack
