#include "crest/load/worker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "coordinator_socket.hpp"
#include "crest/load/outputs.hpp"
#include "crest/load/process_run.hpp"
#include "crest/load/run_command.hpp"
#include "crest/load/wire.hpp"

namespace crest::load {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_worker_stop{false};
extern "C" void on_worker_signal(int) {
  g_worker_stop.store(true);
}

// A failure that ends the worker: what to print and the exit code.
struct Exit {
  int code = 0;
  std::string message;
};

// Takes the next control frame off the socket, waiting up to wait_s (< 0: until a frame, EOF or
// a stop signal; 0: only what has arrived).
enum class Read : std::uint8_t { frame, closed, timeout, malformed, stopped };
Read read_control(int fd, std::string& inbox, ControlFrame& out, double wait_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(wait_s);
  for (;;) {
    std::string_view view(inbox);
    const auto status = decode_control_frame(view, out);
    if (status == FrameStatus::complete) {
      inbox.erase(0, inbox.size() - view.size());
      return Read::frame;
    }
    if (status == FrameStatus::malformed) {
      return Read::malformed;
    }
    char buf[1 << 16];
    const auto got = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (got > 0) {
      inbox.append(buf, static_cast<std::size_t>(got));
      continue;
    }
    if (got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      return Read::closed;
    }
    if (wait_s != 0 && g_worker_stop.load()) {
      return Read::stopped;
    }
    if (wait_s >= 0 && Clock::now() >= deadline) {
      return Read::timeout;
    }
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 100);
  }
}

std::string default_name() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return fmt::format("{}-{}", host, ::getpid());
}

// Writes the plan and its data files under `root` so that the plan's relative paths (../data/x)
// resolve as they did on the coordinator; returns the plan's path. No path may leave `root`.
Result<fs::path> lay_out_shard(const fs::path& root, const ControlFrame& shard) {
  int depth = 0;
  for (const auto& [path, contents] : shard.files) {
    const auto p = fs::path(path).lexically_normal();
    if (p.is_absolute()) {
      return Error{ErrorKind::invalid_argument, "absolute data path " + path};
    }
    int ups = 0;
    for (const auto& part : p) {
      if (part != "..") {
        break;
      }
      ++ups;
    }
    depth = std::max(depth, ups);
  }
  fs::path base = root;
  for (int i = 0; i < depth; ++i) {
    base /= "p";
  }
  std::error_code ec;
  fs::create_directories(base, ec);
  for (const auto& [path, contents] : shard.files) {
    const auto target = (base / path).lexically_normal();
    const auto inside = target.lexically_relative(root);
    if (inside.empty() || *inside.begin() == "..") {
      return Error{ErrorKind::invalid_argument, "data path " + path + " leaves the shard folder"};
    }
    fs::create_directories(target.parent_path(), ec);
    std::ofstream out(target, std::ios::binary);
    out << contents;
    if (!out) {
      return Error{ErrorKind::unavailable, "cannot write " + target.string()};
    }
  }
  auto name = fs::path(shard.plan_name).filename();
  if (name.empty() || name == "." || name == "..") {
    name = "plan.yaml";
  }
  const auto plan = base / name;
  std::ofstream out(plan, std::ios::binary);
  out << shard.plan_text;
  if (!out) {
    return Error{ErrorKind::unavailable, "cannot write " + plan.string()};
  }
  return plan;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) {
    return fmt::format("was killed by signal {} ({})", WTERMSIG(status),
                       ::strsignal(WTERMSIG(status)));
  }
  return fmt::format("exited with status {}", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

// What this worker's own run measured (its shard), from the frames it relayed.
struct OwnRecord {
  std::string inbox;
  std::optional<MetricSet> totals;
  std::vector<TimelinePoint> timeline;
  std::optional<ShardFrame> result;
  bool malformed = false;

  void feed(std::string_view bytes) {
    inbox.append(bytes);
    std::string_view view(inbox);
    for (;;) {
      ShardFrame f;
      const auto status = decode_shard_frame(view, f);
      if (status == FrameStatus::incomplete) {
        break;
      }
      if (status == FrameStatus::malformed) {
        malformed = true;
        view = {};
        break;
      }
      if (f.kind == ShardFrame::Kind::result) {
        result = std::move(f);
      } else {
        totals = std::move(f.totals);
        if (f.last) {
          timeline.push_back(std::move(*f.last));
        }
      }
    }
    inbox.erase(0, inbox.size() - view.size());
  }
};

// The overrides in the run's arguments, so this worker reads the plan as its run process does.
PlanOverrides overrides_of(const std::vector<std::string>& args) {
  PlanOverrides o;
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    const auto& k = args[i];
    const auto& v = args[i + 1];
    try {
      if (k == "--vus") {
        o.vus = std::stoi(v);
      } else if (k == "--rate") {
        o.rate = std::stod(v);
      } else if (k == "--duration") {
        if (auto d = parse_duration(v); d.ok()) {
          o.duration = *d;
        }
      } else if (k == "--target") {
        o.target = v;
      } else if (k == "--iterations") {
        o.iterations = std::stoll(v);
      } else if (k == "--threads") {
        o.threads = std::stoi(v);
      } else if (k == "-e" && v.find('=') != std::string::npos) {
        o.vars.emplace_back(v.substr(0, v.find('=')), v.substr(v.find('=') + 1));
      }
    } catch (const std::exception&) {
      // the run process rejects it with a clear message
    }
  }
  return o;
}

// Runs the shard as a child `crest run --shard` process and relays its reports.
Exit run_shard_process(int sock, std::string& inbox, const ControlFrame& shard,
                       const fs::path& plan_path, const std::string& json_path,
                       const std::string& executable) {
  // The shared start time: every worker starts its second 0 together (clocks in sync, as NTP
  // keeps them; a skew shows as a shift of the timeline, not as lost data).
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto wait_ms = shard.start_unix_ms - now_ms;
  if (wait_ms > 60000) {
    return {1, fmt::format("the start time is {:.0f}s away: is this machine's clock in sync?",
                           static_cast<double>(wait_ms) / 1000)};
  }
  if (wait_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return {1, std::string("cannot create a pipe: ") + std::strerror(errno)};
  }
  std::vector<std::string> args = {"crest", "run", plan_path.string(), "-q"};
  args.insert(args.end(), shard.args.begin(), shard.args.end());
  args.insert(args.end(), {"--shard", fmt::format("{}/{}", shard.shard_index, shard.shard_count),
                           "--report-fd", std::to_string(fds[1])});
  const pid_t child = spawn_shard(executable, args, fds[1]);
  ::close(fds[1]);
  if (child < 0) {
    ::close(fds[0]);
    return {1, std::string("cannot start the run process: ") + std::strerror(errno)};
  }
  int pipe_fd = fds[0];
  bool coordinator_lost = false;  // nobody to send to any more
  bool lost_midrun = false;       // ... before the result went out
  bool forwarded_stop = false;
  OwnRecord own;
  int status = 0;
  bool reaped = false;
  while (!reaped || pipe_fd >= 0) {
    if (g_worker_stop.load() && !forwarded_stop) {
      forwarded_stop = true;
      ::kill(child, SIGTERM);
    }
    pollfd p[2] = {{pipe_fd, POLLIN, 0}, {coordinator_lost ? -1 : sock, POLLIN, 0}};
    ::poll(p, 2, 100);
    if (pipe_fd >= 0) {
      char buf[1 << 16];
      const auto got = ::read(pipe_fd, buf, sizeof buf);
      if (got > 0) {
        const std::string_view bytes(buf, static_cast<std::size_t>(got));
        own.feed(bytes);
        if (!coordinator_lost && !send_all(sock, bytes, 10.0)) {
          coordinator_lost = true;
          lost_midrun = true;
          ::kill(child, SIGUSR1);
        }
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(pipe_fd);
        pipe_fd = -1;
      }
    }
    if (!coordinator_lost && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ControlFrame f;
      for (;;) {
        const auto r = read_control(sock, inbox, f, 0);
        if (r == Read::frame) {
          ::kill(child, f.kind == ControlFrame::Kind::abort ? SIGUSR1 : SIGTERM);
          continue;
        }
        if (r == Read::closed || r == Read::malformed) {
          coordinator_lost = true;
          if (!own.result) {  // nobody to report to: stop now
            lost_midrun = true;
            ::kill(child, SIGUSR1);
          }
        }
        break;
      }
    }
    if (!reaped && ::waitpid(child, &status, WNOHANG) == child) {
      reaped = true;
    }
  }
  if (!own.result && !coordinator_lost) {
    ShardFrame last;  // the run process died without its result: say so, in its place
    last.kind = ShardFrame::Kind::result;
    last.error = "its run process " + describe_status(status);
    send_all(sock, encode_shard_frame(last), 5.0);
  }
  if (!json_path.empty() && own.totals) {
    auto plan = parse_plan(shard.plan_text, plan_path.string(), overrides_of(shard.args),
                           plan_path.parent_path().string());
    if (plan.ok()) {
      RunResult r;
      r.totals = *own.totals;
      r.timeline = own.timeline;
      r.start_unix_ms = shard.start_unix_ms;
      if (own.result) {
        r.elapsed_s = own.result->elapsed_s;
        r.peak_vus = own.result->peak_vus;
        r.threads = own.result->threads;
        r.recorded = own.result->recorded;
      }
      std::ofstream(json_path) << format_json(*plan, r,
                                              evaluate_thresholds(*plan, r.totals, r.elapsed_s));
    }
  }
  if (own.totals) {
    std::cout << fmt::format("crest worker: shard {}/{}: {} requests, {} failures\n",
                             shard.shard_index, shard.shard_count, own.totals->requests(),
                             own.totals->failures());
  }
  if (lost_midrun) {
    return {1, "lost the coordinator during the run; its shard was stopped"};
  }
  if (!own.result) {
    return {1, "the run process " + describe_status(status)};
  }
  if (!own.result->error.empty()) {
    return {1, own.result->error};
  }
  return {};
}

}  // namespace

int worker_command(int argc, char** argv) {
  CLI::App app{"crest worker: run a shard of a coordinated run (docs/load.md)", "crest worker"};
  std::string coordinator;
  std::string token;
  std::string name;
  std::string connect_timeout = "2m";
  std::string out;
  std::string executable = "/proc/self/exe";
  app.add_option("--coordinator", coordinator, "the coordinator's HOST:PORT")->required();
  app.add_option("--token", token, "the run's shared token (default: $CREST_TOKEN)");
  app.add_option("--name", name, "this worker's name in the coordinator's messages");
  app.add_option("--connect-timeout", connect_timeout,
                 "keep trying to reach the coordinator this long (default 2m)");
  app.add_option("--out", out, "json=FILE: this worker's own share of the results");
  app.add_option("--crest-binary", executable)->group("");  // tests
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (token.empty()) {
    if (const char* env = std::getenv("CREST_TOKEN"); env != nullptr) {
      token = env;
    }
  }
  if (token.empty()) {
    std::cerr << "crest worker: a token is required: --token or the CREST_TOKEN variable\n";
    return 2;
  }
  const auto timeout = parse_duration(connect_timeout);
  if (!timeout.ok()) {
    std::cerr << "crest worker: --connect-timeout: " << timeout.error().message << "\n";
    return 2;
  }
  const auto at = crest::parse_host_port(coordinator);
  if (!at.ok()) {
    std::cerr << "crest worker: --coordinator: " << at.error().message << "\n";
    return 2;
  }
  std::string json_path;
  if (!out.empty()) {
    if (out.rfind("json=", 0) != 0 || out.size() == 5) {
      std::cerr << "crest worker: --out expects json=FILE, got '" << out << "'\n";
      return 2;
    }
    json_path = out.substr(5);
    if (!std::ofstream(json_path)) {
      std::cerr << "crest worker: cannot write " << json_path << ": " << std::strerror(errno)
                << "\n";
      return 1;
    }
  }
  if (name.empty()) {
    name = default_name();
  }
  g_worker_stop.store(false);
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, on_worker_signal);
  std::signal(SIGTERM, on_worker_signal);

  // Reach the coordinator (it may start after its workers, as pods do).
  const auto deadline = Clock::now() + *timeout;
  int sock = -1;
  std::string last_error;
  while (sock < 0) {
    auto connected = connect_tcp(*at);
    if (connected.ok()) {
      sock = *connected;
      break;
    }
    last_error = connected.error().message;
    if (g_worker_stop.load()) {
      return kExitInterrupted;
    }
    if (Clock::now() > deadline) {
      std::cerr << "crest worker: cannot reach the coordinator at " << coordinator << " within "
                << connect_timeout << ": " << last_error << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  std::string inbox;
  auto fail = [&](int code, const std::string& message) {
    ::close(sock);
    std::cerr << "crest worker: " << message << "\n";
    return code;
  };
  ControlFrame f;
  auto r = read_control(sock, inbox, f, 30);
  if (r == Read::stopped) {
    return fail(kExitInterrupted, "interrupted before the run started");
  }
  if (r == Read::frame && f.kind == ControlFrame::Kind::refuse) {
    return fail(1, "the coordinator refused this worker: " + f.reason);
  }
  if (r != Read::frame || f.kind != ControlFrame::Kind::challenge) {
    return fail(1, coordinator + " is not a crest coordinator (no challenge)");
  }
  ControlFrame hello;
  hello.kind = ControlFrame::Kind::hello;
  hello.cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  hello.worker = name;
  hello.mac = worker_mac(token, f.nonce, name);
  if (!send_all(sock, encode_control_frame(hello), 10.0)) {
    return fail(1, "the coordinator closed the connection");
  }
  std::cerr << "crest worker: '" << name << "' connected to " << coordinator
            << ", waiting for the run to start\n";
  r = read_control(sock, inbox, f, -1);
  if (r == Read::stopped) {
    return fail(kExitInterrupted, "interrupted before the run started");
  }
  if (r == Read::frame && f.kind == ControlFrame::Kind::refuse) {
    return fail(1, "the coordinator refused this worker: " + f.reason);
  }
  if (r != Read::frame || f.kind != ControlFrame::Kind::shard) {
    return fail(1, "the coordinator closed the connection before the run started");
  }
  std::string dir_template = (fs::temp_directory_path() / "crest-worker-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) {
    return fail(1, "cannot create a temporary folder for the shard");
  }
  const fs::path root(dir_template);
  Exit result;
  auto plan_path = lay_out_shard(root, f);
  if (!plan_path.ok()) {
    result = {1, plan_path.error().message};
    ShardFrame last;
    last.kind = ShardFrame::Kind::result;
    last.error = result.message;
    send_all(sock, encode_shard_frame(last), 5.0);
  } else {
    std::cerr << fmt::format("crest worker: running shard {}/{}\n", f.shard_index, f.shard_count);
    result = run_shard_process(sock, inbox, f, *plan_path, json_path, executable);
  }
  std::error_code ec;
  fs::remove_all(root, ec);
  ::close(sock);
  if (result.code != 0) {
    std::cerr << "crest worker: " << result.message << "\n";
  }
  return result.code;
}

}  // namespace crest::load
