// Private to libs/stack: the parts of LocalPlatform shared by its source files
// (local_platform.cpp: lifecycle; platform_scaling.cpp: instances, nodes and scaling;
// platform_startup.cpp: start-up steps; platform_monitoring.cpp: Prometheus, metrics and state;
// run_dir.cpp: the run directory).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crest/stack/local_platform.hpp"

namespace crest::stack {
namespace detail {

using Clock = std::chrono::steady_clock;

inline constexpr const char* kNamespace = "crest";

// Service -> the path prefixes HAProxy routes to it (docs/architecture.md's route table).
extern const std::map<std::string, std::vector<std::string>> kRoutes;
// Debian packages of the servers, for "not found" errors.
extern const std::map<std::string, std::string> kPackages;

std::string read_file(const std::filesystem::path& path);
// The last `lines` lines of a file.
std::string tail(const std::filesystem::path& path, std::size_t lines = 8);
void write_atomically(const std::filesystem::path& path, const std::string& text);
// GET path on 127.0.0.1:port; the status code, or 0 if there was no answer within `timeout`.
int http_status(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout);
ProcessSpec command(std::string program, std::vector<std::string> args,
                    std::string working_dir = "", std::map<std::string, std::string> env = {});
std::string iso_time(std::chrono::system_clock::time_point t);
std::string describe_status(int status);
// "NAME exited 1 during start-up; its log L:" and the log's tail.
Error died_during_startup(const std::string& name, int status, const std::string& log_path);
double seconds_since(Clock::time_point t);

}  // namespace detail

struct LocalPlatform::Node {
  std::string name;
  double allocatable = 0;
  bool ready = false;
  bool removed = false;
  detail::Clock::time_point ready_at;
  detail::Clock::time_point requested_at;
  detail::Clock::time_point idle_since = detail::Clock::now();
};

struct LocalPlatform::Process {
  std::string component;  // the service ("catalog") or server ("redis", "mariadb")
  std::string name;       // the pod name ("catalog-2", "mariadb-primary")
  ProcessSpec spec;
  std::optional<ChildProcess> child;
  int mariadb_server = -1;  // run by MariaDbCluster
  std::uint16_t port = 0;
  std::string port_file;   // storefront instances learn their port from it
  std::string ready_path;  // HTTP readiness probe; empty: TCP accept
  bool storefront = false;
  bool routed = false;  // behind HAProxy
  int slot = 0;         // HAProxy slot srv<slot> of its backend; 0: none
  bool serving = false;
  std::string group;
  CgroupLimits limits;
  double cpu_request = 0;
  Node* node = nullptr;
  InstancePhase phase = InstancePhase::pending;
  int restarts = 0;
  detail::Clock::time_point started = detail::Clock::now();
  detail::Clock::time_point deadline;
  std::chrono::milliseconds backoff{1000};
  std::uint64_t oom_kills_seen = 0;
  std::uint64_t oom_events = 0;
  std::string last_termination;
  bool removed = false;
  std::uint64_t start_ticks = 0;
  std::function<void()> after_restart;

  pid_t pid() const { return child ? child->pid() : -1; }
};

}  // namespace crest::stack
