#include "crest/stack/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

extern char** environ;

namespace crest::stack {
namespace {

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return name;
    return Error{ErrorKind::not_found, fmt::format("{} is not an executable file", name)};
  }
  std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  path += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto end = std::min(path.find(':', start), path.size());
    const std::string dir = path.substr(start, end - start);
    if (!dir.empty()) {
      const std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    start = end + 1;
  }
  return Error{ErrorKind::not_found,
               fmt::format("program '{}' not found (is its package installed? "
                           "scripts/install-deps installs every server)",
                           name)};
}

Result<ChildProcess> ChildProcess::spawn(const ProcessSpec& spec) {
  auto program = find_program(spec.program);
  if (!program.ok()) return program.error();

  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> args{*program};
  args.insert(args.end(), spec.args.begin(), spec.args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos) merged[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  for (const auto& [key, value] : spec.env) merged[key] = value;
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : merged) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  const std::string log = spec.log_path.empty() ? "/dev/null" : spec.log_path;
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("cannot open log {}: {}", log, std::strerror(errno))};
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return Error{ErrorKind::unavailable, fmt::format("fork failed: {}", std::strerror(errno))};
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    ::setpgid(0, 0);  // own group: a Ctrl-C in the terminal reaches us, and we decide
    for (const auto& procs : spec.cgroup_procs) {  // join its cgroups before exec
      const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(125);
      ::close(fd);
    }
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    if (!spec.working_dir.empty() && ::chdir(spec.working_dir.c_str()) != 0) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  return ChildProcess(pid, std::filesystem::path(*program).filename().string());
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), name_(std::move(other.name_)), status_(other.status_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    stop();
    pid_ = std::exchange(other.pid_, -1);
    name_ = std::move(other.name_);
    status_ = other.status_;
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  stop();
}

bool ChildProcess::reap(bool block) {
  if (pid_ <= 0 || status_) return true;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    status_ = decode_status(status);
    return true;
  }
  if (r < 0 && errno == ECHILD) {
    status_ = -1;
    return true;
  }
  return false;
}

bool ChildProcess::running() {
  return pid_ > 0 && !reap(false);
}

void ChildProcess::signal(int signal) const {
  if (pid_ > 0 && !status_) ::kill(pid_, signal);
}

std::optional<int> ChildProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!reap(false)) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return status_;
}

int ChildProcess::stop(std::chrono::milliseconds grace, int signal) {
  if (pid_ <= 0) return -1;
  if (!status_) {
    ::kill(pid_, SIGCONT);  // a stopped process cannot handle SIGTERM
    ::kill(pid_, signal);
    if (!wait_for_exit(grace)) {
      ::kill(pid_, SIGKILL);
      reap(true);
    }
  }
  return status_.value_or(-1);
}

Result<std::uint16_t> free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{ErrorKind::unavailable, std::strerror(errno)};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string message = std::strerror(errno);
    ::close(fd);
    return Error{ErrorKind::unavailable, "no free loopback port: " + message};
  }
  ::close(fd);
  return static_cast<std::uint16_t>(ntohs(addr.sin_port));
}

Result<std::uint16_t> wait_for_port_file(const std::string& path, ChildProcess& process,
                                         std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::ifstream in(path);
    unsigned port = 0;
    if (in >> port && port > 0 && port <= 65535) return static_cast<std::uint16_t>(port);
    if (!process.running()) {
      return Error{ErrorKind::unavailable,
                   fmt::format("{} exited before writing its port to {}", process.name(), path)};
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error{ErrorKind::timeout, fmt::format("{} wrote no port to {} within {} ms",
                                                   process.name(), path, timeout.count())};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

namespace {

// The last lines of a log, to say why a server did not come up.
std::string log_tail(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream all;
  all << in.rdbuf();
  std::string text = all.str();
  if (text.size() > 600) text = "..." + text.substr(text.size() - 600);
  return text;
}

}  // namespace

// Starts `spec` on `port` and waits until it accepts connections or exits.
Result<ChildProcess> spawn_and_wait(const ProcessSpec& spec, std::uint16_t port,
                                    std::chrono::milliseconds timeout, const char* what) {
  auto child = ChildProcess::spawn(spec);
  if (!child.ok()) return child.error();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!child->running()) {
      return Error{ErrorKind::unavailable,
                   fmt::format("{} exited during start-up; its log {}:\n{}", what, spec.log_path,
                               log_tail(spec.log_path))};
    }
    if (wait_for_tcp(port, std::chrono::milliseconds(100)).ok()) return std::move(child.value());
  }
  child->stop(std::chrono::seconds(2));
  return Error{ErrorKind::timeout,
               fmt::format("{} not accepting connections on 127.0.0.1:{} after "
                           "{} ms; its log {}:\n{}",
                           what, port, timeout.count(), spec.log_path, log_tail(spec.log_path))};
}

Result<void> wait_for_tcp(std::uint16_t port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (connected) return {};
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error{ErrorKind::timeout, fmt::format("nothing listens on 127.0.0.1:{} after {} ms",
                                                   port, timeout.count())};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace crest::stack
