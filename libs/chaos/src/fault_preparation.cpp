// Faults on processes and dependencies: kill, freeze, helpers in an instance's cgroups, the
// Redis stall cycle, poison messages, the fault proxy, scale.json.
#include "fault_preparation.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "crest/aws/sqs.hpp"
#include "crest/chaos/fault_proxy.hpp"

namespace crest::chaos::detail {

namespace {
Result<StackProcess> storefront_instance(Context& c);
Result<Applied> freeze(const std::vector<StackProcess>& targets, const std::string& name);
}  // namespace

bool is_service(const std::string& name) {
  for (const char* s : {"users", "catalog", "cart", "orders", "worker"}) {
    if (name == s) return true;
  }
  return false;
}

// A live process named `target` (instance or component name), or the first ready instance of the
// component `target`.
Result<StackProcess> find_process(const Context& c, const std::string& target) {
  const StackProcess* first = nullptr;
  for (const auto& p : c.processes) {
    if (p.pid <= 0 || !same_process_alive(p.pid, p.start_ticks)) continue;
    if (p.name == target) return p;
    if (p.component == target && first == nullptr && (p.phase == "ready" || p.phase.empty()))
      first = &p;
  }
  if (first != nullptr) return *first;
  std::string names;
  for (const auto& p : c.processes) {
    if (p.pid > 0) names += (names.empty() ? "" : ", ") + p.name;
  }
  return Error{ErrorKind::not_found,
               fmt::format("no running process '{}' in the stack (running: {})", target, names)};
}

std::vector<StackProcess> component_processes(const Context& c, const std::string& component) {
  std::vector<StackProcess> out;
  for (const auto& p : c.processes) {
    if (p.component == component && p.pid > 0 && same_process_alive(p.pid, p.start_ticks))
      out.push_back(p);
  }
  return out;
}

Result<int> int_parameter(const Context& c, const std::string& key, int low, int high) {
  const std::string& text = c.parameters.at(key);
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || value < low || value > high) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("{}={}: expected a whole number from {} to {}", key, text, low, high)};
  }
  return static_cast<int>(value);
}

Result<double> number_parameter(const Context& c, const std::string& key, double low, double high) {
  const std::string& text = c.parameters.at(key);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value >= low && value <= high)) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("{}={}: expected a number from {} to {}", key, text, low, high)};
  }
  return value;
}

fs::path helper_pid_file(const Context& c) {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return c.run_dir / "chaos" /
         fmt::format("{}-{}-{}.pids", c.spec.fault,
                     std::chrono::duration_cast<std::chrono::milliseconds>(now).count(),
                     ::getpid());
}

Result<void> record_helper(const fs::path& pid_file, pid_t pid) {
  return append_synced(pid_file, process_ref(pid).dump() + "\n");
}

void sleep_ms(long ms) {
  timespec t{ms / 1000, (ms % 1000) * 1'000'000};
  while (::nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

namespace {

Result<Applied> freeze(const std::vector<StackProcess>& targets, const std::string& name) {
  Applied a;
  a.target = name;
  json refs = json::array();
  for (const auto& p : targets) refs.push_back({{"pid", p.pid}, {"start_ticks", p.start_ticks}});
  a.undo["resume"] = refs;
  a.parameters["processes"] = refs;
  a.apply = [refs]() -> Result<void> {
    for (const auto& r : refs) {
      if (!signal_recorded(r, SIGSTOP))
        return Error{ErrorKind::unavailable, fmt::format("process {} is gone", r.dump())};
    }
    return {};
  };
  return a;
}

}  // namespace

Result<Applied> prepare_freeze_component(Context& c, const std::string& component) {
  auto targets = component_processes(c, component);
  if (targets.empty())
    return Error{ErrorKind::unavailable, "the stack runs no " + component + " process"};
  return freeze(targets, component);
}

namespace {
Result<StackProcess> storefront_instance(Context& c) {
  return storefront_instance(c, c.spec.target.empty() ? "catalog" : c.spec.target);
}
}  // namespace

Result<StackProcess> storefront_instance(const Context& c, const std::string& target) {
  auto p = find_process(c, target);
  if (!p.ok()) return p.error();
  if (!is_service(p->component))
    return Error{
        ErrorKind::invalid_argument,
        fmt::format("target {} is not a storefront instance: {}", target, kInstanceTargets)};
  return p;
}

Result<Applied> prepare_instance_kill(Context& c) {
  auto p = storefront_instance(c);
  if (!p.ok()) return p.error();
  Applied a;
  a.target = p->name;
  a.parameters["pid"] = p->pid;
  const json ref = {{"pid", p->pid}, {"start_ticks", p->start_ticks}};
  // Nothing to undo: the supervisor restarts it, as a kubelet would.
  a.apply = [ref]() -> Result<void> {
    if (!signal_recorded(ref, SIGKILL))
      return Error{ErrorKind::unavailable, "the instance exited before the signal"};
    return {};
  };
  return a;
}

// Helpers forked into the target's cgroups, their pids in a file named by the undo record.
Result<Applied> prepare_helpers(Context& c, const StackProcess& target,
                                const std::string& controller, int count,
                                std::function<void()> body) {
  Applied a;
  a.target = target.name;
  const auto procs = cgroup_procs_files(target.pid, controller);
  std::vector<std::string> files = procs;
  if (controller == "cpu") {  // accounted where cAdvisor's series read it, too
    for (const auto& f : cgroup_procs_files(target.pid, "cpuacct")) {
      if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
    }
  }
  a.parameters["cgroups"] = files;
  const fs::path pid_file = helper_pid_file(c);
  a.undo["pid_file"] = pid_file.string();
  a.apply = [files, pid_file, count, body = std::move(body)]() -> Result<void> {
    if (files.empty())
      return Error{ErrorKind::unavailable,
                   "the target has no cgroup of its own (crest up without cgroups)"};
    for (int i = 0; i < count; ++i) {
      auto pid = spawn_detached(files, body);
      if (!pid.ok()) return pid.error();
      if (auto r = record_helper(pid_file, *pid); !r.ok()) {
        ::kill(*pid, SIGKILL);
        return r;
      }
    }
    return {};
  };
  return a;
}

Result<Applied> prepare_cpu_hog(Context& c) {
  auto p = storefront_instance(c);
  if (!p.ok()) return p.error();
  auto workers = int_parameter(c, "workers", 1, 16);
  if (!workers.ok()) return workers.error();
  auto a = prepare_helpers(c, *p, "cpu", *workers, [] {
    for (std::uint64_t spin = 0;; ++spin) {
      asm volatile("" : : "r"(spin));  // keeps the loop from being optimised away
    }
  });
  if (a.ok()) a->parameters["workers"] = *workers;
  return a;
}

Result<Applied> prepare_memory_pressure(Context& c) {
  auto p = storefront_instance(c);
  if (!p.ok()) return p.error();
  auto rate = int_parameter(c, "rate_mib_per_s", 1, 4096);
  if (!rate.ok()) return rate.error();
  const long chunk = 1L << 20;
  const long interval_ms = std::max(1L, 1000L / *rate);
  auto a = prepare_helpers(c, *p, "memory", 1, [chunk, interval_ms] {
    // Allocates and touches 1 MiB at a time until the group's limit makes the OOM killer act.
    for (;;) {
      void* block = ::mmap(nullptr, static_cast<std::size_t>(chunk), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (block != MAP_FAILED) std::memset(block, 0x5a, static_cast<std::size_t>(chunk));
      sleep_ms(interval_ms);
    }
  });
  if (a.ok()) a->parameters["rate_mib_per_s"] = *rate;
  return a;
}

Result<Applied> prepare_replica_stop(Context& c) {
  auto p = replica(c);
  if (!p.ok()) return p.error();
  return freeze({*p}, p->name);
}

Result<Applied> prepare_redis_slow(Context& c) {
  auto targets = component_processes(c, "redis");
  if (targets.empty()) return Error{ErrorKind::unavailable, "the stack runs no redis"};
  auto pause = int_parameter(c, "pause_ms", 1, 1000);
  auto period = int_parameter(c, "period_ms", 2, 5000);
  if (!pause.ok()) return pause.error();
  if (!period.ok()) return period.error();
  if (*pause >= *period)
    return Error{ErrorKind::invalid_argument, "pause_ms must be below period_ms"};
  const StackProcess redis = targets.front();
  Applied a;
  a.target = redis.name;
  a.parameters["pause_ms"] = *pause;
  a.parameters["period_ms"] = *period;
  const fs::path pid_file = helper_pid_file(c);
  a.undo["pid_file"] = pid_file.string();
  a.undo["resume"] = json::array({{{"pid", redis.pid}, {"start_ticks", redis.start_ticks}}});
  // Stopped for pause_ms in every period_ms: every command meets a stall now and then.
  const pid_t target = redis.pid;
  const long paused = *pause, running = *period - *pause;
  a.apply = [pid_file, target, paused, running]() -> Result<void> {
    auto pid = spawn_detached({}, [target, paused, running] {
      for (;;) {
        if (::kill(target, SIGSTOP) != 0) ::_exit(0);
        sleep_ms(paused);
        ::kill(target, SIGCONT);
        sleep_ms(running);
      }
    });
    if (!pid.ok()) return pid.error();
    return record_helper(pid_file, *pid);
  };
  return a;
}

Result<Applied> prepare_poison(Context& c) {
  auto count = int_parameter(c, "count", 1, 1000);
  if (!count.ok()) return count.error();
  const auto settings = read_storefront_settings(c.run_dir);
  const auto endpoint = settings.find("sqs.endpoint");
  const auto queue = settings.find("sqs.orders_queue_url");
  if (endpoint == settings.end() || queue == settings.end())
    return Error{ErrorKind::unavailable, "the stack has no SQS orders queue"};
  Applied a;
  a.target = "orders-queue";
  a.parameters["count"] = *count;
  a.apply = [endpoint = endpoint->second, queue = queue->second, n = *count]() -> Result<void> {
    aws::SqsOptions options;
    options.endpoint = endpoint;
    auto client = aws::SqsClient::create(options);
    if (!client.ok()) return client.error();
    for (int i = 0; i < n; ++i) {
      // Cut short, as a producer crashing mid-write would leave it.
      const std::string body = fmt::format(R"({{"order_id":{},"user_id":)", 900'000'000 + i);
      auto sent = (*client)->send_message(queue, body);
      if (!sent.ok()) return Error{sent.error().kind, "SendMessage: " + sent.error().message};
    }
    return {};
  };
  return a;
}

Result<Applied> prepare_proxy(Context& c, const std::string& fault_line) {
  const std::string socket = proxy_control_socket(c.run_dir, "dynalite");
  std::error_code ec;
  if (!fs::exists(socket, ec))
    return Error{ErrorKind::unavailable,
                 "no fault proxy in front of dynalite: start the stack with "
                 "`crest up --set chaos.proxy=true`"};
  Applied a;
  a.target = "cart->dynalite";
  a.parameters["proxy"] = fault_line;
  a.undo["control_socket"] = socket;
  a.apply = [socket, fault_line]() -> Result<void> {
    auto answer = send_control_command(socket, "set " + fault_line);
    if (!answer.ok()) return answer.error();
    if (answer->rfind("ok", 0) != 0) return Error{ErrorKind::invalid_argument, *answer};
    return {};
  };
  return a;
}

// ---- run-time scaling controls (<run dir>/scale.json, read by the supervisor) ----

Result<json> read_scale_file(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return json::object();
  auto j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error{ErrorKind::invalid_argument, file.string() + ": not a JSON object"};
  return j;
}

Result<void> write_scale_entry(const fs::path& file, const std::string& service,
                               const json& entry) {
  auto all = read_scale_file(file);
  if (!all.ok()) return all.error();
  if (entry.is_null()) {
    all->erase(service);
  } else {
    (*all)[service] = entry;
  }
  const std::string temporary = file.string() + ".chaos.tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << all->dump(1);
    if (!out) return Error{ErrorKind::unavailable, "cannot write " + temporary};
  }
  std::error_code ec;
  fs::rename(temporary, file, ec);
  if (ec) return Error{ErrorKind::unavailable, "cannot replace " + file.string()};
  return {};
}

Result<Applied> prepare_scale(Context& c, bool cap) {
  const std::string service = c.spec.target.empty() ? "catalog" : c.spec.target;
  if (!is_service(service))
    return Error{ErrorKind::invalid_argument,
                 "target " + service + " is not a service (users, catalog, cart, orders, worker)"};
  const fs::path file = c.run_dir / "scale.json";
  auto all = read_scale_file(file);
  if (!all.ok()) return all.error();
  const json previous = all->contains(service) ? (*all)[service] : json();
  json entry = previous.is_object() ? previous : json::object();
  Applied a;
  a.target = service;
  if (cap) {
    int max = static_cast<int>(component_processes(c, service).size());
    if (c.parameters.at("max") != "current") {
      auto n = int_parameter(c, "max", 1, 64);
      if (!n.ok()) return n.error();
      max = *n;
    }
    max = std::max(max, 1);
    entry["max"] = max;
    if (entry.contains("min") && entry["min"].get<int>() > max) entry["min"] = max;
    a.parameters["max"] = max;
  } else {
    entry["off"] = true;
  }
  a.undo["scale"] = {{"file", file.string()}, {"service", service}, {"previous", previous}};
  a.apply = [file, service, entry]() { return write_scale_entry(file, service, entry); };
  return a;
}

// Nodes requested from now on take delay_s to become ready (the supervisor reads scale.json's
// "node-pool" entry): a cloud short of capacity. Nothing changes until a pod needs a new node.
Result<Applied> prepare_node_provisioning(Context& c) {
  const std::string pool = "node-pool";
  if (!c.spec.target.empty() && c.spec.target != pool)
    return Error{ErrorKind::invalid_argument, "target " + c.spec.target + " is not node-pool"};
  auto delay = int_parameter(c, "delay_s", 1, 3600);
  if (!delay.ok()) return delay.error();
  const fs::path file = c.run_dir / "scale.json";
  auto all = read_scale_file(file);
  if (!all.ok()) return all.error();
  const json previous = all->contains(pool) ? (*all)[pool] : json();
  json entry = previous.is_object() ? previous : json::object();
  entry["provision_delay_ms"] = *delay * 1000LL;
  Applied a;
  a.target = pool;
  a.parameters["delay_s"] = *delay;
  a.undo["scale"] = {{"file", file.string()}, {"service", pool}, {"previous", previous}};
  a.apply = [file, pool, entry]() { return write_scale_entry(file, pool, entry); };
  return a;
}

}  // namespace crest::chaos::detail
