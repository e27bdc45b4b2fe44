#include "crest/stack/local_platform.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "crest/aws/dynamodb.hpp"
#include "crest/aws/sqs.hpp"
#include "crest/stack/dynalite_server.hpp"
#include "crest/store/dynamodb.hpp"
#include "crest/store/dynamodb_tables.hpp"
#include "crest/store/sqs.hpp"
#include "loopback_http.hpp"

namespace crest::stack {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kNamespace = "crest";

// Service -> the path prefixes HAProxy routes to it (docs/architecture.md's route table).
const std::map<std::string, std::vector<std::string>> kRoutes = {
    {"users", {"/api/users", "/api/login", "/api/logout", "/api/me"}},
    {"catalog", {"/api/categories", "/api/products"}},
    {"cart", {"/api/cart"}},
    {"orders", {"/api/checkout", "/api/orders"}},
};

// Debian packages of the servers, for "not found" errors.
const std::map<std::string, std::string> kPackages = {
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

std::string tail(const fs::path& path, std::size_t lines = 8) {
  const std::string text = read_file(path);
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

// GET path on 127.0.0.1:port; the status code, or 0 if there was no answer within `timeout`.
int http_status(std::uint16_t port, const std::string& path, std::chrono::milliseconds timeout) {
  auto response = loopback_get(port, path, timeout);
  return response.ok() ? response->status : 0;
}

ProcessSpec command(std::string program, std::vector<std::string> args,
                    std::string working_dir = "", std::map<std::string, std::string> env = {}) {
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

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

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

struct LocalPlatform::Node {
  std::string name;
  double allocatable = 0;
  bool ready = false;
  bool removed = false;
  Clock::time_point ready_at;
  Clock::time_point idle_since = Clock::now();
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
  Clock::time_point started = Clock::now();
  Clock::time_point deadline;
  std::chrono::milliseconds backoff{1000};
  std::uint64_t oom_kills_seen = 0;
  std::uint64_t oom_events = 0;
  std::string last_termination;
  bool removed = false;
  std::uint64_t start_ticks = 0;
  std::function<void()> after_restart;

  pid_t pid() const { return child ? child->pid() : -1; }
};

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
  using Step = Result<void> (LocalPlatform::*)();
  for (const Step step :
       {&LocalPlatform::start_databases, &LocalPlatform::start_support_servers,
        &LocalPlatform::create_queues, &LocalPlatform::seed, &LocalPlatform::start_haproxy,
        &LocalPlatform::start_storefront, &LocalPlatform::start_monitoring}) {
    if (auto done = (this->*step)(); !done.ok()) return done;
  }
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

// ---- storefront instances, nodes and scaling ----

LocalPlatform::Process& LocalPlatform::add_instance(const std::string& service) {
  const ServiceProfile& sp = *options_.profile.service(service);
  const int index = ++next_index_[service];
  const std::string name = fmt::format("{}-{}", service, index);
  const fs::path dir = options_.run_dir / "pods" / name;
  fs::create_directories(dir);
  ProcessSpec spec;
  spec.program = options_.storefront_binary;
  spec.args = {service, "--port", "0", "--port-file", (dir / "port").string()};
  std::ifstream args(options_.run_dir / "storefront.args");
  for (std::string line; std::getline(args, line);) {
    if (!line.empty()) spec.args.insert(spec.args.end(), {"--set", line});
  }
  spec.log_path = (options_.run_dir / "logs" / (name + ".log")).string();
  Process& p = add_process(service, name, spec, sp.limits, 0);
  p.storefront = true;
  p.port_file = (dir / "port").string();
  p.ready_path = "/readyz";
  p.cpu_request = sp.cpu_request;
  p.routed = kRoutes.contains(service);
  if (p.routed) {
    std::set<int> used;
    for (const auto& other : processes_) {
      if (other->component == service && other.get() != &p) used.insert(other->slot);
    }
    for (int slot = 1; slot <= options_.profile.haproxy_slots; ++slot) {
      if (!used.contains(slot)) {
        p.slot = slot;
        break;
      }
    }
  }
  p.phase = InstancePhase::pending;
  event({{"kind", "pod"}, {"service", service}, {"instance", name}, {"transition", "pending"}});
  return p;
}

void LocalPlatform::place_pending() {
  for (auto& owned : processes_) {
    Process& p = *owned;
    if (!p.storefront || p.phase != InstancePhase::pending) continue;
    Node* chosen = nullptr;
    for (auto& node : nodes_) {
      if (node->removed || !node->ready) continue;
      double used = 0;
      for (const auto& other : processes_) {
        if (other->node == node.get() && !other->removed) used += other->cpu_request;
      }
      if (used + p.cpu_request <= node->allocatable + 1e-9) {
        chosen = node.get();
        break;
      }
    }
    if (chosen == nullptr) continue;  // stays Pending; manage_nodes() may add a node
    p.node = chosen;
    p.group = chosen->name + "/" + p.name;
    if (auto launched = launch(p); !launched.ok()) {
      progress(p.name, "cannot start: " + launched.error().message);
      p.node = nullptr;
    }
  }
}

void LocalPlatform::manage_nodes() {
  const auto& profile = options_.profile;
  const auto now = Clock::now();
  int live = 0;
  bool provisioning = false;
  for (auto& node : nodes_) {
    if (node->removed) continue;
    ++live;
    if (!node->ready && now >= node->ready_at) {
      node->ready = true;
      event({{"kind", "node"},
             {"service", "node-pool"},
             {"node", node->name},
             {"transition", "ready"}});
    }
    provisioning |= !node->ready;
  }
  auto add_node = [&](std::chrono::milliseconds delay) {
    auto node = std::make_unique<Node>();
    node->name = fmt::format("node-{}", nodes_.size() + 1);
    node->allocatable = profile.node_cpu;
    node->ready_at = now + delay;
    node->ready = delay.count() == 0;
    (void)cgroups_.make_group(node->name, {profile.node_cpu, 0});
    event({{"kind", "node"},
           {"service", "node-pool"},
           {"node", node->name},
           {"transition", "requested"},
           {"allocatable_cpu", profile.node_cpu}});
    if (node->ready)
      event({{"kind", "node"},
             {"service", "node-pool"},
             {"node", node->name},
             {"transition", "ready"}});
    nodes_.push_back(std::move(node));
    ++live;
  };
  while (live < profile.nodes_min) add_node(0ms);
  place_pending();
  const bool pending = std::any_of(processes_.begin(), processes_.end(), [](const auto& p) {
    return p->storefront && p->phase == InstancePhase::pending;
  });
  // Like the Cluster Autoscaler: a pod that fits on no node asks for one more (one at a time).
  if (pending && !provisioning && live < profile.nodes_max) add_node(profile.node_provision_delay);
  // Idle nodes above the minimum go after a delay, like the Cluster Autoscaler's scale-down.
  for (auto& node : nodes_) {
    if (node->removed || !node->ready) continue;
    const bool empty = std::none_of(processes_.begin(), processes_.end(),
                                    [&](const auto& p) { return p->node == node.get(); });
    if (!empty) {
      node->idle_since = now;
    } else if (live > profile.nodes_min && now - node->idle_since >= profile.node_idle_removal) {
      node->removed = true;
      --live;
      cgroups_.remove_group(node->name);
      event({{"kind", "node"},
             {"service", "node-pool"},
             {"node", node->name},
             {"transition", "removed"}});
    }
  }
}

std::vector<InstanceView> LocalPlatform::instances(const std::string& service) const {
  std::vector<InstanceView> views;
  for (const auto& p : processes_) {
    if (p->component != service || p->removed) continue;
    InstanceView v;
    v.service = service;
    v.name = p->name;
    v.pid = p->pid();
    v.port = p->port;
    v.phase = p->phase;
    v.ready = p->phase == InstancePhase::ready && p->serving;
    v.cpu_request = p->cpu_request;
    v.restarts = p->restarts;
    v.node = p->node ? p->node->name : "";
    v.started = p->started;
    views.push_back(v);
  }
  return views;
}

int LocalPlatform::desired(const std::string& service) const {
  int n = 0;
  for (const auto& p : processes_) {
    if (p->component == service && !p->removed && p->phase != InstancePhase::draining &&
        p->phase != InstancePhase::stopping && p->phase != InstancePhase::stopped) {
      ++n;
    }
  }
  return n;
}

Result<void> LocalPlatform::scale(const std::string& service, int replicas,
                                  const std::string& reason) {
  const ServiceProfile* sp = options_.profile.service(service);
  if (sp == nullptr) return Error{ErrorKind::not_found, "no service " + service};
  const int limit = kRoutes.contains(service) ? options_.profile.haproxy_slots : 64;
  replicas = std::clamp(replicas, 0, limit);
  int current = desired(service);
  if (current == replicas) return {};
  event({{"kind", "scale"},
         {"service", service},
         {"from", current},
         {"to", replicas},
         {"reason", reason}});
  while (current < replicas) {
    add_instance(service);
    ++current;
  }
  while (current > replicas) {
    // The newest instance that is not yet leaving: pending ones first, then the youngest.
    Process* victim = nullptr;
    for (auto& p : processes_) {
      if (p->component != service || p->removed || p->phase == InstancePhase::draining ||
          p->phase == InstancePhase::stopping || p->phase == InstancePhase::stopped) {
        continue;
      }
      const bool pending = p->phase == InstancePhase::pending;
      const bool victim_pending = victim != nullptr && victim->phase == InstancePhase::pending;
      if (victim == nullptr || (pending && !victim_pending) ||
          (pending == victim_pending && p->started > victim->started)) {
        victim = p.get();
      }
    }
    if (victim == nullptr) break;
    if (victim->phase == InstancePhase::pending) {
      victim->removed = true;
      event({{"kind", "pod"},
             {"service", service},
             {"instance", victim->name},
             {"transition", "stopped"}});
    } else {
      // Out of HAProxy first (maint: sticky clients are redispatched), then wait for in-flight.
      unserve(*victim);
      victim->phase = InstancePhase::draining;
      victim->deadline = Clock::now() + 15s;
      event({{"kind", "pod"},
             {"service", service},
             {"instance", victim->name},
             {"transition", "draining"}});
    }
    --current;
  }
  return {};
}

int LocalPlatform::min_replicas(const std::string& service) const {
  const auto it = overrides_.find(service);
  if (it != overrides_.end() && it->second.min) return *it->second.min;
  const auto* sp = options_.profile.service(service);
  return sp ? sp->min_instances : 0;
}

int LocalPlatform::max_replicas(const std::string& service) const {
  const auto it = overrides_.find(service);
  if (it != overrides_.end() && it->second.max) return *it->second.max;
  const auto* sp = options_.profile.service(service);
  return sp ? sp->max_instances : 0;
}

bool LocalPlatform::autoscaled(const std::string& service) const {
  const auto* sp = options_.profile.service(service);
  const auto it = overrides_.find(service);
  const bool off = it != overrides_.end() && (it->second.autoscaling_off || it->second.replicas);
  return options_.profile.autoscaler && sp && sp->autoscale && !off;
}

ScaleOverride LocalPlatform::override_for(const std::string& service) const {
  const auto it = overrides_.find(service);
  return it == overrides_.end() ? ScaleOverride{} : it->second;
}

void LocalPlatform::apply_overrides() {
  const fs::path file = options_.run_dir / "scale.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(file));
  } catch (const nlohmann::json::exception&) {
    return;  // being written; next tick
  }
  for (const auto& [service, o] : j.items()) {
    if (options_.profile.service(service) == nullptr) continue;
    ScaleOverride next;
    if (o.contains("min")) next.min = o["min"].get<int>();
    if (o.contains("max")) next.max = o["max"].get<int>();
    if (o.contains("replicas")) next.replicas = o["replicas"].get<int>();
    next.autoscaling_off = o.value("off", false);
    auto& current = overrides_[service];
    const bool changed = current.min != next.min || current.max != next.max ||
                         current.replicas != next.replicas ||
                         current.autoscaling_off != next.autoscaling_off;
    current = next;
    if (changed) event({{"kind", "override"}, {"service", service}, {"override", o}});
    int want = desired(service);
    if (next.replicas) want = *next.replicas;
    if (next.min) want = std::max(want, *next.min);
    if (next.max) want = std::min(want, *next.max);
    if (want != desired(service)) (void)scale(service, want, "crest scale");
  }
}

// ---- start-up steps ----

Result<void> LocalPlatform::start_databases() {
  const auto& profile = options_.profile;
  progress("mariadb",
           fmt::format("starting a primary and {} replicas (GTID)", profile.mariadb_replicas));
  MariaDbClusterOptions options;
  options.replicas = profile.mariadb_replicas;
  options.ready_timeout = 60s;
  for (int i = 0; i <= profile.mariadb_replicas; ++i) {
    const std::string name = i == 0 ? "mariadb-primary" : fmt::format("mariadb-replica{}", i);
    (void)cgroups_.make_group(name,
                              {0, profile.mariadb_limits.memory_bytes});  // CPU limit once ready
  }
  options.cgroup_procs = [this](const std::string& server) {
    return cgroups_.procs_files("mariadb-" + server);
  };
  const auto began = Clock::now();
  auto cluster = MariaDbCluster::start(options_.run_dir / "mariadb", options);
  if (!cluster.ok()) return Error{cluster.error().kind, "MariaDB: " + cluster.error().message};
  mariadb_ = std::move(cluster).value();
  // The exporters' user: reads status and statement digests, nothing else.
  auto exporter =
      mariadb_->execute(0,
                        "CREATE USER IF NOT EXISTS 'exporter'@'127.0.0.1' IDENTIFIED BY 'exporter';"
                        "GRANT PROCESS, REPLICA MONITOR, SELECT ON *.* TO 'exporter'@'127.0.0.1';");
  if (!exporter.ok())
    return Error{exporter.error().kind, "MariaDB exporter user: " + exporter.error().message};
  for (int i = 0; i < mariadb_->server_count(); ++i) {
    const auto& server = mariadb_->server(i);
    Process& p = add_process("mariadb", "mariadb-" + server.name, ProcessSpec{},
                             profile.mariadb_limits, server.port);
    p.mariadb_server = i;
    p.phase = InstancePhase::ready;
    p.serving = true;
    p.spec.log_path = server.error_log.string();
    (void)cgroups_.set_limits(p.group, p.limits);
  }
  progress("mariadb",
           fmt::format("ready in {:.1f} s: primary 127.0.0.1:{}, replicas {}", seconds_since(began),
                       mariadb_->primary().port, mariadb_->replica_count()));
  return {};
}

Result<void> LocalPlatform::start_support_servers() {
  const auto& profile = options_.profile;
  auto start_server = [&](const std::string& component, ProcessSpec spec, CgroupLimits limits,
                          std::uint16_t port) -> Result<void> {
    Process& p = add_process(component, component, std::move(spec), limits, port);
    if (auto launched = launch(p); !launched.ok())
      return Error{launched.error().kind, component + ": " + launched.error().message};
    const auto deadline = Clock::now() + 20s;
    while (!probe_ready(p)) {
      if (const auto status = p.child->wait_for_exit(0ms)) {
        return Error{ErrorKind::unavailable,
                     fmt::format("{} {} during start-up; its log {}:\n{}", component,
                                 describe_status(*status), p.spec.log_path, tail(p.spec.log_path))};
      }
      if (Clock::now() >= deadline) {
        return Error{ErrorKind::timeout,
                     fmt::format("{} not ready on 127.0.0.1:{} after 20 s; its log {}:\n{}",
                                 component, port, p.spec.log_path, tail(p.spec.log_path))};
      }
      std::this_thread::sleep_for(20ms);
    }
    serve(p);
    progress(component, fmt::format("ready on 127.0.0.1:{}", port));
    return {};
  };
  auto port = [](Result<std::uint16_t> r) { return r.ok() ? *r : std::uint16_t{0}; };
  if (profile.redis) {
    const fs::path dir = options_.run_dir / "redis";
    fs::create_directories(dir);
    const auto redis_port = port(free_loopback_port());
    if (auto r = start_server("redis",
                              command("redis-server",
                                      {"--port", std::to_string(redis_port), "--bind", "127.0.0.1",
                                       "--save", "", "--appendonly", "no", "--dir", dir.string(),
                                       "--daemonize", "no", "--protected-mode", "yes"},
                                      dir.string()),
                              profile.redis_limits, redis_port);
        !r.ok()) {
      return r;
    }
  }
  auto cli = node_package_file(options_.repo_root, "dynalite", "cli.js");
  if (!cli.ok()) return cli.error();
  const auto dynalite_port = port(free_loopback_port());
  if (auto r = start_server(
          "dynalite",
          command("node",
                  {*cli, "--host", "127.0.0.1", "--port", std::to_string(dynalite_port),
                   "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"},
                  options_.repo_root),
          profile.dynalite_limits, dynalite_port);
      !r.ok()) {
    return r;
  }
  const std::string script =
      (fs::path(options_.repo_root) / "scripts" / "fauxqs-server.mjs").string();
  sqs_port_ = port(free_loopback_port());
  if (auto r = start_server(
          "sqs",
          command("node", {script, std::to_string(sqs_port_), "us-east-1"}, options_.repo_root),
          profile.sqs_limits, sqs_port_);
      !r.ok()) {
    return r;
  }
  // The SQS server keeps queues in memory: a restart needs them again.
  for (auto& p : processes_) {
    // In-memory servers: a restarted one needs its queues and tables again.
    if (p->component == "sqs" || p->component == "dynalite") {
      p->after_restart = [this] { (void)create_queues(); };
    }
  }
  return {};
}

Result<void> LocalPlatform::create_queues() {
  aws::SqsOptions options;
  options.endpoint = fmt::format("http://127.0.0.1:{}", sqs_port_);
  auto client = aws::SqsClient::create(options);
  if (!client.ok()) return Error{client.error().kind, "SQS client: " + client.error().message};
  store::QueueSetup setup;  // orders + orders-dlq, maxReceiveCount 5
  auto queues = store::ensure_queues(**client, setup);
  if (!queues.ok())
    return Error{queues.error().kind, "creating the SQS queues: " + queues.error().message};
  queue_url_ = queues->url;
  dead_letter_url_ = queues->dead_letter_url;
  // DynamoDB tables from deploy/dynamodb/tables.json (compiled into libs/store).
  std::uint16_t dynalite_port = 0;
  for (const auto& p : processes_) {
    if (p->component == "dynalite") dynalite_port = p->port;
  }
  aws::DynamoDbOptions dynamo_options;
  dynamo_options.endpoint = fmt::format("http://127.0.0.1:{}", dynalite_port);
  auto dynamo = aws::DynamoDbClient::create(dynamo_options);
  if (!dynamo.ok()) return Error{dynamo.error().kind, "DynamoDB client: " + dynamo.error().message};
  if (auto tables = store::ensure_tables(**dynamo); !tables.ok()) {
    return Error{tables.error().kind, "creating the DynamoDB tables: " + tables.error().message};
  }
  std::string names;
  for (const auto& def : store::dynamodb_table_definitions())
    names += (names.empty() ? "" : ", ") + def.local_name;
  progress("dynalite",
           fmt::format("tables {} (from {})", names, store::dynamodb_table_definitions_source()));
  progress("sqs", fmt::format("queue {} with dead-letter queue {} (maxReceiveCount {})", setup.name,
                              setup.dead_letter_name, setup.max_receive_count));
  return {};
}

Result<void> LocalPlatform::seed() {
  const auto& profile = options_.profile;
  std::uint16_t redis_port = 0, dynalite_port = 0;
  for (const auto& p : processes_) {
    if (p->component == "redis") redis_port = p->port;
    if (p->component == "dynalite") dynalite_port = p->port;
  }
  const auto& db = mariadb_->options();
  std::vector<std::string> settings = {
      "db.backend=mysql",
      fmt::format("db.primary_url=mysql://{}:{}@127.0.0.1:{}/{}", db.user, db.password,
                  mariadb_->primary().port, db.database),
      "sessions.backend=dynamodb",
      "carts.backend=dynamodb",
      fmt::format("dynamodb.endpoint=http://127.0.0.1:{}", dynalite_port),
      "queue.backend=sqs",
      fmt::format("sqs.endpoint=http://127.0.0.1:{}", sqs_port_),
      "sqs.orders_queue_url=" + queue_url_,
      "sqs.dead_letter_queue_url=" + dead_letter_url_,
  };
  if (profile.storefront.at("reads") == "replicas") {
    std::string urls;
    for (int i = 0; i < mariadb_->replica_count(); ++i) {
      urls += fmt::format("{}mysql://{}:{}@127.0.0.1:{}/{}", i ? "," : "", db.user, db.password,
                          mariadb_->replica(i).port, db.database);
    }
    settings.push_back("db.replica_urls=" + urls);
  }
  if (redis_port != 0)
    settings.push_back(fmt::format("redis.url=redis://127.0.0.1:{}", redis_port));
  for (const auto& [key, value] : profile.storefront) settings.push_back(key + "=" + value);
  {
    std::ofstream out(options_.run_dir / "storefront.args");
    for (const auto& s : settings) out << s << '\n';
    out << "db.apply_schema=false\ndynamodb.create_tables=false\n";
  }
  // One run of `storefront seed`: applies the schema, creates the DynamoDB tables, writes the data.
  progress("seed", fmt::format("schema, tables and {} products, {} users", profile.seed_products,
                               profile.seed_users));
  const auto began = Clock::now();
  ProcessSpec spec;
  spec.program = options_.storefront_binary;
  spec.args = {"seed",
               "--categories",
               std::to_string(profile.seed_categories),
               "--products",
               std::to_string(profile.seed_products),
               "--users",
               std::to_string(profile.seed_users),
               "--users-csv",
               (options_.run_dir / "users.csv").string()};
  for (const auto& s : settings) spec.args.insert(spec.args.end(), {"--set", s});
  spec.args.insert(spec.args.end(),
                   {"--set", "db.apply_schema=true", "--set", "dynamodb.create_tables=true"});
  spec.log_path = (options_.run_dir / "logs" / "seed.log").string();
  auto child = ChildProcess::spawn(spec);
  if (!child.ok()) return child.error();
  const auto status = child->wait_for_exit(120s);
  if (status.value_or(-1) != 0) {
    child->stop(1s, SIGKILL);
    return Error{ErrorKind::internal, fmt::format("seeding failed ({}); its log {}:\n{}",
                                                  status ? describe_status(*status) : "timed out",
                                                  spec.log_path, tail(spec.log_path))};
  }
  if (auto replicated = mariadb_->wait_for_replicas(30s); !replicated.ok())
    return replicated.error();
  progress("seed", fmt::format("done in {:.1f} s (users in {})", seconds_since(began),
                               (options_.run_dir / "users.csv").string()));
  return {};
}

Result<void> LocalPlatform::start_haproxy() {
  const auto& profile = options_.profile;
  HaproxyConfig config;
  haproxy_port_ = profile.haproxy_port;
  if (haproxy_port_ == 0) {
    auto port = free_loopback_port();
    if (!port.ok()) return port.error();
    haproxy_port_ = *port;
  }
  auto metrics_port = free_loopback_port();
  if (!metrics_port.ok()) return metrics_port.error();
  config.port = haproxy_port_;
  config.metrics_port = *metrics_port;
  config.socket_path = (options_.run_dir / "haproxy.sock").string();
  for (const auto& service : storefront_services()) {
    const auto route = kRoutes.find(service);
    if (route == kRoutes.end()) continue;
    config.backends.push_back({service, route->second, profile.haproxy_slots});
  }
  const fs::path file = options_.run_dir / "haproxy.cfg";
  write_atomically(file, render_haproxy_config(config));
  Process& p =
      add_process("haproxy", "haproxy", command("haproxy", {"-W", "-db", "-f", file.string()}),
                  profile.haproxy_limits, haproxy_port_);
  p.after_restart = [this] {  // a new HAProxy has empty slots: put the serving instances back
    for (auto& q : processes_) {
      if (q->routed && q->serving)
        (void)haproxy_->enable_server(q->component, fmt::format("srv{}", q->slot), q->port);
    }
  };
  if (auto launched = launch(p); !launched.ok())
    return Error{launched.error().kind, "haproxy: " + launched.error().message};
  const auto deadline = Clock::now() + 10s;
  while (!probe_ready(p) || !fs::exists(config.socket_path)) {
    if (const auto status = p.child->wait_for_exit(0ms)) {
      return Error{ErrorKind::unavailable,
                   fmt::format("haproxy {}; its log {}:\n{}", describe_status(*status),
                               p.spec.log_path, tail(p.spec.log_path))};
    }
    if (Clock::now() >= deadline)
      return Error{ErrorKind::timeout, "haproxy not ready after 10 s; log " + p.spec.log_path};
    std::this_thread::sleep_for(20ms);
  }
  serve(p);
  haproxy_.emplace(config.socket_path);
  // The exporter's port, remembered for the scrape configuration.
  Process& metrics = add_process("haproxy-metrics", "haproxy-metrics", ProcessSpec{},
                                 CgroupLimits{}, config.metrics_port);
  metrics.phase =
      InstancePhase::stopped;  // a port of the haproxy process, not a process of its own
  progress("haproxy", fmt::format("shop on {}, exporter on 127.0.0.1:{}/metrics, runtime API {}",
                                  shop_url(), config.metrics_port, config.socket_path));
  return {};
}

Result<void> LocalPlatform::start_storefront() {
  const auto began = Clock::now();
  for (const auto& sp : options_.profile.services) {
    for (int i = 0; i < sp.instances; ++i) add_instance(sp.name);
  }
  manage_nodes();
  int wanted = 0;
  for (const auto& sp : options_.profile.services) wanted += sp.instances;
  progress("storefront", fmt::format("starting {} instances on {} node(s)", wanted, nodes_.size()));
  const auto deadline = Clock::now() + 90s;
  for (;;) {
    int ready = 0;
    for (auto& p : processes_) {
      if (!p->storefront) continue;
      if (p->phase == InstancePhase::starting && p->child) {
        if (const auto status = p->child->wait_for_exit(0ms)) {
          return Error{
              ErrorKind::unavailable,
              fmt::format("{} {} during start-up; its log {}:\n{}", p->name,
                          describe_status(*status), p->spec.log_path, tail(p->spec.log_path))};
        }
        if (probe_ready(*p)) {
          serve(*p);
          progress(
              p->name,
              fmt::format("ready on 127.0.0.1:{}{}", p->port,
                          p->routed ? fmt::format(" (HAProxy {}/srv{})",
                                                  p->name.substr(0, p->name.find('-')), p->slot)
                                    : ""));
        }
      }
      if (p->phase == InstancePhase::ready) ++ready;
    }
    if (ready == wanted) break;
    if (Clock::now() >= deadline)
      return Error{
          ErrorKind::timeout,
          fmt::format("only {} of {} storefront instances ready after 90 s", ready, wanted)};
    manage_nodes();
    std::this_thread::sleep_for(20ms);
  }
  progress("storefront",
           fmt::format("{} instances ready in {:.1f} s", wanted, seconds_since(began)));
  return {};
}

Result<void> LocalPlatform::start_monitoring() {
  const auto& profile = options_.profile;
  const fs::path dir = options_.run_dir / "prometheus";
  fs::create_directories(dir / "targets");
  fs::create_directories(dir / "rules");
  fs::create_directories(dir / "textfile");
  auto port = [] {
    auto p = free_loopback_port();
    return p.ok() ? *p : std::uint16_t{0};
  };
  struct Target {
    std::string job;
    std::uint16_t port;
    std::map<std::string, std::string> labels;
  };
  std::vector<Target> targets;
  auto start_exporter = [&](const std::string& name, ProcessSpec spec, std::uint16_t p,
                            std::string job,
                            std::map<std::string, std::string> labels) -> Result<void> {
    Process& proc = add_process("exporter", name, std::move(spec), {0.1, 128LL << 20}, p);
    if (auto launched = launch(proc); !launched.ok())
      return Error{launched.error().kind, name + ": " + launched.error().message};
    targets.push_back({std::move(job), p, std::move(labels)});
    return {};
  };
  const auto node_port = port();
  if (auto r =
          start_exporter("node-exporter",
                         command("prometheus-node-exporter",
                                 {fmt::format("--web.listen-address=127.0.0.1:{}", node_port),
                                  "--collector.textfile.directory=" + (dir / "textfile").string()}),
                         node_port, "node", {});
      !r.ok()) {
    return r;
  }
  for (int i = 0; i < mariadb_->server_count(); ++i) {
    const auto& server = mariadb_->server(i);
    const auto p = port();
    ProcessSpec spec =
        command("prometheus-mysqld-exporter",
                {fmt::format("--web.listen-address=127.0.0.1:{}", p),
                 "--collect.perf_schema.eventsstatements", "--collect.slave_status",
                 "--collect.info_schema.processlist"},
                "",
                {{"DATA_SOURCE_NAME", fmt::format("exporter:exporter@tcp(127.0.0.1:{})/{}",
                                                  server.port, mariadb_->options().database)}});
    if (auto r = start_exporter("mysqld-exporter-" + server.name, spec, p, "mysqld",
                                {{"db_server", server.name}});
        !r.ok())
      return r;
  }
  for (const auto& proc : processes_) {
    if (proc->component == "redis") {
      const auto p = port();
      if (auto r =
              start_exporter("redis-exporter",
                             command("prometheus-redis-exporter",
                                     {fmt::format("--redis.addr=redis://127.0.0.1:{}", proc->port),
                                      fmt::format("--web.listen-address=127.0.0.1:{}", p)}),
                             p, "redis", {});
          !r.ok()) {
        return r;
      }
      break;
    }
  }
  for (const auto& proc : processes_) {
    if (proc->component == "haproxy-metrics") targets.push_back({"haproxy", proc->port, {}});
  }
  // Recording and alert rules in plain Prometheus form, where the repository has them.
  int rule_files = 0;
  for (const char* rules_dir : {"deploy/prometheus/rules", "deploy/k8s/monitoring/rules"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(fs::path(options_.repo_root) / rules_dir, ec)) {
      if (entry.path().extension() == ".yml" || entry.path().extension() == ".yaml") {
        fs::copy_file(entry.path(), dir / "rules" / entry.path().filename(),
                      fs::copy_options::overwrite_existing, ec);
        ++rule_files;
      }
    }
  }
  prometheus_port_ = port();
  const double interval = std::chrono::duration<double>(profile.scrape_interval).count();
  std::string config = fmt::format(R"(# Written by crest up.
global:
  scrape_interval: {0}ms
  scrape_timeout: {1}ms
  evaluation_interval: {0}ms
rule_files:
  - {2}/rules/*.yml
  - {2}/rules/*.yaml
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:{3}"]}}]
  - job_name: storefront
    file_sd_configs: [{{files: ["{2}/targets/storefront.json"], refresh_interval: 1s}}]
  - job_name: crest-load
    file_sd_configs: [{{files: ["{2}/targets/load.json"], refresh_interval: 1s}}]
)",
                                   profile.scrape_interval.count(),
                                   std::min<long>(profile.scrape_interval.count(), 10'000) * 9 / 10,
                                   dir.string(), prometheus_port_);
  std::map<std::string, std::vector<const Target*>> by_job;
  for (const auto& t : targets) by_job[t.job].push_back(&t);
  for (const auto& [job, list] : by_job) {
    config += fmt::format("  - job_name: {}\n    honor_labels: true\n    static_configs:\n", job);
    for (const auto* t : list) {
      std::string labels = "namespace: " + std::string(kNamespace);
      for (const auto& [k, v] : t->labels) labels += fmt::format(", {}: {}", k, v);
      config +=
          fmt::format("      - {{targets: [\"127.0.0.1:{}\"], labels: {{{}}}}}\n", t->port, labels);
    }
  }
  write_atomically(dir / "prometheus.yml", config);
  if (!fs::exists(dir / "targets" / "load.json"))
    write_atomically(dir / "targets" / "load.json", "[]\n");
  last_targets_.clear();
  write_scrape_targets();
  write_metrics();
  Process& prom = add_process(
      "prometheus", "prometheus",
      command("prometheus", {"--config.file=" + (dir / "prometheus.yml").string(),
                             "--storage.tsdb.path=" + (dir / "data").string(),
                             fmt::format("--web.listen-address=127.0.0.1:{}", prometheus_port_),
                             "--storage.tsdb.retention.time=6h", "--web.enable-lifecycle"}),
      profile.prometheus_limits, prometheus_port_);
  prom.ready_path = "/-/ready";
  if (auto launched = launch(prom); !launched.ok())
    return Error{launched.error().kind, "prometheus: " + launched.error().message};
  const auto deadline = Clock::now() + 20s;
  for (;;) {
    bool all = true;
    for (auto& p : processes_) {
      if (p->phase != InstancePhase::starting || p->storefront) continue;
      if (p->child) {
        if (const auto status = p->child->wait_for_exit(0ms)) {
          return Error{
              ErrorKind::unavailable,
              fmt::format("{} {} during start-up; its log {}:\n{}", p->name,
                          describe_status(*status), p->spec.log_path, tail(p->spec.log_path))};
        }
      }
      if (probe_ready(*p)) {
        serve(*p);
      } else {
        all = false;
      }
    }
    if (all) break;
    if (Clock::now() >= deadline)
      return Error{ErrorKind::timeout, "exporters or Prometheus not ready after 20 s (logs in " +
                                           (options_.run_dir / "logs").string() + ")"};
    std::this_thread::sleep_for(20ms);
  }
  progress("prometheus",
           fmt::format("{} (scrape every {}s; {} exporters; {} rule files{})", prometheus_url(),
                       interval, targets.size(), rule_files,
                       rule_files == 0 ? ": none found in deploy/prometheus/rules" : ""));
  return {};
}

void LocalPlatform::write_scrape_targets() {
  nlohmann::json targets = nlohmann::json::array();
  for (const auto& p : processes_) {
    if (!p->storefront || p->port == 0 || p->phase == InstancePhase::stopped) continue;
    targets.push_back({{"targets", {fmt::format("127.0.0.1:{}", p->port)}},
                       {"labels",
                        {{"namespace", kNamespace},
                         {"pod", p->name},
                         {"service", p->component},
                         {"node", p->node ? p->node->name : ""}}}});
  }
  const std::string text = targets.dump(1);
  if (text == last_targets_) return;
  last_targets_ = text;
  const fs::path dir = options_.run_dir / "prometheus" / "targets";
  std::error_code ec;
  fs::create_directories(dir, ec);
  write_atomically(dir / "storefront.json", text);
}

void LocalPlatform::write_metrics() {
  // Published through node_exporter's textfile collector: cAdvisor's and kube-state-metrics'
  // names and labels, so dashboards read the same series as on EKS.
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  };
  auto pod_labels = [](const Process& p) {
    return fmt::format("namespace=\"{}\",pod=\"{}\",container=\"{}\"", kNamespace, p.name,
                       p.component);
  };
  std::vector<std::pair<const Process*, CgroupUsage>> usages;
  for (const auto& p : processes_) {
    if (p->phase == InstancePhase::pending || p->component == "haproxy-metrics") continue;
    if (auto u = cgroups_.usage(p->group)) usages.emplace_back(p.get(), *u);
  }
  family("container_cpu_usage_seconds_total", "counter",
         "CPU time used by the container's cgroup.");
  for (const auto& [p, u] : usages)
    out += fmt::format("container_cpu_usage_seconds_total{{{}}} {:.6f}\n", pod_labels(*p),
                       u.cpu_seconds);
  family("container_cpu_cfs_periods_total", "counter", "Enforcement periods elapsed.");
  for (const auto& [p, u] : usages)
    out += fmt::format("container_cpu_cfs_periods_total{{{}}} {}\n", pod_labels(*p), u.periods);
  family("container_cpu_cfs_throttled_periods_total", "counter",
         "Periods in which the container was throttled.");
  for (const auto& [p, u] : usages)
    out += fmt::format("container_cpu_cfs_throttled_periods_total{{{}}} {}\n", pod_labels(*p),
                       u.throttled_periods);
  family("container_cpu_cfs_throttled_seconds_total", "counter",
         "Time the container was throttled.");
  for (const auto& [p, u] : usages)
    out += fmt::format("container_cpu_cfs_throttled_seconds_total{{{}}} {:.6f}\n", pod_labels(*p),
                       u.throttled_seconds);
  family("container_memory_working_set_bytes", "gauge", "Memory usage minus inactive file pages.");
  for (const auto& [p, u] : usages)
    out += fmt::format("container_memory_working_set_bytes{{{}}} {}\n", pod_labels(*p),
                       u.working_set_bytes);
  family("container_memory_usage_bytes", "gauge", "Memory usage of the cgroup.");
  for (const auto& [p, u] : usages)
    out += fmt::format("container_memory_usage_bytes{{{}}} {}\n", pod_labels(*p),
                       u.memory_usage_bytes);
  family("container_spec_cpu_quota", "gauge", "CPU quota in microseconds per 100 ms period.");
  for (const auto& [p, u] : usages)
    out += fmt::format("container_spec_cpu_quota{{{}}} {:.0f}\n", pod_labels(*p),
                       p->limits.cpu_cores * 100000);
  family("container_spec_memory_limit_bytes", "gauge", "Memory limit.");
  for (const auto& [p, u] : usages)
    out += fmt::format("container_spec_memory_limit_bytes{{{}}} {}\n", pod_labels(*p),
                       p->limits.memory_bytes);
  family("container_oom_events_total", "counter", "OOM kills of the container.");
  for (const auto& p : processes_) {
    if (p->phase != InstancePhase::pending && p->component != "haproxy-metrics")
      out += fmt::format("container_oom_events_total{{{}}} {}\n", pod_labels(*p), p->oom_events);
  }
  family("kube_pod_container_status_restarts_total", "counter",
         "Restarts of the container (crest's supervisor).");
  for (const auto& p : processes_) {
    if (p->component != "haproxy-metrics")
      out += fmt::format("kube_pod_container_status_restarts_total{{{}}} {}\n", pod_labels(*p),
                         p->restarts);
  }
  family("kube_pod_status_phase", "gauge", "Pod phase (Pending, Running).");
  for (const auto& p : processes_) {
    if (!p->storefront) continue;
    const bool pending = p->phase == InstancePhase::pending;
    out +=
        fmt::format("kube_pod_status_phase{{namespace=\"{}\",pod=\"{}\",phase=\"Pending\"}} {}\n",
                    kNamespace, p->name, pending ? 1 : 0);
    out +=
        fmt::format("kube_pod_status_phase{{namespace=\"{}\",pod=\"{}\",phase=\"Running\"}} {}\n",
                    kNamespace, p->name, pending ? 0 : 1);
  }
  family("kube_pod_info", "gauge", "Pod placement.");
  for (const auto& p : processes_) {
    if (p->storefront) {
      out += fmt::format(
          "kube_pod_info{{namespace=\"{}\",pod=\"{}\",node=\"{}\",created_by_name=\"{}\"}} 1\n",
          kNamespace, p->name, p->node ? p->node->name : "", p->component);
    }
  }
  family("kube_pod_container_resource_requests", "gauge",
         "CPU requested by the container, in cores.");
  for (const auto& p : processes_) {
    if (p->storefront) {
      out += fmt::format(
          "kube_pod_container_resource_requests{{{},resource=\"cpu\",unit=\"core\"}} {}\n",
          pod_labels(*p), p->cpu_request);
    }
  }
  family("kube_deployment_spec_replicas", "gauge", "Instances wanted.");
  for (const auto& sp : options_.profile.services) {
    out += fmt::format("kube_deployment_spec_replicas{{namespace=\"{}\",deployment=\"{}\"}} {}\n",
                       kNamespace, sp.name, desired(sp.name));
  }
  family("kube_deployment_status_replicas_available", "gauge", "Instances serving.");
  for (const auto& sp : options_.profile.services) {
    int ready = 0;
    for (const auto& v : instances(sp.name)) ready += v.ready ? 1 : 0;
    out += fmt::format(
        "kube_deployment_status_replicas_available{{namespace=\"{}\",deployment=\"{}\"}} {}\n",
        kNamespace, sp.name, ready);
  }
  family("kube_node_info", "gauge",
         "Nodes of the local node pool (a capacity model: cgroups with a node's CPU).");
  family("kube_node_status_allocatable", "gauge", "Allocatable CPU of the node, in cores.");
  for (const auto& node : nodes_) {
    if (node->removed || !node->ready) continue;
    out += fmt::format("kube_node_info{{node=\"{}\"}} 1\n", node->name);
    out += fmt::format(
        "kube_node_status_allocatable{{node=\"{}\",resource=\"cpu\",unit=\"core\"}} {}\n",
        node->name, node->allocatable);
  }
  family("crest_stack_nodes", "gauge", "Nodes of the local pool by state.");
  int ready_nodes = 0, provisioning = 0;
  for (const auto& node : nodes_) {
    if (!node->removed) (node->ready ? ready_nodes : provisioning)++;
  }
  out += fmt::format(
      "crest_stack_nodes{{state=\"ready\"}} {}\ncrest_stack_nodes{{state=\"provisioning\"}} {}\n",
      ready_nodes, provisioning);
  family("crest_stack_replicas", "gauge", "Instances per service by state.");
  for (const auto& sp : options_.profile.services) {
    std::map<std::string, int> counts = {
        {"pending", 0}, {"starting", 0}, {"ready", 0}, {"draining", 0}};
    for (const auto& v : instances(sp.name)) {
      const std::string phase = to_string(v.phase);
      if (counts.contains(phase)) ++counts[phase];
    }
    for (const auto& [state, n] : counts)
      out += fmt::format("crest_stack_replicas{{service=\"{}\",state=\"{}\"}} {}\n", sp.name, state,
                         n);
  }
  family("crest_stack_cgroups_enabled", "gauge", "1 when components run under cgroup limits.");
  out += fmt::format("crest_stack_cgroups_enabled {}\n", cgroups_.available() ? 1 : 0);
  out += extra_metrics_;
  const fs::path dir = options_.run_dir / "prometheus" / "textfile";
  std::error_code ec;
  fs::create_directories(dir, ec);
  write_atomically(dir / "crest_stack.prom", out);
}

void LocalPlatform::write_state() {
  nlohmann::json components = nlohmann::json::array();
  std::vector<std::string> order;
  for (const auto& p : processes_) {
    if (p->component == "haproxy-metrics") continue;
    if (std::find(order.begin(), order.end(), p->component) == order.end())
      order.push_back(p->component);
  }
  for (const auto& component : order) {
    nlohmann::json list = nlohmann::json::array();
    int ready = 0, desired_count = 0;
    for (const auto& p : processes_) {
      if (p->component != component) continue;
      const pid_t pid = p->mariadb_server >= 0 ? mariadb_->pid(p->mariadb_server) : p->pid();
      const bool is_ready = p->phase == InstancePhase::ready;
      ready += is_ready ? 1 : 0;
      if (p->phase != InstancePhase::draining && p->phase != InstancePhase::stopping)
        ++desired_count;
      list.push_back({{"name", p->name},
                      {"pid", pid},
                      {"start_ticks", process_start_ticks(pid).value_or(0)},
                      {"port", p->port},
                      {"phase", to_string(p->phase)},
                      {"node", p->node ? p->node->name : ""},
                      {"uptime_seconds", std::lround(seconds_since(p->started))},
                      {"restarts", p->restarts},
                      {"oom_kills", p->oom_events},
                      {"last_termination", p->last_termination},
                      {"cpu_limit", p->limits.cpu_cores},
                      {"memory_limit_bytes", p->limits.memory_bytes},
                      {"log", p->spec.log_path}});
    }
    components.push_back({{"component", component},
                          {"ready", ready},
                          {"desired", desired_count},
                          {"instances", list}});
  }
  nlohmann::json nodes = nlohmann::json::array();
  for (const auto& node : nodes_) {
    if (!node->removed)
      nodes.push_back(
          {{"name", node->name}, {"ready", node->ready}, {"allocatable_cpu", node->allocatable}});
  }
  const nlohmann::json state = {
      {"supervisor_pid", ::getpid()},
      {"supervisor_start_ticks", process_start_ticks(::getpid()).value_or(0)},
      {"profile", options_.profile.name},
      {"profile_file", options_.profile.source},
      {"started_at", iso_time(started_wall_)},
      {"startup_seconds", std::chrono::duration<double>(startup_time_).count()},
      {"shop_url", shop_url()},
      {"prometheus_url", prometheus_url()},
      {"haproxy_socket", (options_.run_dir / "haproxy.sock").string()},
      {"users_csv", (options_.run_dir / "users.csv").string()},
      {"cgroups", cgroups_.available() ? "enabled" : "disabled: " + cgroups_.reason()},
      {"autoscaler", options_.profile.autoscaler},
      {"stopping", stopping_},
      {"nodes", nodes},
      {"components", components},
  };
  write_atomically(options_.run_dir / "state.json", state.dump(1));
}

void LocalPlatform::shutdown() {
  if (stopping_) return;
  stopping_ = true;
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
