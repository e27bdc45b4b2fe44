// crest up: starts the local platform in the background (a supervisor process that keeps it
// running) and returns once everything is ready, printing progress per component.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "crest/stack/local_platform.hpp"
#include "crest/stack/platform_autoscaling.hpp"
#include "stack_common.hpp"
#include "subcommands.hpp"

namespace crest::cli {
namespace {
namespace fs = std::filesystem;

std::atomic<bool> g_stop{false};
void on_signal(int) {
  g_stop = true;
}

// Files of a previous run in the same directory (stopped, data kept): replaced by a new `up`.
void clear_previous_run(const fs::path& dir, std::ostream& out) {
  std::error_code ec;
  if (!fs::exists(dir / "state.json", ec)) return;
  out << "replacing the data of the previous run in " << dir.string() << "\n";
  for (const char* name :
       {"mariadb", "redis", "prometheus", "pods", "logs", "state.json", "events.jsonl",
        "scale.json", "haproxy.cfg", "storefront.args", "users.csv", "supervisor.log"}) {
    fs::remove_all(dir / name, ec);
  }
}

// Runs the platform in this process until SIGTERM/SIGINT. `report` receives progress lines and
// finally "READY" or "FAILED <why>".
int supervise(stack::PlatformOptions options,
              const std::function<void(const std::string&)>& report) {
  struct sigaction action {};
  action.sa_handler = on_signal;
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  options.progress = [&](const std::string& component, const std::string& message) {
    report(fmt::format("{:<18} {}", component, message));
  };
  const auto began = std::chrono::steady_clock::now();
  // `kubectl kustomize` runs beside the platform's start-up, not after it.
  auto manifests =
      std::async(std::launch::async, stack::read_autoscaler_manifests, options.profile, repo_root())
          .share();
  options.workload_manifests = manifests;  // their requests and limits, before instances start
  auto platform = stack::LocalPlatform::start(std::move(options));
  if (!platform.ok()) {
    report("FAILED " + platform.error().message);
    return 1;
  }
  auto& p = **platform;
  std::vector<std::string> warnings;
  auto autoscaler = stack::PlatformAutoscaler::create(p, repo_root(), warnings, manifests.get());
  if (!autoscaler.ok()) {
    report("FAILED autoscaler: " + autoscaler.error().message);
    p.shutdown();
    return 1;
  }
  for (const auto& warning : warnings)
    report(fmt::format("{:<18} warning: {}", "autoscaler", warning));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  report(fmt::format("{:<18} {}", "autoscaler", (*autoscaler)->describe()));
  report(fmt::format("READY in {:.1f} s: shop {}  prometheus {}  users {}/users.csv{}", seconds,
                     p.shop_url(), p.prometheus_url(), p.run_dir().string(),
                     p.cgroups_enabled() ? "" : "  (no cgroups: " + p.cgroups_reason() + ")"));
  p.event({{"kind", "stack"}, {"state", "ready"}, {"startup_seconds", seconds}});
  while (!g_stop) {
    p.tick();
    (*autoscaler)->tick();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  p.event({{"kind", "stack"}, {"state", "stopping"}});
  p.shutdown();
  return 0;
}

}  // namespace

int up(int argc, char** argv) {
  CLI::App app{
      "Start the storefront's whole platform on this machine (MariaDB primary + replicas, Redis, "
      "dynalite, SQS, "
      "HAProxy, the services, Prometheus and exporters), each in its own cgroup; returns once it "
      "is ready."};
  std::string profile_name = "scaled";
  std::string config_file;
  std::string dir = kDefaultRunDir;
  std::vector<std::string> sets;
  bool foreground = false;
  app.add_option("--profile", profile_name, "examples/profiles/NAME.yaml: baseline or scaled")
      ->capture_default_str();
  app.add_option("--config", config_file, "a profile file of your own (instead of --profile)")
      ->check(CLI::ExistingFile);
  app.add_option("--dir", dir, "run directory: data, logs, state.json")->capture_default_str();
  app.add_option("--set", sets, "override a profile key: --set services.catalog.instances=3");
  app.add_flag("--foreground", foreground,
               "supervise in this process until Ctrl-C instead of in the background");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  stack::PlatformOptions options;
  options.repo_root = repo_root();
  options.storefront_binary = storefront_binary();
  std::string file = config_file;
  if (file.empty()) {
    auto found = stack::find_profile(options.repo_root, profile_name);
    if (!found.ok()) {
      std::cerr << "crest up: " << found.error().message << "\n";
      return 2;
    }
    file = *found;
  }
  try {
    options.profile = stack::load_stack_profile(file, sets);
  } catch (const ConfigError& e) {
    std::cerr << "crest up: " << e.what() << "\n";
    return 2;
  }
  options.run_dir = fs::absolute(dir).lexically_normal();
  auto lock = stack::RunDirLock::acquire(options.run_dir);
  if (!lock.ok()) {
    std::cerr << "crest up: " << lock.error().message << "\n";
    return 1;
  }
  clear_previous_run(options.run_dir, std::cout);
  fs::create_directories(options.run_dir / "logs");
  std::cout << fmt::format("crest up: profile {} ({}), run directory {}\n", options.profile.name,
                           file, options.run_dir.string())
            << std::flush;

  if (foreground) {
    return supervise(std::move(options), [](const std::string& line) {
      std::cout << line << "\n" << std::flush;
    });
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    std::cerr << "crest up: pipe: " << std::strerror(errno) << "\n";
    return 1;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::cerr << "crest up: fork: " << std::strerror(errno) << "\n";
    return 1;
  }
  if (pid == 0) {  // the supervisor: its own session, so the terminal closing does not stop it
    ::close(pipe_fds[0]);
    ::setsid();
    const std::string log = (options.run_dir / "supervisor.log").string();
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    if (log_fd >= 0) {
      ::dup2(log_fd, STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
    }
    int report_fd = pipe_fds[1];
    const int code = supervise(std::move(options), [&report_fd](const std::string& line) {
      std::cout << line << "\n" << std::flush;
      if (report_fd < 0) return;
      const std::string text = line + "\n";
      if (::write(report_fd, text.data(), text.size()) < 0 || line.starts_with("READY")) {
        ::close(report_fd);
        report_fd = -1;
      }
    });
    std::_Exit(code);
  }
  ::close(pipe_fds[1]);
  FILE* in = ::fdopen(pipe_fds[0], "r");
  char buffer[4096];
  bool ready = false;
  std::string failure;
  while (std::fgets(buffer, sizeof(buffer), in) != nullptr) {
    std::string line(buffer);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    if (line.starts_with("READY")) {
      ready = true;
      std::cout << "ready: " << line.substr(6) << "\n";
    } else if (line.starts_with("FAILED")) {
      failure = line.substr(7);
    } else if (!failure.empty()) {
      failure += "\n" + line;  // the rest of a multi-line failure (a log's tail)
    } else {
      std::cout << "  " << line << "\n" << std::flush;
    }
  }
  std::fclose(in);
  if (ready) {
    std::cout << fmt::format(
        "supervisor pid {}; 'crest status --dir {}' to look, 'crest down --dir {}' to stop\n", pid,
        dir, dir);
    return 0;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::cerr << "crest up: "
            << (failure.empty() ? "the supervisor exited during start-up (see " +
                                      (fs::path(dir) / "supervisor.log").string() + ")"
                                : failure)
            << "\n";
  return 1;
}

}  // namespace crest::cli
