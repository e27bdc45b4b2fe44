#pragma once
// A local redis-server on 127.0.0.1 (no persistence), started and stopped by pid. It can be
// stopped and started again on the same port, which is what the cache-down failure test needs.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "crest/core/error.hpp"
#include "crest/stack/child_process.hpp"

namespace crest::stack {

class RedisServer {
 public:
  // Picks a free loopback port; `dir` holds the log (and is Redis's working directory).
  static Result<std::unique_ptr<RedisServer>> start(const std::filesystem::path& dir,
                                                    std::uint16_t port = 0);

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer();  // stop()

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  bool running() { return process_ && process_->running(); }

  // Starts again on the same port after stop().
  Result<void> start();
  void stop();

 private:
  RedisServer(std::filesystem::path dir, std::uint16_t port) : dir_(std::move(dir)), port_(port) {}

  std::filesystem::path dir_;
  std::uint16_t port_;
  std::optional<ChildProcess> process_;
};

}  // namespace crest::stack
