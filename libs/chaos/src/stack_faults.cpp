#include "crest/chaos/stack_faults.hpp"

#include <signal.h>

#include <fstream>
#include <functional>
#include <memory>
#include <mutex>

#include <fmt/format.h>

#include "fault_preparation.hpp"

namespace crest::chaos {
namespace fs = std::filesystem;
using namespace detail;
using nlohmann::json;

namespace {

using Preparer = std::function<Result<Applied>(Context&)>;

struct KindEntry {
  FaultKind kind;
  std::map<std::string, std::string> defaults;
  Preparer prepare;
};

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
      {{"network-latency", "catalog", kInstanceTargets,
        "delay_ms=40 kind=latency status=503 probability=1",
        "a fault proxy put between the load balancer and the service's instances: added latency "
        "(or errors, resets) on its /api/ requests"},
       {{"delay_ms", "40"}, {"kind", "latency"}, {"status", "503"}, {"probability", "1"}},
       prepare_network_latency},
      {{"autoscaler-cap", "catalog", "a service", "max=current",
        "the service's max replicas lowered (default: its current count) via scale.json"},
       {{"max", "current"}},
       [](Context& c) { return prepare_scale(c, true); }},
      {{"autoscaler-off", "catalog", "a service", "",
        "the service's autoscaling switched off via scale.json"},
       {},
       [](Context& c) { return prepare_scale(c, false); }},
      {{"node-provision-slow", "node-pool", "node-pool", "delay_s=120",
        "nodes requested from now on take delay_s to become ready, via scale.json"},
       {{"delay_s", "120"}},
       prepare_node_provisioning},
  };
  return table;
}

// ---- undo: every action the record names, each idempotent and safe after a crash ----

Result<void> undo_record(const FaultRecord& record) {
  const json& undo = record.undo;
  if (undo.contains("balancer")) {  // before its proxies end: traffic goes back to the instances
    if (auto r = restore_balancer_routes(undo["balancer"]); !r.ok()) return r;
  }
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

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

// One registry per fault log in this process, so fault ids (time, pid, sequence) stay unique when
// two faults start in the same millisecond (a scenario, crest demo); calls are serialised.
template <typename Fn>
auto with_registry(const fs::path& run_dir, Fn&& fn) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<ReversibleFaultRegistry>> registries;
  std::lock_guard lock(mutex);
  const std::string log = fault_log_path(run_dir).string();
  auto& registry = registries[log];
  if (!registry) {
    registry = std::make_unique<ReversibleFaultRegistry>(log, system_clock());
    for (const auto& k : kinds()) registry->register_fault(k.kind.name, undo_record);
  }
  return fn(*registry);
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
  return with_registry(run_dir, [&](ReversibleFaultRegistry& registry) {
    return registry.start(spec.fault, applied->target, applied->parameters, applied->undo,
                          applied->apply);
  });
}

Result<void> stop_fault(const fs::path& run_dir, const std::string& id, const std::string& how) {
  return with_registry(run_dir,
                       [&](ReversibleFaultRegistry& registry) { return registry.stop(id, how); });
}

Result<std::vector<std::string>> stop_all_faults(const fs::path& run_dir) {
  return with_registry(run_dir,
                       [](ReversibleFaultRegistry& registry) { return registry.stop_all(); });
}

Result<std::vector<FaultRecord>> active_faults(const fs::path& run_dir) {
  return with_registry(run_dir,
                       [](const ReversibleFaultRegistry& registry) { return registry.active(); });
}

}  // namespace crest::chaos
