#include "crest/stack/stack_profile.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

namespace crest::stack {
namespace {

using T = ConfigType;

// Storefront configuration keys a profile may set (`storefront.<key>`), passed on with --set.
const std::vector<std::pair<std::string, std::string>> kStorefrontKeys = {
    {"reads", "replicas"},
    {"cache", "redis"},
    {"checkout", "outbox"},
    {"http.threads", "8"},
    {"db.pool_size", "8"},
    {"worker.concurrency", "4"},
    {"payment.latency", "50ms"},
    {"auth.argon2_ops", "1"},
    {"auth.argon2_memory_kib", "8192"},
    {"log.level", "warn"},
    {"http.drain_grace", "10s"},
    // As AWS SDKs retry DynamoDB by default (many attempts, a short base): a throttled call is
    // retried within a request's budget instead of failing it.
    {"dynamodb.max_attempts", "8"},
    {"dynamodb.retry_base", "25ms"},
};

CgroupLimits limits(const Config& config, const std::string& prefix) {
  CgroupLimits l;
  const auto cpu = parse_cpu_quantity(config.get_string(prefix + ".cpu"));
  if (!cpu.ok())
    throw ConfigError(fmt::format("{}: '{}.cpu': {}", config.source_of(prefix + ".cpu"), prefix,
                                  cpu.error().message));
  const auto memory = parse_memory_quantity(config.get_string(prefix + ".memory"));
  if (!memory.ok()) {
    throw ConfigError(fmt::format("{}: '{}.memory': {}", config.source_of(prefix + ".memory"),
                                  prefix, memory.error().message));
  }
  l.cpu_cores = *cpu;
  l.memory_bytes = *memory;
  return l;
}

int positive(const Config& config, const std::string& key, int minimum) {
  const auto value = config.get_int(key);
  if (value < minimum || value > 1000) {
    throw ConfigError(fmt::format("{}: '{}' must be {}..1000, not {}", config.source_of(key), key,
                                  minimum, value));
  }
  return static_cast<int>(value);
}

}  // namespace

const ServiceProfile* StackProfile::service(const std::string& service_name) const {
  for (const auto& s : services) {
    if (s.name == service_name) return &s;
  }
  return nullptr;
}

std::vector<ConfigOption> stack_profile_schema() {
  std::vector<ConfigOption> schema = {
      {"name", T::string, "custom", "the profile's name, shown by crest status"},
      {"haproxy.port", T::integer, "0", "the shop's entry point on 127.0.0.1 (0: a free port)"},
      {"haproxy.slots", T::integer, "8", "server-template slots per service (the most instances)"},
      {"haproxy.cpu", T::string, "500m", "HAProxy CPU limit"},
      {"haproxy.memory", T::string, "256Mi", "HAProxy memory limit"},
      {"mariadb.replicas", T::integer, "2", "read replicas (GTID)"},
      {"mariadb.cpu", T::string, "500m", "CPU limit of each MariaDB server"},
      {"mariadb.memory", T::string, "768Mi", "memory limit of each MariaDB server"},
      {"redis.enabled", T::boolean, "true", "start Redis"},
      {"redis.cpu", T::string, "250m", "Redis CPU limit"},
      {"redis.memory", T::string, "128Mi", "Redis memory limit"},
      {"dynalite.cpu", T::string, "500m", "dynalite (DynamoDB) CPU limit"},
      {"dynalite.memory", T::string, "512Mi", "dynalite memory limit"},
      {"chaos.proxy", T::boolean, "false",
       "put crest chaos's fault proxy (pass-through until a fault is set) in front of dynalite"},
      {"sqs.cpu", T::string, "250m", "SQS server CPU limit"},
      {"sqs.memory", T::string, "512Mi", "SQS server memory limit"},
      {"prometheus.cpu", T::string, "250m", "Prometheus CPU limit"},
      {"prometheus.memory", T::string, "512Mi", "Prometheus memory limit"},
      {"prometheus.scrape_interval", T::duration, "1s", "scrape and rule evaluation interval"},
      {"seed.categories", T::integer, "8", "categories seeded"},
      {"seed.products", T::integer, "200", "products seeded"},
      {"seed.users", T::integer, "20", "users seeded (written to users.csv in the run directory)"},
      {"autoscaler.enabled", T::boolean, "false", "run the local autoscaler"},
      {"autoscaler.overlay", T::string, "local", "deploy/k8s overlay whose HPAs it reads"},
      {"autoscaler.sync_period", T::duration, "5s", "how often it evaluates"},
      {"nodes.min", T::integer, "1", "node pool: fewest nodes"},
      {"nodes.max", T::integer, "3", "node pool: most nodes"},
      {"nodes.cpu", T::string, "500m", "allocatable CPU per node (an EKS node scaled down)"},
      {"nodes.provision_delay", T::duration, "10s", "time for an added node to become ready"},
      {"nodes.idle_removal", T::duration, "30s", "an empty node is removed after this"},
  };
  for (const auto& [key, value] : kStorefrontKeys) {
    schema.push_back(
        {"storefront." + key, T::string, value, "storefront configuration key " + key});
  }
  for (const auto& service : storefront_services()) {
    const std::string p = "services." + service;
    schema.push_back({p + ".instances", T::integer, "1", service + ": instances at start"});
    schema.push_back({p + ".min", T::integer, "1", service + ": fewest instances (autoscaler)"});
    schema.push_back({p + ".max", T::integer, "1", service + ": most instances (autoscaler)"});
    schema.push_back(
        {p + ".autoscale", T::boolean, "false", service + ": scaled by the autoscaler"});
    schema.push_back(
        {p + ".cpu_request", T::string, "125m", service + ": CPU request per instance"});
    schema.push_back({p + ".cpu", T::string, "500m", service + ": CPU limit per instance"});
    schema.push_back(
        {p + ".memory_request", T::string, "128Mi", service + ": memory request per instance"});
    schema.push_back({p + ".memory", T::string, "256Mi", service + ": memory limit per instance"});
  }
  return schema;
}

StackProfile load_stack_profile(const std::string& file,
                                const std::vector<std::string>& assignments) {
  Config config(stack_profile_schema());
  if (!file.empty()) config.load_file(file);
  for (const auto& assignment : assignments) config.set_from_flag(assignment);

  StackProfile p;
  p.name = config.get_string("name");
  p.source = file;
  const auto port = config.get_int("haproxy.port");
  if (port < 0 || port > 65535)
    throw ConfigError(
        fmt::format("{}: 'haproxy.port' must be 0..65535", config.source_of("haproxy.port")));
  p.haproxy_port = static_cast<std::uint16_t>(port);
  p.haproxy_slots = positive(config, "haproxy.slots", 1);
  p.haproxy_limits = limits(config, "haproxy");
  p.mariadb_replicas = static_cast<int>(config.get_int("mariadb.replicas"));
  if (p.mariadb_replicas < 0 || p.mariadb_replicas > 4) {
    throw ConfigError(
        fmt::format("{}: 'mariadb.replicas' must be 0..4", config.source_of("mariadb.replicas")));
  }
  p.mariadb_limits = limits(config, "mariadb");
  p.redis = config.get_bool("redis.enabled");
  p.chaos_proxy = config.get_bool("chaos.proxy");
  p.redis_limits = limits(config, "redis");
  p.dynalite_limits = limits(config, "dynalite");
  p.sqs_limits = limits(config, "sqs");
  p.prometheus_limits = limits(config, "prometheus");
  p.scrape_interval = config.get_duration("prometheus.scrape_interval");
  p.seed_categories = positive(config, "seed.categories", 1);
  p.seed_products = static_cast<int>(config.get_int("seed.products"));
  p.seed_users = static_cast<int>(config.get_int("seed.users"));
  for (const auto& [key, unused] : kStorefrontKeys)
    p.storefront[key] = config.get_string("storefront." + key);
  if (p.storefront["cache"] == "redis" && !p.redis) {
    throw ConfigError(fmt::format("{}: 'storefront.cache' is redis but redis.enabled is false",
                                  config.source_of("storefront.cache")));
  }
  if (p.storefront["reads"] == "replicas" && p.mariadb_replicas == 0) {
    throw ConfigError(fmt::format("{}: 'storefront.reads' is replicas but mariadb.replicas is 0",
                                  config.source_of("storefront.reads")));
  }
  for (const auto& name : storefront_services()) {
    const std::string prefix = "services." + name;
    ServiceProfile s;
    s.name = name;
    s.instances = positive(config, prefix + ".instances", 0);
    s.min_instances = positive(config, prefix + ".min", 0);
    s.max_instances = positive(config, prefix + ".max", 1);
    s.autoscale = config.get_bool(prefix + ".autoscale");
    if (s.max_instances < s.min_instances || s.instances > std::max(s.max_instances, s.instances) ||
        (s.autoscale && (s.instances < s.min_instances || s.instances > s.max_instances))) {
      throw ConfigError(
          fmt::format("{}: {}: need min <= instances <= max (min {}, instances {}, max {})",
                      config.source_of(prefix + ".instances"), name, s.min_instances, s.instances,
                      s.max_instances));
    }
    if (std::max(s.instances, s.max_instances) > p.haproxy_slots && name != "worker") {
      throw ConfigError(fmt::format("{}: {}: at most haproxy.slots ({}) instances",
                                    config.source_of(prefix + ".max"), name, p.haproxy_slots));
    }
    const auto request = parse_cpu_quantity(config.get_string(prefix + ".cpu_request"));
    if (!request.ok())
      throw ConfigError(fmt::format("{}: '{}.cpu_request': {}",
                                    config.source_of(prefix + ".cpu_request"), prefix,
                                    request.error().message));
    s.cpu_request = *request;
    const auto memory_request =
        parse_memory_quantity(config.get_string(prefix + ".memory_request"));
    if (!memory_request.ok()) {
      throw ConfigError(fmt::format("{}: '{}.memory_request': {}",
                                    config.source_of(prefix + ".memory_request"), prefix,
                                    memory_request.error().message));
    }
    s.memory_request_bytes = *memory_request;
    s.limits = limits(config, prefix);
    auto set = [&](const char* key) { return config.source_of(prefix + "." + key) != "default"; };
    s.set_by_profile = {set("cpu_request"), set("memory_request"), set("cpu"), set("memory")};
    p.services.push_back(s);
  }
  p.autoscaler = config.get_bool("autoscaler.enabled");
  p.autoscaler_overlay = config.get_string("autoscaler.overlay");
  p.autoscaler_sync_period = config.get_duration("autoscaler.sync_period");
  p.nodes_min = positive(config, "nodes.min", 0);
  p.nodes_max = positive(config, "nodes.max", 1);
  const auto node_cpu = parse_cpu_quantity(config.get_string("nodes.cpu"));
  if (!node_cpu.ok() || *node_cpu <= 0)
    throw ConfigError(fmt::format("{}: 'nodes.cpu' must be a CPU quantity above 0",
                                  config.source_of("nodes.cpu")));
  p.node_cpu = *node_cpu;
  p.node_provision_delay = config.get_duration("nodes.provision_delay");
  p.node_idle_removal = config.get_duration("nodes.idle_removal");
  return p;
}

Result<std::string> find_profile(const std::string& repo_root, const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(repo_root) / "examples" / "profiles";
  const fs::path file = dir / (name + ".yaml");
  std::error_code ec;
  if (fs::exists(file, ec)) return file.string();
  std::string known;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".yaml")
      known += (known.empty() ? "" : ", ") + entry.path().stem().string();
  }
  return Error{ErrorKind::not_found,
               fmt::format("no profile '{}' in {} (known: {}); or pass --config FILE", name,
                           dir.string(), known.empty() ? "none" : known)};
}

std::vector<std::string> apply_workload_resources(
    StackProfile& profile, const std::map<std::string, autoscale::WorkloadResources>& workloads) {
  std::vector<std::string> lines;
  auto cpu = [](double cores) { return fmt::format("{:.0f}m", cores * 1000); };
  auto mib = [](double bytes) { return fmt::format("{:.0f}Mi", bytes / (1 << 20)); };
  for (auto& s : profile.services) {
    const auto it = workloads.find(s.name);
    std::vector<std::string> from_manifest, from_profile;
    auto take = [&](bool set_by_profile, double manifest_value, const char* what, auto apply) {
      if (set_by_profile) {
        from_profile.push_back(what);
      } else if (manifest_value > 0) {
        apply(manifest_value);
        from_manifest.push_back(what);
      }
    };
    if (it != workloads.end()) {
      const auto& w = it->second;
      take(s.set_by_profile.cpu_request, w.cpu_request_cores, "cpu request",
           [&](double v) { s.cpu_request = v; });
      take(s.set_by_profile.memory_request, w.memory_request_bytes, "memory request",
           [&](double v) { s.memory_request_bytes = static_cast<std::int64_t>(v); });
      take(s.set_by_profile.cpu, w.cpu_limit_cores, "cpu limit",
           [&](double v) { s.limits.cpu_cores = v; });
      take(s.set_by_profile.memory, w.memory_limit_bytes, "memory limit",
           [&](double v) { s.limits.memory_bytes = static_cast<std::int64_t>(v); });
    }
    std::string line =
        fmt::format("{}: requests {} cpu, {}; limits {} cpu, {}", s.name, cpu(s.cpu_request),
                    mib(static_cast<double>(s.memory_request_bytes)), cpu(s.limits.cpu_cores),
                    mib(static_cast<double>(s.limits.memory_bytes)));
    std::vector<std::string> origins;
    if (!from_manifest.empty())
      origins.push_back(fmt::format("from the Deployment: {}", fmt::join(from_manifest, ", ")));
    if (!from_profile.empty())
      origins.push_back(fmt::format("from the profile: {}", fmt::join(from_profile, ", ")));
    if (!origins.empty()) line += fmt::format(" ({})", fmt::join(origins, "; "));
    lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace crest::stack
