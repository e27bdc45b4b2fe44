#include "crest/chaos/stack_faults.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <thread>

#include <fmt/format.h>

#include "crest/aws/sqs.hpp"
#include "crest/chaos/fault_proxy.hpp"
#include "stack_processes.hpp"

namespace crest::chaos {
namespace fs = std::filesystem;
using namespace detail;
using nlohmann::json;

namespace {

const char* const kInstanceTargets =
    "a service (users, catalog, cart, orders, worker) or an "
    "instance (catalog-2)";

// A query as heavy as a careless report: a three-way self join of the catalogue with a LIKE.
constexpr const char* kStormQuery =
    "SELECT p1.category_id, COUNT(*) FROM products p1 JOIN products p2 ON p2.name LIKE "
    "CONCAT('%', SUBSTRING(p1.name, 2, 3), '%') JOIN products p3 ON p3.price > p1.price "
    "GROUP BY p1.category_id";
constexpr const char* kStormPattern = "%JOIN products p3 ON p3.price > p1.price%";
constexpr const char* kLockSleep = "DO SLEEP(86399)";

struct Applied {
  std::string target;  // what it was applied to, resolved ("catalog-2")
  json parameters = json::object();
  json undo = json::object();
  std::function<Result<void>()> apply;
};

struct Context {
  fs::path run_dir;
  std::vector<StackProcess> processes;
  FaultSpec spec;
  std::map<std::string, std::string> parameters;  // the kind's defaults, overridden by the spec
};

using Preparer = std::function<Result<Applied>(Context&)>;

struct KindEntry {
  FaultKind kind;
  std::map<std::string, std::string> defaults;
  Preparer prepare;
};

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

// ---- MariaDB as root over the server's own socket ----

struct MariaDbAccess {
  std::string socket;
  std::string database = "crest";
};

Result<MariaDbAccess> mariadb_access(const StackProcess& server, const Context& c) {
  MariaDbAccess access;
  for (const auto& arg : process_arguments(server.pid)) {
    if (arg.rfind("--socket=", 0) == 0) access.socket = arg.substr(9);
  }
  if (access.socket.empty())
    return Error{ErrorKind::unavailable, "cannot find the socket of " + server.name};
  const auto settings = read_storefront_settings(c.run_dir);
  if (const auto it = settings.find("db.primary_url"); it != settings.end()) {
    const auto slash = it->second.rfind('/');
    if (slash != std::string::npos && slash + 1 < it->second.size())
      access.database = it->second.substr(slash + 1);
  }
  return access;
}

std::vector<std::string> mariadb_command(const std::string& socket, const std::string& database,
                                         const std::string& sql) {
  return {"mariadb", "--no-defaults",       "--user=root", "--socket=" + socket,
          "--batch", "--skip-column-names", database,      "-e",
          sql};
}

Result<std::string> run_sql(const std::string& socket, const std::string& database,
                            const std::string& sql) {
  return run_capture(mariadb_command(socket, database, sql));
}

// ---- the preparers: resolve the target, compute the undo record, return the apply step ----

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

Result<Applied> prepare_freeze_component(Context& c, const std::string& component) {
  auto targets = component_processes(c, component);
  if (targets.empty())
    return Error{ErrorKind::unavailable, "the stack runs no " + component + " process"};
  return freeze(targets, component);
}

Result<StackProcess> storefront_instance(Context& c) {
  const std::string target = c.spec.target.empty() ? "catalog" : c.spec.target;
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

Result<StackProcess> replica(Context& c) {
  const std::string target = c.spec.target.empty() ? "mariadb-replica1" : c.spec.target;
  auto p = find_process(c, target);
  if (!p.ok()) return p.error();
  if (p->name.rfind("mariadb-replica", 0) != 0)
    return Error{ErrorKind::invalid_argument,
                 "target " + target + " is not a replica (mariadb-replica1, mariadb-replica2)"};
  return p;
}

Result<Applied> prepare_replica_stop(Context& c) {
  auto p = replica(c);
  if (!p.ok()) return p.error();
  return freeze({*p}, p->name);
}

Result<Applied> prepare_replica_lag(Context& c) {
  auto p = replica(c);
  if (!p.ok()) return p.error();
  auto delay = int_parameter(c, "delay_s", 1, 3600);
  if (!delay.ok()) return delay.error();
  auto access = mariadb_access(*p, c);
  if (!access.ok()) return access.error();
  Applied a;
  a.target = p->name;
  a.parameters["delay_s"] = *delay;
  const std::string set = "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY={}; START SLAVE;";
  a.undo["sql"] = {{"socket", access->socket},
                   {"database", access->database},
                   {"statements", fmt::format(fmt::runtime(set), 0)}};
  a.apply = [socket = access->socket, database = access->database,
             sql = fmt::format(fmt::runtime(set), *delay)]() -> Result<void> {
    auto r = run_sql(socket, database, sql);
    if (!r.ok()) return r.error();
    return {};
  };
  return a;
}

Result<Applied> prepare_primary_storm(Context& c) {
  auto p = find_process(c, "mariadb-primary");
  if (!p.ok()) return p.error();
  auto connections = int_parameter(c, "connections", 1, 64);
  if (!connections.ok()) return connections.error();
  auto access = mariadb_access(*p, c);
  if (!access.ok()) return access.error();
  const auto settings = read_storefront_settings(c.run_dir);
  // As the application's user over TCP, so the digests look like the application's.
  std::string user = "crest", password = "crest";
  if (const auto it = settings.find("db.primary_url"); it != settings.end()) {
    const auto scheme = it->second.find("://");
    const auto at = it->second.find('@');
    const auto colon = it->second.find(':', scheme + 3);
    if (scheme != std::string::npos && at != std::string::npos && colon < at) {
      user = it->second.substr(scheme + 3, colon - scheme - 3);
      password = it->second.substr(colon + 1, at - colon - 1);
    }
  }
  Applied a;
  a.target = p->name;
  a.parameters["connections"] = *connections;
  const fs::path pid_file = helper_pid_file(c);
  a.undo["pid_file"] = pid_file.string();
  a.undo["kill_queries"] = {
      {"socket", access->socket}, {"database", access->database}, {"pattern", kStormPattern}};
  const std::string loop = fmt::format(
      "while :; do mariadb --no-defaults -h127.0.0.1 -P{} -u{} -p{} {} -e \"{}\" >/dev/null "
      "2>&1; done",
      p->port, user, password, access->database, kStormQuery);
  a.apply = [loop, pid_file, n = *connections]() -> Result<void> {
    for (int i = 0; i < n; ++i) {
      auto pid = spawn_program_detached({"sh", "-c", loop});
      if (!pid.ok()) return pid.error();
      if (auto r = record_helper(pid_file, *pid); !r.ok()) return r;
    }
    return {};
  };
  return a;
}

Result<Applied> prepare_primary_lock(Context& c) {
  auto p = find_process(c, "mariadb-primary");
  if (!p.ok()) return p.error();
  const std::string table = c.parameters.at("table");
  if (table.empty() ||
      table.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") != std::string::npos)
    return Error{ErrorKind::invalid_argument, "table=" + table + ": not a table name"};
  auto access = mariadb_access(*p, c);
  if (!access.ok()) return access.error();
  Applied a;
  a.target = p->name + "/" + table;
  a.parameters["table"] = table;
  const fs::path pid_file = helper_pid_file(c);
  a.undo["pid_file"] = pid_file.string();
  // Closing the client does not end a sleeping statement: the session is killed on the server.
  a.undo["kill_queries"] = {
      {"socket", access->socket}, {"database", access->database}, {"pattern", kLockSleep}};
  a.apply = [access = *access, table, pid_file]() -> Result<void> {
    auto pid = spawn_program_detached(
        mariadb_command(access.socket, access.database,
                        fmt::format("LOCK TABLES {} WRITE; {}", table, kLockSleep)));
    if (!pid.ok()) return pid.error();
    return record_helper(pid_file, *pid);
  };
  return a;
}

Result<Applied> prepare_missing_index(Context& c) {
  auto p = find_process(c, "mariadb-primary");
  if (!p.ok()) return p.error();
  const std::string target =
      c.spec.target.empty() ? "products.products_by_category" : c.spec.target;
  const auto dot = target.find('.');
  const std::string allowed = "abcdefghijklmnopqrstuvwxyz_0123456789";
  if (dot == std::string::npos || target.find_first_not_of(allowed + ".") != std::string::npos)
    return Error{ErrorKind::invalid_argument,
                 "missing-index needs --target TABLE.INDEX (products.products_by_category)"};
  const std::string table = target.substr(0, dot), index = target.substr(dot + 1);
  auto access = mariadb_access(*p, c);
  if (!access.ok()) return access.error();
  auto create = run_sql(access->socket, access->database, "SHOW CREATE TABLE " + table);
  if (!create.ok()) return create.error();
  // The batch output escapes newlines as \n: one definition line per item.
  std::string text = *create;
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < text.size();) {
    const auto next = text.find("\\n", at);
    lines.push_back(text.substr(at, next == std::string::npos ? std::string::npos : next - at));
    if (next == std::string::npos) break;
    at = next + 2;
  }
  auto trim = [](std::string s) {
    while (!s.empty() && (s.back() == ',' || s.back() == '\n' || s.back() == ' ')) s.pop_back();
    const auto first = s.find_first_not_of(' ');
    return first == std::string::npos ? std::string{} : s.substr(first);
  };
  std::string index_line, first_column;
  for (const auto& raw : lines) {
    const std::string line = trim(raw);
    if ((line.rfind("KEY `" + index + "`", 0) == 0 ||
         line.rfind("UNIQUE KEY `" + index + "`", 0) == 0)) {
      index_line = line;
      const auto open = line.find("(`");
      const auto close = line.find('`', open + 2);
      if (open != std::string::npos && close != std::string::npos)
        first_column = line.substr(open + 2, close - open - 2);
    }
  }
  if (index_line.empty())
    return Error{ErrorKind::not_found, fmt::format("table {} has no index {}", table, index)};
  // A foreign key on the index's first column needs it: dropped with it, restored after it.
  std::vector<std::string> foreign_keys, foreign_names;
  for (const auto& raw : lines) {
    const std::string line = trim(raw);
    if (line.rfind("CONSTRAINT `", 0) == 0 &&
        line.find("FOREIGN KEY (`" + first_column + "`") != std::string::npos) {
      foreign_keys.push_back(line);
      foreign_names.push_back(line.substr(12, line.find('`', 12) - 12));
    }
  }
  std::string drop = "ALTER TABLE " + table;
  for (const auto& name : foreign_names) drop += " DROP FOREIGN KEY `" + name + "`,";
  drop += " DROP INDEX `" + index + "`";
  std::string restore = "ALTER TABLE " + table + " ADD " + index_line;
  for (const auto& fk : foreign_keys) restore += ", ADD " + fk;
  Applied a;
  a.target = target;
  a.parameters["index"] = index_line;
  if (!foreign_keys.empty()) a.parameters["foreign_keys"] = foreign_keys;
  a.undo["sql"] = {{"socket", access->socket},
                   {"database", access->database},
                   {"statements", restore},
                   {"unless_present", json{{"table", table}, {"index", index}}}};
  a.apply = [access = *access, drop]() -> Result<void> {
    auto r = run_sql(access.socket, access.database, drop);
    if (!r.ok()) return r.error();
    return {};
  };
  return a;
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

const std::vector<KindEntry>& kinds() {
  static const std::vector<KindEntry> table = {
      {{"instance-kill", "catalog", kInstanceTargets, "",
        "SIGKILL one instance (the supervisor restarts it with backoff)"},
       {},
       prepare_instance_kill},
      {{"cpu-hog", "catalog", kInstanceTargets, "workers=2",
        "busy processes placed in the instance's cgroup, sharing its CPU quota"},
       {{"workers", "2"}},
       prepare_cpu_hog},
      {{"memory-pressure", "catalog", kInstanceTargets, "rate_mib_per_s=32",
        "a process in the instance's memory cgroup allocating until the OOM killer acts"},
       {{"rate_mib_per_s", "32"}},
       prepare_memory_pressure},
      {{"replica-stop", "mariadb-replica1", "mariadb-replica1, mariadb-replica2", "",
        "the replica frozen (SIGSTOP): it holds its port and answers nothing"},
       {},
       prepare_replica_stop},
      {{"replica-lag", "mariadb-replica1", "mariadb-replica1, mariadb-replica2", "delay_s=30",
        "CHANGE MASTER TO MASTER_DELAY on the replica"},
       {{"delay_s", "30"}},
       prepare_replica_lag},
      {{"primary-slow-queries", "mariadb-primary", "mariadb-primary", "connections=4",
        "a storm of heavy catalogue queries on the primary, as the application's user"},
       {{"connections", "4"}},
       prepare_primary_storm},
      {{"primary-table-lock", "mariadb-primary", "mariadb-primary", "table=products",
        "LOCK TABLES ... WRITE held on the primary by an idle session"},
       {{"table", "products"}},
       prepare_primary_lock},
      {{"missing-index", "products.products_by_category", "TABLE.INDEX", "",
        "the index dropped on the primary (replicated), restored with its foreign keys"},
       {},
       prepare_missing_index},
      {{"redis-stop", "redis", "redis", "", "Redis frozen (SIGSTOP)"},
       {},
       [](Context& c) { return prepare_freeze_component(c, "redis"); }},
      {{"redis-slow", "redis", "redis", "pause_ms=40 period_ms=100",
        "Redis stalled for pause_ms in every period_ms"},
       {{"pause_ms", "40"}, {"period_ms", "100"}},
       prepare_redis_slow},
      {{"sqs-stop", "sqs", "sqs", "", "the SQS server frozen (SIGSTOP)"},
       {},
       [](Context& c) { return prepare_freeze_component(c, "sqs"); }},
      {{"worker-stop", "worker", "worker", "", "every order worker frozen (SIGSTOP)"},
       {},
       [](Context& c) { return prepare_freeze_component(c, "worker"); }},
      {{"poison-messages", "orders-queue", "orders-queue", "count=20",
        "malformed messages sent to the orders queue (they end in its dead-letter queue)"},
       {{"count", "20"}},
       prepare_poison},
      {{"dynamodb-throttle", "dynalite", "dynalite", "probability=0.5 match=",
        "ProvisionedThroughputExceededException from the proxy in front of dynalite"},
       {{"probability", "0.5"}, {"match", ""}},
       [](Context& c) -> Result<Applied> {
         auto p = number_parameter(c, "probability", 0.0, 1.0);
         if (!p.ok()) return p.error();
         std::string line = fmt::format("throttle probability={}", *p);
         if (!c.parameters.at("match").empty()) line += " match=" + c.parameters.at("match");
         return prepare_proxy(c, line);
       }},
      {{"dynamodb-latency", "dynalite", "dynalite", "latency_ms=200 probability=1",
        "latency added by the proxy in front of dynalite"},
       {{"latency_ms", "200"}, {"probability", "1"}},
       [](Context& c) -> Result<Applied> {
         auto ms = int_parameter(c, "latency_ms", 1, 60'000);
         auto p = number_parameter(c, "probability", 0.0, 1.0);
         if (!ms.ok()) return ms.error();
         if (!p.ok()) return p.error();
         return prepare_proxy(c, fmt::format("latency latency_ms={} probability={}", *ms, *p));
       }},
      {{"autoscaler-cap", "catalog", "a service", "max=current",
        "the service's max replicas lowered (default: its current count) via scale.json"},
       {{"max", "current"}},
       [](Context& c) { return prepare_scale(c, true); }},
      {{"autoscaler-off", "catalog", "a service", "",
        "the service's autoscaling switched off via scale.json"},
       {},
       [](Context& c) { return prepare_scale(c, false); }},
  };
  return table;
}

// ---- undo: every action the record names, each idempotent and safe after a crash ----

Result<void> kill_matching_queries(const json& spec) {
  const std::string socket = spec.value("socket", ""), database = spec.value("database", "");
  if (!fs::exists(socket)) return {};  // the server is gone, and its sessions with it
  auto ids = run_sql(socket, database,
                     "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '" +
                         spec.value("pattern", "") + "' AND ID <> CONNECTION_ID()");
  if (!ids.ok()) return ids.error();
  std::string kills;
  std::istringstream lines(*ids);
  for (std::string id; std::getline(lines, id);) {
    if (!id.empty()) kills += "KILL " + id + ";";
  }
  if (kills.empty()) return {};
  auto r = run_sql(socket, database, kills);
  if (!r.ok() && r.error().message.find("Unknown thread") == std::string::npos) return r.error();
  return {};
}

Result<void> undo_record(const FaultRecord& record) {
  const json& undo = record.undo;
  if (undo.contains("pid_file")) {
    std::ifstream in(undo["pid_file"].get<std::string>());
    for (std::string line; std::getline(in, line);) {
      const auto ref = json::parse(line, nullptr, false);
      if (ref.is_object()) signal_recorded(ref, SIGKILL, /*group=*/true);
    }
    std::error_code ec;
    fs::remove(undo["pid_file"].get<std::string>(), ec);
  }
  if (undo.contains("resume")) {
    for (const auto& ref : undo["resume"]) signal_recorded(ref, SIGCONT);
  }
  if (undo.contains("kill_queries")) {
    if (auto r = kill_matching_queries(undo["kill_queries"]); !r.ok()) return r;
  }
  if (undo.contains("sql")) {
    const auto& sql = undo["sql"];
    const std::string socket = sql.value("socket", ""), database = sql.value("database", "");
    bool needed = true;
    if (sql.contains("unless_present")) {  // the index is back already (a failed drop)
      const auto& u = sql["unless_present"];
      auto present = run_sql(socket, database,
                             fmt::format("SHOW INDEX FROM {} WHERE Key_name = '{}'",
                                         u.value("table", ""), u.value("index", "")));
      if (!present.ok()) return present.error();
      needed = present->empty();
    }
    if (needed) {
      auto r = run_sql(socket, database, sql.value("statements", ""));
      if (!r.ok()) return r.error();
    }
  }
  if (undo.contains("scale")) {
    const auto& s = undo["scale"];
    if (auto r = write_scale_entry(s.value("file", ""), s.value("service", ""), s["previous"]);
        !r.ok())
      return r;
  }
  if (undo.contains("control_socket")) {
    if (auto r = clear_proxy_fault()(record); !r.ok()) return r;
  }
  return {};
}

ReversibleFaultRegistry registry_for(const fs::path& run_dir, const Clock& clock) {
  ReversibleFaultRegistry registry(fault_log_path(run_dir).string(), clock);
  for (const auto& k : kinds()) registry.register_fault(k.kind.name, undo_record);
  return registry;
}

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace

const std::vector<FaultKind>& fault_kinds() {
  static const std::vector<FaultKind> list = [] {
    std::vector<FaultKind> out;
    for (const auto& k : kinds()) out.push_back(k.kind);
    return out;
  }();
  return list;
}

fs::path fault_log_path(const fs::path& run_dir) {
  return run_dir / "chaos" / "faults.jsonl";
}

std::string proxy_control_socket(const fs::path& run_dir, const std::string& dependency) {
  const fs::path preferred = run_dir / "chaos" / (dependency + "-proxy.sock");
  std::error_code ec;
  const fs::path absolute = fs::absolute(preferred, ec);
  const std::string path = ec ? preferred.string() : absolute.lexically_normal().string();
  if (path.size() < 100) return path;
  return (fs::temp_directory_path() /
          fmt::format("crest-{}-proxy-{:x}.sock", dependency, std::hash<std::string>{}(path)))
      .string();
}

Result<std::map<std::string, std::string>> parse_fault_parameters(
    const std::vector<std::string>& items) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      return Error{ErrorKind::invalid_argument, "parameter '" + item + "': expected key=value"};
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

Result<FaultRecord> start_fault(const fs::path& run_dir, const FaultSpec& spec) {
  const KindEntry* entry = nullptr;
  for (const auto& k : kinds()) {
    if (k.kind.name == spec.fault) entry = &k;
  }
  if (entry == nullptr) {
    std::string names;
    for (const auto& k : kinds()) names += (names.empty() ? "" : ", ") + k.kind.name;
    return Error{ErrorKind::invalid_argument,
                 "unknown fault '" + spec.fault + "' (crest chaos list: " + names + ")"};
  }
  Context context;
  context.run_dir = run_dir;
  context.spec = spec;
  context.parameters = entry->defaults;
  for (const auto& [key, value] : spec.parameters) {
    if (entry->defaults.count(key) == 0) {
      return Error{ErrorKind::invalid_argument,
                   fmt::format("fault {} takes no parameter '{}'{}", spec.fault, key,
                               entry->kind.parameters.empty()
                                   ? std::string{}
                                   : " (it takes " + entry->kind.parameters + ")")};
    }
    context.parameters[key] = value;
  }
  auto processes = read_stack_processes(run_dir);
  if (!processes.ok()) return processes.error();
  context.processes = std::move(processes).value();
  auto applied = entry->prepare(context);
  if (!applied.ok())
    return Error{applied.error().kind, spec.fault + ": " + applied.error().message};
  std::error_code ec;
  fs::create_directories(run_dir / "chaos", ec);
  if (spec.duration.count() > 0) applied->parameters["for_seconds"] = spec.duration.count();
  auto registry = registry_for(run_dir, system_clock());
  return registry.start(spec.fault, applied->target, applied->parameters, applied->undo,
                        applied->apply);
}

Result<void> stop_fault(const fs::path& run_dir, const std::string& id, const std::string& how) {
  auto registry = registry_for(run_dir, system_clock());
  return registry.stop(id, how);
}

Result<std::vector<std::string>> stop_all_faults(const fs::path& run_dir) {
  auto registry = registry_for(run_dir, system_clock());
  return registry.stop_all();
}

Result<std::vector<FaultRecord>> active_faults(const fs::path& run_dir) {
  auto registry = registry_for(run_dir, system_clock());
  return registry.active();
}

}  // namespace crest::chaos
