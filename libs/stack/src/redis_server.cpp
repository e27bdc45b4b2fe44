#include "crest/stack/redis_server.hpp"

#include <fmt/format.h>

namespace crest::stack {

using namespace std::chrono_literals;

Result<std::unique_ptr<RedisServer>> RedisServer::start(const std::filesystem::path& dir,
                                                        std::uint16_t port) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  }
  if (port == 0) {
    auto free = free_loopback_port();
    if (!free.ok()) {
      return free.error();
    }
    port = *free;
  }
  std::unique_ptr<RedisServer> server(new RedisServer(std::filesystem::absolute(dir), port));
  if (auto started = server->start(); !started.ok()) {
    return started.error();
  }
  return server;
}

RedisServer::~RedisServer() {
  stop();
}

Result<void> RedisServer::start() {
  if (process_ && process_->running()) {
    return {};
  }
  auto child = ChildProcess::spawn(
      {"redis-server",
       {"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", dir_.string(), "--daemonize", "no", "--protected-mode", "yes"},
       {},
       dir_.string(),
       (dir_ / "redis.log").string(),
       {}});
  if (!child.ok()) {
    return child.error();
  }
  process_.emplace(std::move(*child));
  if (auto ready = wait_for_tcp(port_, 10s); !ready.ok()) {
    stop();
    return Error{ready.error().kind, fmt::format("redis-server did not start on port {}: {}", port_,
                                                 ready.error().message)};
  }
  return {};
}

void RedisServer::stop() {
  if (process_) {
    process_->stop(5s);
    process_.reset();
  }
}

}  // namespace crest::stack
