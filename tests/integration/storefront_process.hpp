#pragma once
// Runs the storefront binary as a child process on a free loopback port (crest::stack's
// ChildProcess), and stops it by pid.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "crest/stack/child_process.hpp"

namespace crest::testing {

class StorefrontProcess {
 public:
  explicit StorefrontProcess(std::vector<std::string> args) {
    static int counter = 0;
    dir_ = std::filesystem::temp_directory_path() /
           ("crest-it-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    std::filesystem::create_directories(dir_);
    const auto port_file = (dir_ / "port").string();
    stack::ProcessSpec spec;
    spec.program = CREST_STOREFRONT_BINARY;
    spec.args = std::move(args);
    spec.args.insert(spec.args.end(), {"--port", "0", "--port-file", port_file});
    spec.log_path = (dir_ / "storefront.log").string();
    log_path_ = spec.log_path;
    auto process = stack::ChildProcess::spawn(spec);
    if (!process.ok()) throw std::runtime_error(process.error().message);
    process_.emplace(std::move(process).value());
    auto port = stack::wait_for_port_file(port_file, *process_, std::chrono::seconds(30));
    if (!port.ok()) throw std::runtime_error(port.error().message + "; log: " + log());
    port_ = *port;
  }

  ~StorefrontProcess() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  StorefrontProcess(const StorefrontProcess&) = delete;
  StorefrontProcess& operator=(const StorefrontProcess&) = delete;

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return process_->pid(); }

  // Sends `signal`, waits up to `timeout`, then SIGKILL. The exit status, 128 + signal if one
  // ended it.
  int stop(int signal = SIGTERM, std::chrono::seconds timeout = std::chrono::seconds(15)) {
    return process_->stop(timeout, signal);
  }

  std::string log() const {
    std::ifstream in(log_path_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::filesystem::path dir_;
  std::string log_path_;
  std::optional<stack::ChildProcess> process_;
  std::uint16_t port_ = 0;
};

}  // namespace crest::testing
