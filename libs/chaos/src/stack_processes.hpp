#pragma once
// What the stack faults need from a run directory and from the kernel: the processes state.json
// lists, pids checked by start time, cgroup membership, detached helper processes, and short
// commands with their output (the `mariadb` client).
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crest/core/error.hpp"

namespace crest::chaos::detail {

struct StackProcess {
  std::string component;  // "catalog", "mariadb", "redis"
  std::string name;       // "catalog-2", "mariadb-replica1", "redis"
  pid_t pid = -1;
  std::uint64_t start_ticks = 0;
  std::uint16_t port = 0;
  std::string phase;
};

// The processes of the stack running in run_dir; an Error if none runs there.
Result<std::vector<StackProcess>> read_stack_processes(const std::filesystem::path& run_dir);
// <run dir>/storefront.args as key -> value (the services' connection settings).
std::map<std::string, std::string> read_storefront_settings(const std::filesystem::path& run_dir);

std::optional<std::uint64_t> start_ticks(pid_t pid);
bool same_process_alive(pid_t pid, std::uint64_t ticks);
// {"pid":N,"start_ticks":T}
nlohmann::json process_ref(pid_t pid);
// Sends `signal` to the recorded process if it is still the same one (a pid reused since is left
// alone); `group` sends to its process group. True if sent.
bool signal_recorded(const nlohmann::json& ref, int signal, bool group = false);

// /proc/PID/cmdline, split.
std::vector<std::string> process_arguments(pid_t pid);
// The cgroup.procs files of the v1 groups `pid` belongs to in hierarchies whose controllers
// include `controller` ("cpu", "memory"); empty if none (no cgroups: faults then act unconfined).
std::vector<std::string> cgroup_procs_files(pid_t pid, const std::string& controller);

// Forks a detached child (its own session) that first waits until the parent has placed it
// (written its pid to `procs_files`), then runs `body`, which must only make system calls
// (no allocation: the caller may be multi-threaded), and never returns.
Result<pid_t> spawn_detached(const std::vector<std::string>& procs_files,
                             const std::function<void()>& body);
// Starts `argv` detached in its own session, output discarded.
Result<pid_t> spawn_program_detached(const std::vector<std::string>& argv);
// Runs `argv` to completion (at most `timeout`) and returns its standard output; an Error carries
// its standard error.
Result<std::string> run_capture(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout = std::chrono::seconds(30));

// Appends lines to a file and fsyncs it (the helper pids of a fault, before they matter).
Result<void> append_synced(const std::filesystem::path& file, const std::string& text);

}  // namespace crest::chaos::detail
