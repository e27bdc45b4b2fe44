#pragma once
// fauxqs (the SQS-compatible server from npm) as a child process on 127.0.0.1. Its own CLI binds
// 0.0.0.0, so it is started through scripts/fauxqs-server.mjs, which listens on 127.0.0.1 only.
// State is in memory: restart() gives an empty server on the same port.
#include <sys/types.h>

#include <optional>
#include <string>

#include "crest/stack/dynalite_server.hpp"

namespace crest::stack {

struct FauxqsOptions : NodeServerOptions {
  std::string region = "us-east-1";
};

class FauxqsServer {
 public:
  // `dir` is the run directory: fauxqs.log goes there.
  static Result<FauxqsServer> start(const std::string& dir, FauxqsOptions options = {});

  FauxqsServer(FauxqsServer&&) noexcept = default;
  FauxqsServer& operator=(FauxqsServer&&) noexcept = default;
  ~FauxqsServer() = default;

  std::uint16_t port() const noexcept { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  pid_t pid() const noexcept;
  const std::string& log_path() const noexcept { return log_path_; }

  void stop();
  void pause();
  void resume();
  Result<void> restart();

 private:
  FauxqsServer() = default;
  Result<void> launch();

  FauxqsOptions options_;
  std::string dir_;
  std::string log_path_;
  std::string script_;
  std::uint16_t port_ = 0;
  std::optional<ChildProcess> process_;
};

}  // namespace crest::stack
