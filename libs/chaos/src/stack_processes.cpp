#include "stack_processes.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "crest/stack/local_platform.hpp"

extern char** environ;

namespace crest::chaos::detail {
namespace fs = std::filesystem;

Result<std::vector<StackProcess>> read_stack_processes(const fs::path& run_dir) {
  auto state = stack::read_state(run_dir);
  if (!state.ok()) return state.error();
  if (!stack::same_process_alive(state->value("supervisor_pid", 0),
                                 state->value("supervisor_start_ticks", std::uint64_t{0}))) {
    return Error{ErrorKind::unavailable,
                 "no stack runs in " + run_dir.string() + " (its supervisor is gone)"};
  }
  std::vector<StackProcess> out;
  for (const auto& component : state->value("components", nlohmann::json::array())) {
    for (const auto& instance : component.value("instances", nlohmann::json::array())) {
      StackProcess p;
      p.component = component.value("component", "");
      p.name = instance.value("name", "");
      p.pid = instance.value("pid", -1);
      p.start_ticks = instance.value("start_ticks", std::uint64_t{0});
      p.port = instance.value("port", std::uint16_t{0});
      p.phase = instance.value("phase", "");
      out.push_back(std::move(p));
    }
  }
  return out;
}

std::map<std::string, std::string> read_storefront_settings(const fs::path& run_dir) {
  std::map<std::string, std::string> settings;
  std::ifstream in(run_dir / "storefront.args");
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) settings[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return settings;
}

std::optional<std::uint64_t> start_ticks(pid_t pid) {
  return stack::process_start_ticks(pid);
}

bool same_process_alive(pid_t pid, std::uint64_t ticks) {
  return pid > 0 && stack::same_process_alive(pid, ticks);
}

nlohmann::json process_ref(pid_t pid) {
  return {{"pid", pid}, {"start_ticks", start_ticks(pid).value_or(0)}};
}

bool signal_recorded(const nlohmann::json& ref, int signal, bool group) {
  const pid_t pid = ref.value("pid", -1);
  if (!same_process_alive(pid, ref.value("start_ticks", std::uint64_t{0}))) return false;
  return ::kill(group ? -pid : pid, signal) == 0;
}

std::vector<std::string> process_arguments(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  return args;
}

std::vector<std::string> cgroup_procs_files(pid_t pid, const std::string& controller) {
  std::vector<std::string> files;
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  for (std::string line; std::getline(in, line);) {
    // "4:memory:/crest-123/node-1/catalog-2" (v1); the v2 line has an empty controller list.
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    std::stringstream list(controllers);
    bool has = false;
    for (std::string c; std::getline(list, c, ',');) has = has || c == controller;
    if (!has || path == "/") continue;
    const fs::path procs =
        fs::path("/sys/fs/cgroup") / controllers / path.substr(1) / "cgroup.procs";
    std::error_code ec;
    if (fs::exists(procs, ec)) files.push_back(procs.string());
  }
  return files;
}

Result<pid_t> spawn_detached(const std::vector<std::string>& procs_files,
                             const std::function<void()>& body) {
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0)
    return Error{ErrorKind::internal, std::string("pipe: ") + std::strerror(errno)};
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(go[0]);
    ::close(go[1]);
    return Error{ErrorKind::unavailable, std::string("fork: ") + std::strerror(errno)};
  }
  if (pid == 0) {
    ::setsid();
    ::close(go[1]);
    char byte = 0;
    while (::read(go[0], &byte, 1) < 0 && errno == EINTR) {
    }
    ::close(go[0]);
    if (byte != 'g') ::_exit(1);
    const int null = ::open("/dev/null", O_RDWR);
    for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
    body();
    ::_exit(0);
  }
  ::close(go[0]);
  std::string failure;
  for (const auto& file : procs_files) {
    std::ofstream out(file);
    out << pid << '\n';
    out.flush();
    if (!out) failure = "cannot place the helper in " + file;
  }
  const char byte = failure.empty() ? 'g' : 'x';
  (void)::write(go[1], &byte, 1);
  ::close(go[1]);
  if (!failure.empty()) {
    ::waitpid(pid, nullptr, 0);
    return Error{ErrorKind::unavailable, failure};
  }
  return pid;
}

namespace {
std::vector<char*> c_arguments(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}
}  // namespace

Result<pid_t> spawn_program_detached(const std::vector<std::string>& argv) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  ::posix_spawnattr_init(&attributes);
  ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
  auto args = c_arguments(argv);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attributes);
  if (rc != 0)
    return Error{ErrorKind::unavailable, "cannot start " + argv[0] + ": " + std::strerror(rc)};
  return pid;
}

Result<std::string> run_capture(const std::vector<std::string>& argv,
                                std::chrono::milliseconds timeout) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Error{ErrorKind::internal, "pipe failed"};
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return Error{ErrorKind::internal, "pipe failed"};
  }
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  ::posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  auto args = c_arguments(argv);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    return Error{ErrorKind::unavailable, "cannot start " + argv[0] + ": " + std::strerror(rc)};
  }
  std::string stdout_text, stderr_text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
      char buffer[4096];
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof(buffer));
      if (n > 0) {
        (i == 0 ? stdout_text : stderr_text).append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& fd : fds) {
    if (fd.fd >= 0) ::close(fd.fd);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (timed_out) {
    return Error{ErrorKind::timeout,
                 argv[0] + " did not finish in " + std::to_string(timeout.count()) + " ms"};
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!stderr_text.empty() && stderr_text.back() == '\n') stderr_text.pop_back();
    return Error{ErrorKind::unavailable, argv[0] + " failed: " + stderr_text};
  }
  return stdout_text;
}

Result<void> append_synced(const fs::path& file, const std::string& text) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error{ErrorKind::unavailable,
                 "cannot open " + file.string() + ": " + std::strerror(errno)};
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) return Error{ErrorKind::unavailable, "cannot write " + file.string()};
  return {};
}

}  // namespace crest::chaos::detail
