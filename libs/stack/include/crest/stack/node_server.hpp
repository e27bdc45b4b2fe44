#pragma once
// A Node-based server from npm (dynalite, fauxqs) as a child process on 127.0.0.1, for the local
// stack and for tests: started on a free port, ready when it accepts connections, stopped by pid.
// DynaliteServer and FauxqsServer are this with their own command line.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/stack/child_process.hpp"

namespace crest::stack {

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

class NodeServer {
 public:
  NodeServer(NodeServer&&) noexcept = default;
  NodeServer& operator=(NodeServer&&) noexcept = default;
  ~NodeServer() = default;  // the ChildProcess stops it

  std::uint16_t port() const noexcept { return port_; }
  std::string endpoint() const;  // "http://127.0.0.1:<port>"
  pid_t pid() const noexcept;
  const std::string& log_path() const noexcept { return log_path_; }

  void stop();
  void pause();   // SIGSTOP: connections hang, as with an unresponsive server
  void resume();  // SIGCONT
  // Stops and starts it again on the same port and command line.
  Result<void> restart();

 protected:
  NodeServer() = default;
  // Creates `dir` (the run directory; <name>.log goes there), picks the port, then runs
  // `node <script_and_args(port)>` from the repository root and waits until the port answers.
  Result<void> launch_first(
      std::string name, const std::string& dir, const NodeServerOptions& options,
      const std::function<std::vector<std::string>(std::uint16_t port)>& script_and_args);

 private:
  Result<void> launch();

  std::string name_;
  std::string log_path_;
  std::uint16_t port_ = 0;
  std::chrono::milliseconds ready_timeout_{15'000};
  ProcessSpec spec_;
  std::optional<ChildProcess> process_;
};

}  // namespace crest::stack
