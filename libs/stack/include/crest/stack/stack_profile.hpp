#pragma once
// A profile of the local platform (`crest up --profile NAME`): a YAML file that says which
// architecture runs (reads on replicas or the primary, cache, checkout mode), how many instances
// of each service, the CPU and memory limits of every component, the node pool and whether the
// autoscaler is on. Keys are validated like every Crest configuration: an unknown key or a wrong
// type is an error naming the file, line and key.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "crest/autoscale/hpa_manifest.hpp"
#include "crest/core/config.hpp"
#include "crest/stack/cgroup.hpp"

namespace crest::stack {

// The storefront's services in start order; each is a role of the storefront binary.
inline const std::vector<std::string>& storefront_services() {
  static const std::vector<std::string> services = {"users", "catalog", "cart", "orders", "worker"};
  return services;
}

struct ServiceProfile {
  std::string name;
  int instances = 1;
  int min_instances = 1;
  int max_instances = 1;
  bool autoscale = false;
  double cpu_request = 0.1;  // cores: what the node pool and the CPU utilisation metric use
  std::int64_t memory_request_bytes = 128LL << 20;  // the memory utilisation metric's base
  CgroupLimits limits;
  // Which of cpu_request, memory_request, cpu (limit), memory (limit) the profile set itself (its
  // file, --set or the environment); the others may come from the overlay's Deployment.
  struct {
    bool cpu_request = false, memory_request = false, cpu = false, memory = false;
  } set_by_profile;
};

struct StackProfile {
  std::string name;
  std::string source;  // the file it came from
  std::uint16_t haproxy_port = 0;
  int haproxy_slots = 8;
  int mariadb_replicas = 2;
  CgroupLimits mariadb_limits;  // each server: the primary gets the same in every profile
  bool redis = true;
  CgroupLimits redis_limits;
  CgroupLimits dynalite_limits;
  bool chaos_proxy =
      false;  // a fault proxy (`crest chaos proxy`) between the services and dynalite
  CgroupLimits sqs_limits;
  CgroupLimits haproxy_limits;
  CgroupLimits prometheus_limits;
  std::map<std::string, std::string> storefront;  // storefront configuration keys (--set)
  int seed_categories = 8;
  int seed_products = 200;
  int seed_users = 20;
  std::vector<ServiceProfile> services;
  bool autoscaler = false;
  std::string autoscaler_overlay = "local";
  std::chrono::milliseconds autoscaler_sync_period{5000};
  int nodes_min = 1;
  int nodes_max = 3;
  double node_cpu = 0.5;  // allocatable cores per node
  std::chrono::milliseconds node_provision_delay{10'000};
  std::chrono::milliseconds node_idle_removal{30'000};
  std::chrono::milliseconds scrape_interval{1000};

  const ServiceProfile* service(const std::string& name) const;
};

std::vector<ConfigOption> stack_profile_schema();
// Reads `file` (a path), then applies `assignments` ("key=value"). Throws ConfigError naming the
// file, line and key on bad input.
StackProfile load_stack_profile(const std::string& file,
                                const std::vector<std::string>& assignments);
// examples/profiles/<name>.yaml under the repository root, or an error naming the ones there.
Result<std::string> find_profile(const std::string& repo_root, const std::string& name);

// Fills each service's requests and limits that the profile left at their defaults from the
// Deployment of the same name (`resources.requests` / `resources.limits` as kustomize built them
// for the profile's overlay). A key the profile sets wins; a resource the manifest leaves out
// keeps the default. Returns one line per service saying where its values came from.
std::vector<std::string> apply_workload_resources(
    StackProfile& profile, const std::map<std::string, autoscale::WorkloadResources>& workloads);

}  // namespace crest::stack
