#include "crest/stack/local_platform.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "local_platform_internal.hpp"
#include "loopback_http.hpp"

namespace crest::stack {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace detail;

namespace detail {

extern const std::map<std::string, std::vector<std::string>> kRoutes = {
    {"users", {"/api/users", "/api/login", "/api/logout", "/api/me"}},
    {"catalog", {"/api/categories", "/api/products"}},
    {"cart", {"/api/cart"}},
    {"orders", {"/api/checkout", "/api/orders"}},
};

extern const std::map<std::string, std::string> kPackages = {
    {"mariadbd", "mariadb-server"},
    {"mariadb", "mariadb-client"},
    {"mariadb-install-db", "mariadb-server"},
    {"redis-server", "redis-server"},
    {"haproxy", "haproxy"},
    {"prometheus", "prometheus"},
    {"prometheus-node-exporter", "prometheus-node-exporter"},
    {"prometheus-mysqld-exporter", "prometheus-mysqld-exporter"},
    {"prometheus-redis-exporter", "prometheus-redis-exporter"},
    {"node", "nodejs"},
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string tail(const fs::path& path, std::size_t lines) {
  const std::string text = read_file(path);
  if (text.empty()) return "(empty)";
  std::size_t pos = text.size();
  for (std::size_t n = 0; n <= lines && pos > 0; ++n) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
}

int http_status(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout) {
  auto response = loopback_get(port, path, timeout);
  return response.ok() ? response->status : 0;
}

ProcessSpec command(std::string program, std::vector<std::string> args, std::string working_dir,
                    std::map<std::string, std::string> env) {
  ProcessSpec spec;
  spec.program = std::move(program);
  spec.args = std::move(args);
  spec.working_dir = std::move(working_dir);
  spec.env = std::move(env);
  return spec;
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

std::string describe_status(int status) {
  if (status > 128) return fmt::format("killed by signal {}", status - 128);
  return fmt::format("exited with status {}", status);
}

Error died_during_startup(const std::string& name, int status, const std::string& log_path) {
  return Error{ErrorKind::unavailable,
               fmt::format("{} {} during start-up; its log {}:\n{}", name, describe_status(status),
                           log_path, tail(log_path))};
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace detail

const char* to_string(InstancePhase phase) {
  switch (phase) {
    case InstancePhase::pending:
      return "pending";
    case InstancePhase::starting:
      return "starting";
    case InstancePhase::ready:
      return "ready";
    case InstancePhase::draining:
      return "draining";
    case InstancePhase::stopping:
      return "stopping";
    case InstancePhase::backoff:
      return "backoff";
    case InstancePhase::stopped:
      return "stopped";
  }
  return "unknown";
}

LocalPlatform::LocalPlatform(PlatformOptions options) : options_(std::move(options)) {}

LocalPlatform::~LocalPlatform() {
  shutdown();
}

void LocalPlatform::progress(const std::string& component, const std::string& message) const {
  if (options_.progress) options_.progress(component, message);
}

std::string LocalPlatform::prometheus_url() const {
  return fmt::format("http://127.0.0.1:{}", prometheus_port_);
}
std::string LocalPlatform::shop_url() const {
  return fmt::format("http://127.0.0.1:{}", haproxy_port_);
}

void LocalPlatform::event(nlohmann::json fields) {
  fields["ts"] = iso_time(std::chrono::system_clock::now());
  std::ofstream out(options_.run_dir / "events.jsonl", std::ios::app);
  out << fields.dump() << '\n';
}

Result<std::unique_ptr<LocalPlatform>> LocalPlatform::start(PlatformOptions options) {
  std::unique_ptr<LocalPlatform> platform(new LocalPlatform(std::move(options)));
  const auto began = Clock::now();
  platform->startup_began_ = began;
  platform->started_wall_ = std::chrono::system_clock::now();
  if (auto started = platform->start_all(); !started.ok()) {
    platform->shutdown();
    return started.error();
  }
  platform->startup_time_ =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began);
  platform->write_state();
  return platform;
}

Result<void> LocalPlatform::start_all() {
  for (const char* program : {"mariadbd", "mariadb", "mariadb-install-db", "haproxy", "prometheus",
                              "prometheus-node-exporter", "prometheus-mysqld-exporter", "node"}) {
    if (auto found = require_program(program); !found.ok()) return found.error();
  }
  if (options_.profile.redis) {
    for (const char* program : {"redis-server", "prometheus-redis-exporter"}) {
      if (auto found = require_program(program); !found.ok()) return found.error();
    }
  }
  if (::access(options_.storefront_binary.c_str(), X_OK) != 0) {
    return Error{ErrorKind::not_found,
                 fmt::format("the storefront program {} is missing (build it: cmake --build "
                             "--preset ci --target storefront)",
                             options_.storefront_binary)};
  }
  if (options_.profile.haproxy_port != 0) {
    if (auto free = check_port_free(options_.profile.haproxy_port, "haproxy.port"); !free.ok())
      return free.error();
  }
  cgroups_ = CgroupTree::create(fmt::format("crest-{}", ::getpid()));
  progress("cgroups",
           cgroups_.available()
               ? fmt::format("per-component limits under {}", cgroups_.cpu_path().string())
               : "unavailable, every component runs without limits: " + cgroups_.reason());
  // Independent servers start side by side: MariaDB boots while Redis, dynalite, the SQS server
  // and HAProxy start; the seed runs while the exporters and Prometheus start. (One thread:
  // children get PR_SET_PDEATHSIG, which fires when the thread that spawned them ends.)
  using Step = Result<void> (LocalPlatform::*)();
  for (const Step step : {&LocalPlatform::launch_databases, &LocalPlatform::start_support_servers,
                          &LocalPlatform::create_queues, &LocalPlatform::start_haproxy,
                          &LocalPlatform::finish_databases, &LocalPlatform::launch_seed,
                          &LocalPlatform::start_monitoring, &LocalPlatform::finish_seed,
                          &LocalPlatform::start_storefront}) {
    if (auto done = (this->*step)(); !done.ok()) return done;
  }
  std::string timings;
  for (const auto& [step, seconds] : startup_timings_)
    timings += fmt::format("{}{} {:.1f}", timings.empty() ? "" : ", ", step, seconds);
  progress("start-up", fmt::format("seconds per step: {} (total {:.1f})", timings,
                                   seconds_since(startup_began_)));
  startup_done_ = true;
  return {};
}

LocalPlatform::Process& LocalPlatform::add_process(std::string component, std::string name,
                                                   ProcessSpec spec, CgroupLimits limits,
                                                   std::uint16_t port) {
  auto p = std::make_unique<Process>();
  p->component = std::move(component);
  p->name = std::move(name);
  p->spec = std::move(spec);
  p->limits = limits;
  p->port = port;
  p->group = p->name;
  if (p->spec.log_path.empty())
    p->spec.log_path = (options_.run_dir / "logs" / (p->name + ".log")).string();
  processes_.push_back(std::move(p));
  return *processes_.back();
}

Result<void> LocalPlatform::launch(Process& p) {
  // CPU is unlimited until the process is ready (start-up, InnoDB recovery, JIT warm-up would
  // take seconds at half a core); memory is limited from the start.
  if (auto made = cgroups_.make_group(p.group, {0, p.limits.memory_bytes}); !made.ok()) {
    progress(p.name, "cgroup not created (" + made.error().message + "); running without limits");
  }
  p.spec.cgroup_procs = cgroups_.procs_files(p.group);
  if (!p.port_file.empty()) {
    std::error_code ec;
    fs::remove(p.port_file, ec);
    p.port = 0;
  }
  auto child = ChildProcess::spawn(p.spec);
  if (!child.ok()) return child.error();
  p.child.emplace(std::move(child).value());
  p.start_ticks = process_start_ticks(p.child->pid()).value_or(0);
  p.started = Clock::now();
  p.phase = InstancePhase::starting;
  p.deadline = Clock::now() + 60s;
  if (p.storefront)
    event({{"kind", "pod"},
           {"service", p.component},
           {"instance", p.name},
           {"transition", "started"},
           {"pid", p.pid()}});
  return {};
}

bool LocalPlatform::probe_ready(Process& p) {
  if (p.port == 0 && !p.port_file.empty()) {
    const std::string text = read_file(p.port_file);
    if (!text.empty()) p.port = static_cast<std::uint16_t>(std::atoi(text.c_str()));
  }
  if (p.port == 0) return false;
  if (!p.ready_path.empty()) return http_status(p.port, p.ready_path, 300ms) == 200;
  return wait_for_tcp(p.port, 50ms).ok();
}

void LocalPlatform::serve(Process& p) {
  p.phase = InstancePhase::ready;
  p.backoff = 1000ms;
  (void)cgroups_.set_limits(p.group, p.limits);
  if (p.routed && haproxy_) {
    if (auto enabled = haproxy_->enable_server(p.component, fmt::format("srv{}", p.slot), p.port);
        !enabled.ok()) {
      progress(p.name, "cannot enable its HAProxy slot: " + enabled.error().message);
      return;
    }
  }
  p.serving = true;
  if (p.storefront) {
    event(
        {{"kind", "pod"}, {"service", p.component}, {"instance", p.name}, {"transition", "ready"}});
    event({{"kind", "pod"},
           {"service", p.component},
           {"instance", p.name},
           {"transition", "serving"},
           {"port", p.port},
           {"startup_seconds", seconds_since(p.started)}});
  }
}

void LocalPlatform::unserve(Process& p) {
  if (p.routed && haproxy_ && p.slot > 0)
    (void)haproxy_->set_state(p.component, fmt::format("srv{}", p.slot), "maint");
  p.serving = false;
}

void LocalPlatform::on_exit(Process& p, int status) {
  unserve(p);
  if (p.phase == InstancePhase::stopping || stopping_) {
    p.phase = InstancePhase::stopped;
    p.removed = p.storefront;
    if (p.storefront)
      event({{"kind", "pod"},
             {"service", p.component},
             {"instance", p.name},
             {"transition", "stopped"}});
    if (p.removed) cgroups_.remove_group(p.group);
    return;
  }
  std::string why = describe_status(status);
  if (const auto usage = cgroups_.usage(p.group); usage && usage->oom_kills > p.oom_kills_seen) {
    p.oom_kills_seen = usage->oom_kills;
    ++p.oom_events;
    why = "OOMKilled (" + why + ")";
  }
  p.last_termination = why;
  ++p.restarts;
  p.phase = InstancePhase::backoff;
  p.deadline = Clock::now() + p.backoff;
  progress(p.name, fmt::format("{}; restart {} in {} ms", why, p.restarts, p.backoff.count()));
  event({{"kind", "restart"},
         {"service", p.component},
         {"instance", p.name},
         {"reason", why},
         {"restarts", p.restarts},
         {"backoff_ms", p.backoff.count()}});
  p.backoff = std::min<std::chrono::milliseconds>(
      p.backoff * 2, 30s);  // like a kubelet's CrashLoopBackOff, shorter
}

void LocalPlatform::tick() {
  if (stopping_) return;
  const auto now = Clock::now();
  std::map<std::string, int> in_flight;  // "backend/srvN" -> current sessions
  bool have_stats = false;
  for (auto& owned : processes_) {
    Process& p = *owned;
    if (p.removed || p.phase == InstancePhase::stopped || p.phase == InstancePhase::pending)
      continue;
    // Exit?
    if (p.phase != InstancePhase::backoff) {
      if (p.mariadb_server >= 0) {
        if (!mariadb_->running(p.mariadb_server)) on_exit(p, -1);
      } else if (p.child) {
        if (const auto status = p.child->wait_for_exit(0ms)) {
          p.child.reset();
          on_exit(p, *status);
        }
      }
    }
    switch (p.phase) {
      case InstancePhase::backoff:
        if (now >= p.deadline) {
          if (p.mariadb_server >= 0) {
            if (auto restarted = mariadb_->restart_server(p.mariadb_server); restarted.ok()) {
              p.phase = InstancePhase::ready;
              p.started = Clock::now();
            } else {
              on_exit(p, -1);
            }
          } else if (auto launched = launch(p); !launched.ok()) {
            progress(p.name, "restart failed: " + launched.error().message);
            p.deadline = now + p.backoff;
          }
        }
        break;
      case InstancePhase::starting:
        if (probe_ready(p)) {
          serve(p);
          if (p.after_restart && p.restarts > 0) p.after_restart();
        } else if (now >= p.deadline) {
          progress(p.name, "not ready after 60 s; killing it");
          p.child->stop(2s, SIGKILL);
          p.child.reset();
          on_exit(p, 128 + SIGKILL);
        }
        break;
      case InstancePhase::draining: {
        if (!have_stats && haproxy_) {
          if (auto stats = haproxy_->server_stats(); stats.ok()) {
            for (const auto& s : *stats) in_flight[s.backend + "/" + s.server] = s.current_sessions;
          }
          have_stats = true;
        }
        const auto it = in_flight.find(fmt::format("{}/srv{}", p.component, p.slot));
        const bool idle = !p.routed || (it != in_flight.end() && it->second == 0);
        if (idle || now >= p.deadline) {
          event({{"kind", "pod_signal"},
                 {"service", p.component},
                 {"instance", p.name},
                 {"signal", "SIGTERM"},
                 {"in_flight", it == in_flight.end() ? 0 : it->second},
                 {"drain_seconds", seconds_since(p.started)}});
          if (p.child) p.child->signal(SIGTERM);
          p.phase = InstancePhase::stopping;
          p.deadline = now + 20s;
        }
        break;
      }
      case InstancePhase::stopping:
        if (now >= p.deadline && p.child) p.child->signal(SIGKILL);
        break;
      default:
        break;
    }
  }
  processes_.erase(std::remove_if(processes_.begin(), processes_.end(),
                                  [](const auto& p) { return p->removed; }),
                   processes_.end());
  apply_overrides();
  manage_nodes();
  if (now - last_write_ >= 1s) {
    last_write_ = now;
    write_state();
    write_metrics();
  }
  write_scrape_targets();
}

void LocalPlatform::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  seeding_.reset();  // a seed still running when start-up failed
  write_state();
  // Instances first (HAProxy stops sending them requests), then the load balancer and
  // monitoring, then the servers they use.
  auto stop_where = [&](const std::function<bool(const Process&)>& which,
                        std::chrono::milliseconds grace) {
    for (auto& p : processes_) {
      if (which(*p) && p->child) {
        unserve(*p);
        p->child->signal(SIGTERM);
      }
    }
    for (auto& p : processes_) {
      if (which(*p) && p->child) {
        p->child->stop(grace);
        p->child.reset();
        p->phase = InstancePhase::stopped;
      }
    }
  };
  stop_where([](const Process& p) { return p.storefront; }, 15s);
  stop_where(
      [](const Process& p) {
        return p.component == "haproxy" || p.component == "prometheus" || p.component == "exporter";
      },
      10s);
  stop_where([](const Process&) { return true; }, 10s);
  if (mariadb_) mariadb_->stop();
  for (auto& p : processes_) p->phase = InstancePhase::stopped;
  cgroups_.remove_all();
  write_state();
}

}  // namespace crest::stack
