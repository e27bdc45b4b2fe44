#pragma once
// dynalite (the DynamoDB-compatible server from npm) as a child process on 127.0.0.1, for the local
// stack and for tests: started on a free port, ready when it accepts connections, stopped by pid.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "crest/core/error.hpp"
#include "crest/stack/child_process.hpp"

namespace crest::stack {

// Shared by the Node-based servers (dynalite, fauxqs).
struct NodeServerOptions {
  // The repository root holding node_modules/ (and scripts/). Empty: $CREST_SOURCE_DIR, else the
  // source tree this library was compiled from.
  std::string repo_root;
  std::string node = "node";  // the program, looked up on PATH
  std::uint16_t port = 0;     // 0: a free loopback port
  std::chrono::milliseconds ready_timeout{15'000};
};

// The repository root as NodeServerOptions describes it.
std::string default_repo_root();
// <root>/node_modules/<package>/<file>, or an error telling how to install it (`npm ci`).
Result<std::string> node_package_file(const std::string& repo_root, const std::string& package,
                                      const std::string& file);

struct DynaliteOptions : NodeServerOptions {
  bool persist = false;  // --path <dir>/dynalite-data, so data survives restart()
};

class DynaliteServer {
 public:
  // `dir` is the run directory: dynalite.log goes there (and the data, with persist).
  static Result<DynaliteServer> start(const std::string& dir, DynaliteOptions options = {});

  DynaliteServer(DynaliteServer&&) noexcept = default;
  DynaliteServer& operator=(DynaliteServer&&) noexcept = default;
  ~DynaliteServer() = default;  // the ChildProcess stops it

  std::uint16_t port() const noexcept { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  pid_t pid() const noexcept;
  const std::string& log_path() const noexcept { return log_path_; }

  void stop();
  void pause();   // SIGSTOP: connections hang, as with an unresponsive server
  void resume();  // SIGCONT
  // Stops and starts it again on the same port (in-memory data is lost unless persist).
  Result<void> restart();

 private:
  DynaliteServer() = default;
  Result<void> launch();

  DynaliteOptions options_;
  std::string dir_;
  std::string log_path_;
  std::string cli_;
  std::uint16_t port_ = 0;
  std::optional<ChildProcess> process_;
};

}  // namespace crest::stack
