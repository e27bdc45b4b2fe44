#pragma once
// Child processes that we start, watch and stop by pid: the real servers of the local stack and
// of integration tests (MariaDB, Redis, HAProxy, Prometheus, dynalite, the SQS server) and the
// storefront's own processes. Nothing here ever looks a process up by name.
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crest/core/error.hpp"

namespace crest::stack {

struct ProcessSpec {
  std::string program;  // a path, or a name looked up with find_program()
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to (or overriding) our environment
  std::string working_dir;                 // empty: ours
  std::string log_path;                    // stdout and stderr go here; empty: /dev/null
  // cgroup.procs files the child joins before exec (so it starts inside its limits).
  std::vector<std::string> cgroup_procs = {};
};

class ChildProcess {
 public:
  // Starts the program. The child is killed if this process dies (PR_SET_PDEATHSIG), so a crashed
  // test never leaves servers behind; spawn from a thread that lives as long as the child.
  static Result<ChildProcess> spawn(const ProcessSpec& spec);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // stop() with the default grace

  pid_t pid() const noexcept { return pid_; }
  const std::string& name() const noexcept { return name_; }
  bool running();
  // Sends a signal and returns at once (SIGKILL, SIGSTOP and SIGCONT for failure tests).
  void signal(int signal) const;
  // SIGTERM (or `signal`), then SIGKILL once `grace` has passed. Returns the exit status, or
  // 128 + signal number if a signal ended it. Idempotent.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10), int signal = 15);
  // Waits up to `timeout` for the child to exit by itself; its status, or nullopt if still running.
  std::optional<int> wait_for_exit(std::chrono::milliseconds timeout);

 private:
  ChildProcess(pid_t pid, std::string name) : pid_(pid), name_(std::move(name)) {}
  bool reap(bool block);

  pid_t pid_ = -1;
  std::string name_;
  std::optional<int> status_;
};

// The absolute path of a program found on PATH or in /usr/sbin and /usr/bin (Debian puts
// daemons such as mariadbd and haproxy in sbin, which is not always on PATH).
Result<std::string> find_program(const std::string& name);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it, close). Servers
// started on it should still be checked with wait_for_tcp, since another process may take it.
Result<std::uint16_t> free_loopback_port();

// For servers started with `--port 0 --port-file FILE`: waits until FILE holds the port they
// bound. An error if the process exits first or `timeout` passes.
Result<std::uint16_t> wait_for_port_file(const std::string& path, ChildProcess& process,
                                         std::chrono::milliseconds timeout);

// Polls until 127.0.0.1:port accepts a connection or `timeout` passes.
Result<void> wait_for_tcp(std::uint16_t port, std::chrono::milliseconds timeout);

// Starts `spec` and waits until it accepts connections on `port`. An error quoting the end of
// its log if it exits first or `timeout` passes (`what` names it in the message).
Result<ChildProcess> spawn_and_wait(const ProcessSpec& spec, std::uint16_t port,
                                    std::chrono::milliseconds timeout, const char* what);

}  // namespace crest::stack
