#include "crest/stack/local_platform.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "local_platform_internal.hpp"

namespace crest::stack {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace detail;

// ---- the run directory ----

Result<RunDirLock> RunDirLock::acquire(const fs::path& run_dir) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec)
    return Error{ErrorKind::invalid_argument,
                 fmt::format("cannot create {}: {}", run_dir.string(), ec.message())};
  const fs::path file = run_dir / "lock";
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return Error{ErrorKind::unavailable,
                 fmt::format("cannot open {}: {}", file.string(), std::strerror(errno))};
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    std::string holder;
    if (auto state = read_state(run_dir); state.ok())
      holder = fmt::format(" (supervisor pid {})", (*state).value("supervisor_pid", 0));
    return Error{
        ErrorKind::conflict,
        fmt::format("a stack is already running in {}{}; stop it with 'crest down --dir {}' or use "
                    "another --dir",
                    run_dir.string(), holder, run_dir.string())};
  }
  return RunDirLock(fd);
}

RunDirLock::~RunDirLock() {
  if (fd_ >= 0) ::close(fd_);
}

Result<nlohmann::json> read_state(const fs::path& run_dir) {
  const fs::path file = run_dir / "state.json";
  std::ifstream in(file);
  if (!in)
    return Error{ErrorKind::not_found,
                 fmt::format("no stack in {} (no state.json); start one with 'crest up --dir {}'",
                             run_dir.string(), run_dir.string())};
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    return Error{ErrorKind::internal, fmt::format("{}: {}", file.string(), e.what())};
  }
}

std::optional<std::uint64_t> process_start_ticks(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  const std::string stat = read_file(fmt::format("/proc/{}/stat", pid));
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  // Field 3 (state) is the first after the name; start time is field 22.
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 3 && field == "Z") return std::nullopt;
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return std::nullopt;
}

bool same_process_alive(pid_t pid, std::uint64_t start_ticks) {
  const auto ticks = process_start_ticks(pid);
  return ticks && (start_ticks == 0 || *ticks == start_ticks);
}

Result<void> check_port_free(std::uint16_t port, const std::string& what) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  if (!free) {
    return Error{
        ErrorKind::conflict,
        fmt::format("port 127.0.0.1:{} ({}) is busy: another process listens there; choose another "
                    "with --set {}=N, or 0 for a free port",
                    port, what, what)};
  }
  return {};
}

Result<std::string> require_program(const std::string& program) {
  auto found = find_program(program);
  if (found.ok()) return found;
  const auto package = kPackages.find(program);
  return Error{
      ErrorKind::not_found,
      fmt::format(
          "'{}' is not installed: apt-get install {} (scripts/install-deps installs every server)",
          program, package != kPackages.end() ? package->second : program)};
}

}  // namespace crest::stack
