#include "crest/load/process_run.hpp"

#include "crest/load/outputs.hpp"
#include "shard_merger.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>

namespace crest::load {
namespace {

using Clock = std::chrono::steady_clock;

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::atomic<bool> g_shard_stop{false};
std::atomic<bool> g_shard_abort{false};

extern "C" void on_shard_stop(int) {
  g_shard_stop.store(true);
}
// Abort: stop now (every loop starts stopping within 20 ms) and cut what is still running at the
// next tick, as a single process does when an abort_on_fail threshold fails.
extern "C" void on_shard_abort(int) {
  g_shard_abort.store(true);
  g_shard_stop.store(true);
}

// A child as the parent sees it.
struct Child {
  int shard = 0;
  pid_t pid = -1;
  int fd = -1;                         // read end of its report pipe; -1 after EOF
  std::string inbox;                   // bytes read and not yet decoded
  const ShardFrame* result = nullptr;  // its last frame, once the merger has it
  Clock::time_point last_heard;
  Clock::time_point eof_at;
  bool killed_after_eof = false;
  bool reaped = false;
  int status = 0;
  std::uint64_t max_rss_kib = 0;
};

std::string describe(const Child& c, int n) {
  return fmt::format("shard {}/{} (pid {})", c.shard, n, c.pid);
}

std::string describe_exit(const Child& c, const std::string& executable) {
  if (WIFSIGNALED(c.status)) {
    const int sig = WTERMSIG(c.status);
    return fmt::format("was killed by signal {} ({})", sig, ::strsignal(sig));
  }
  const int code = WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1;
  if (c.result && !c.result->error.empty()) {
    return c.result->error;
  }
  if (code == 127 && !c.result) {
    return fmt::format("exited with status 127 (could not run {}?)", executable);
  }
  if (code != 0) {
    return fmt::format("exited with status {}", code);
  }
  return "exited without reporting its result";
}

}  // namespace

pid_t spawn_shard(const std::string& executable, std::vector<std::string>& args, int report_fd) {
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  const char* path = executable.c_str();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) {
    return pid;
  }
  // The child, until exec: async-signal-safe calls only (the parent has other threads).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a parent that dies takes its shards with it
  if (::getppid() != parent) {
    ::_exit(127);
  }
  // SIGTERM and SIGUSR1 wait (blocked across exec) until run_shard has its handlers in place,
  // so a stop that comes while the child is still starting is not fatal.
  sigset_t mask;
  ::sigemptyset(&mask);
  ::sigaddset(&mask, SIGTERM);
  ::sigaddset(&mask, SIGUSR1);
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
  // Nothing of the parent's but the report pipe (and stdio) crosses exec.
  if (report_fd > 3) {
    ::close_range(3, static_cast<unsigned>(report_fd - 1), CLOSE_RANGE_CLOEXEC);
  }
  ::close_range(static_cast<unsigned>(report_fd + 1), ~0U, CLOSE_RANGE_CLOEXEC);
  ::fcntl(report_fd, F_SETFD, 0);
  ::execv(path, argv.data());
  ::_exit(127);
}

namespace {

std::string part_path(const std::string& jtl, int shard) {
  return jtl + ".part-" + std::to_string(shard);
}

// FILE: the JTL header, then every part's rows (each part starts with its own header line).
bool join_jtl(const std::string& path, int parts) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) {
    return false;
  }
  bool ok = std::fprintf(out, "%s\n", kJtlHeader) > 0;
  std::vector<char> buf(1 << 16);
  for (int i = 0; i < parts && ok; ++i) {
    std::FILE* in = std::fopen(part_path(path, i).c_str(), "r");
    if (in == nullptr) {
      ok = false;
      break;
    }
    bool header = true;
    std::size_t n = 0;
    while (ok && (n = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
      std::size_t from = 0;
      if (header) {
        const auto* nl = static_cast<const char*>(std::memchr(buf.data(), '\n', n));
        if (nl == nullptr) {
          continue;
        }
        header = false;
        from = static_cast<std::size_t>(nl - buf.data()) + 1;
      }
      ok = std::fwrite(buf.data() + from, 1, n - from, out) == n - from;
    }
    ok = ok && std::ferror(in) == 0;
    std::fclose(in);
  }
  return std::fclose(out) == 0 && ok;
}

void remove_parts(const std::string& jtl, int parts) {
  if (jtl.empty()) {
    return;
  }
  for (int i = 0; i < parts; ++i) {
    std::remove(part_path(jtl, i).c_str());
  }
}

}  // namespace

int run_shard(const Plan& plan, RunOptions options, int report_fd) {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, SIG_IGN);  // Ctrl-C reaches the parent, which stops every shard
  std::signal(SIGTERM, on_shard_stop);
  std::signal(SIGUSR1, on_shard_abort);
  sigset_t mask;
  ::sigemptyset(&mask);
  ::sigaddset(&mask, SIGTERM);
  ::sigaddset(&mask, SIGUSR1);
  ::pthread_sigmask(SIG_UNBLOCK, &mask, nullptr);  // blocked by the parent until now
  options.stop = &g_shard_stop;
  bool reporting = true;
  options.on_tick = [&](const Progress& p, bool final) {
    if (reporting && p.totals != nullptr &&
        !write_all(report_fd, encode_tick_frame(p.elapsed_s, p.total_s, p.active_vus, final, p.last,
                                                *p.totals))) {
      reporting = false;  // the parent is gone: nobody to run for
      g_shard_stop.store(true);
    }
  };
  options.should_abort = [](const MetricSet&, double) { return g_shard_abort.load(); };
  auto r = run_plan(plan, options);
  for (const auto& note : r.notes) {  // the frames carry metrics only: notes go to stderr
    std::fprintf(stderr, "crest run (shard %d): %s\n", options.shard_index, note.c_str());
  }
  ShardFrame last;
  last.kind = ShardFrame::Kind::result;
  last.elapsed_s = r.elapsed_s;
  last.peak_vus = r.peak_vus;
  last.threads = r.threads;
  last.source_addresses = r.source_addresses;
  last.aborted = r.aborted;
  last.error = r.error;
  last.recorded = std::move(r.recorded);
  const bool sent = write_all(report_fd, encode_shard_frame(last));
  ::close(report_fd);
  return r.error.empty() && sent ? 0 : 1;
}

RunResult run_processes(const Plan& plan, const ProcessRunOptions& o) {
  const int n = std::max(1, o.processes);
  RunResult result;
  result.processes = n;
  result.start_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::vector<Child> children;
  children.reserve(static_cast<std::size_t>(n));
  std::string failure;
  auto fail = [&](const Child& c, const std::string& what) {
    if (failure.empty()) {
      failure = describe(c, n) + ": " + what;
    }
  };
  auto signal_all = [&](int sig) {
    for (const auto& c : children) {
      if (!c.reaped && c.pid > 0) {
        ::kill(c.pid, sig);
      }
    }
  };

  for (int i = 0; i < n; ++i) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      failure = fmt::format("cannot create a pipe for shard {}/{}: {}", i, n, std::strerror(errno));
      break;
    }
    ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    std::vector<std::string> args;
    args.emplace_back("crest");
    args.insert(args.end(), o.child_args.begin(), o.child_args.end());
    args.insert(args.end(),
                {"--shard", fmt::format("{}/{}", i, n), "--report-fd", std::to_string(fds[1])});
    if (!o.jtl_path.empty()) {
      args.insert(args.end(), {"--out", "jtl=" + part_path(o.jtl_path, i)});
    }
    const pid_t pid = spawn_shard(o.executable, args, fds[1]);
    const int fork_errno = errno;
    ::close(fds[1]);
    if (pid < 0) {
      ::close(fds[0]);
      failure = fmt::format("cannot start shard {}/{}: {}", i, n, std::strerror(fork_errno));
      break;
    }
    Child& c = children.emplace_back();
    c.shard = i;
    c.pid = pid;
    c.fd = fds[0];
    c.last_heard = Clock::now();
  }

  if (failure.empty() && o.on_started) {
    std::vector<pid_t> pids;
    for (const auto& c : children) {
      pids.push_back(c.pid);
    }
    o.on_started(pids);
  }
  bool forwarded_stop = false;
  ShardMerger merger(plan, n, o.on_tick, o.should_abort);
  auto read_from = [&](Child& c) {
    char buf[1 << 16];
    for (;;) {
      const auto got = ::read(c.fd, buf, sizeof buf);
      if (got > 0) {
        c.inbox.append(buf, static_cast<std::size_t>(got));
        c.last_heard = Clock::now();
        continue;
      }
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      }
      ::close(c.fd);  // EOF (or a read error: the same to us)
      c.fd = -1;
      c.eof_at = Clock::now();
      break;
    }
    if (auto wrong = merger.take_frames(c.shard, c.inbox); !wrong.empty()) {
      fail(c, wrong);
    } else if (merger.result(c.shard)) {
      c.result = &*merger.result(c.shard);
    }
    if (c.fd < 0 && !c.inbox.empty() && failure.empty()) {
      fail(c, "closed its report pipe in the middle of a frame");
    }
  };

  while (failure.empty()) {
    if (o.stop != nullptr && o.stop->load() && !forwarded_stop) {
      forwarded_stop = true;
      signal_all(SIGTERM);
    }
    std::vector<pollfd> pfds;
    std::vector<Child*> polled;
    for (auto& c : children) {
      if (c.fd >= 0) {
        pollfd p{};
        p.fd = c.fd;
        p.events = POLLIN;
        pfds.push_back(p);
        polled.push_back(&c);
      }
    }
    const int ready = ::poll(pfds.data(), pfds.size(), 100);
    for (std::size_t i = 0; ready > 0 && i < pfds.size() && failure.empty(); ++i) {
      if (pfds[i].revents != 0) {
        read_from(*polled[i]);
      }
    }
    const auto now = Clock::now();
    for (auto& c : children) {
      if (c.reaped || !failure.empty()) {
        continue;
      }
      rusage ru{};
      int status = 0;
      const pid_t got = ::wait4(c.pid, &status, WNOHANG, &ru);
      if (got == c.pid) {
        c.reaped = true;
        c.status = status;
        c.max_rss_kib = static_cast<std::uint64_t>(ru.ru_maxrss);
        if (c.fd >= 0) {
          read_from(c);  // what it wrote before exiting is still in the pipe
        }
      } else if (got < 0 && errno != EINTR) {
        c.reaped = true;
        fail(c, fmt::format("cannot be waited for: {}", std::strerror(errno)));
        continue;
      }
      if (c.reaped && c.fd < 0 &&
          !(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0 && c.result &&
            c.result->error.empty())) {
        fail(c, describe_exit(c, o.executable));
      } else if (c.fd >= 0 &&
                 now - c.last_heard > std::chrono::duration<double>(o.silence_timeout_s)) {
        fail(c, fmt::format("sent nothing for {:.0f}s (hung?)", o.silence_timeout_s));
      } else if (c.fd < 0 && !c.reaped && !c.killed_after_eof &&
                 now - c.eof_at > std::chrono::seconds(10)) {
        c.killed_after_eof = true;  // it closed its pipe but does not exit
        ::kill(c.pid, SIGKILL);
      }
    }
    if (!failure.empty()) {
      break;
    }
    bool abort_now = false;
    int bad = -1;
    if (auto wrong = merger.emit_ready(&abort_now, &bad); !wrong.empty()) {
      fail(children[static_cast<std::size_t>(bad)], wrong);
      break;
    }
    if (abort_now) {
      signal_all(SIGUSR1);
    }
    if (std::all_of(children.begin(), children.end(),
                    [](const Child& c) { return c.reaped && c.fd < 0; })) {
      break;
    }
  }

  if (!failure.empty()) {
    signal_all(SIGKILL);
  }
  for (auto& c : children) {
    if (!c.reaped) {
      rusage ru{};
      while (::wait4(c.pid, &c.status, 0, &ru) < 0 && errno == EINTR) {
      }
      c.reaped = true;
      c.max_rss_kib = static_cast<std::uint64_t>(ru.ru_maxrss);
    }
    if (c.fd >= 0) {
      ::close(c.fd);
      c.fd = -1;
    }
  }
  if (!failure.empty()) {
    remove_parts(o.jtl_path, n);
    result.error = failure;
    return result;
  }

  merger.finish(result);
  for (const auto& c : children) {
    result.max_rss_kib += c.max_rss_kib;
  }
  if (!o.jtl_path.empty()) {
    const bool joined = join_jtl(o.jtl_path, n);
    remove_parts(o.jtl_path, n);
    if (!joined) {
      result.error = "cannot write " + o.jtl_path;
    }
  }
  return result;
}

}  // namespace crest::load
