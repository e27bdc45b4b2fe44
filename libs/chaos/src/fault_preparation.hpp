#pragma once
// How a stack fault is prepared: the target resolved from state.json, the parameters checked, the
// undo record computed, and the step that applies it, which runs only after the start line (with
// the undo record) is in the fault log. Shared by the fault catalogue (stack_faults.cpp), the
// process and dependency faults (fault_preparation.cpp) and the database faults
// (database_faults.cpp).
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crest/chaos/stack_faults.hpp"
#include "stack_processes.hpp"

namespace crest::chaos::detail {

namespace fs = std::filesystem;
using nlohmann::json;

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

inline constexpr const char* kInstanceTargets =
    "a service (users, catalog, cart, orders, worker) or an instance (catalog-2)";

bool is_service(const std::string& name);
// A live process named `target` (instance or component name), or the first ready instance of the
// component `target`.
Result<StackProcess> find_process(const Context& c, const std::string& target);
// The storefront instance `target` names ("catalog" for its first, "catalog-2"); an error
// listing what may be named when it names anything else.
Result<StackProcess> storefront_instance(const Context& c, const std::string& target);
std::vector<StackProcess> component_processes(const Context& c, const std::string& component);
Result<int> int_parameter(const Context& c, const std::string& key, int low, int high);
Result<double> number_parameter(const Context& c, const std::string& key, double low, double high);
fs::path helper_pid_file(const Context& c);
Result<void> record_helper(const fs::path& pid_file, pid_t pid);
void sleep_ms(long ms);

// Processes and dependencies (fault_preparation.cpp).
Result<Applied> prepare_freeze_component(Context& c, const std::string& component);
Result<Applied> prepare_instance_kill(Context& c);
Result<Applied> prepare_cpu_hog(Context& c);
Result<Applied> prepare_memory_pressure(Context& c);
Result<Applied> prepare_replica_stop(Context& c);
Result<Applied> prepare_redis_slow(Context& c);
Result<Applied> prepare_poison(Context& c);
Result<Applied> prepare_proxy(Context& c, const std::string& fault_line);
Result<Applied> prepare_scale(Context& c, bool cap);
Result<Applied> prepare_node_provisioning(Context& c);
// The network between the load balancer and a service (network_faults.cpp).
Result<Applied> prepare_network_latency(Context& c);
// Points HAProxy's servers back at their instances where they still point at the fault's proxies.
Result<void> restore_balancer_routes(const json& balancer);
Result<void> write_scale_entry(const fs::path& file, const std::string& service, const json& entry);

// The database (database_faults.cpp).
Result<StackProcess> replica(Context& c);
Result<Applied> prepare_replica_lag(Context& c);
Result<Applied> prepare_primary_storm(Context& c);
Result<Applied> prepare_primary_lock(Context& c);
Result<Applied> prepare_missing_index(Context& c);
// Ends the sessions whose statement matches undo["kill_queries"]["pattern"].
Result<void> kill_matching_queries(const json& spec);
Result<std::string> run_sql(const std::string& socket, const std::string& database,
                            const std::string& sql);

}  // namespace crest::chaos::detail
