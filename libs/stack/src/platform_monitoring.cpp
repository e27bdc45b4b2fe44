#include "crest/stack/local_platform.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "local_platform_internal.hpp"
#include "loopback_http.hpp"

namespace crest::stack {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace detail;

Result<void> LocalPlatform::start_monitoring() {
  const auto began = Clock::now();
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
          return died_during_startup(p->name, *status, p->spec.log_path);
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
  startup_timings_.emplace_back("exporters+prometheus", seconds_since(began));
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
  family("kube_deployment_status_replicas", "gauge", "Instances started (any phase but pending).");
  for (const auto& sp : options_.profile.services) {
    int started = 0;
    for (const auto& v : instances(sp.name)) started += v.phase != InstancePhase::pending ? 1 : 0;
    out += fmt::format("kube_deployment_status_replicas{{namespace=\"{}\",deployment=\"{}\"}} {}\n",
                       kNamespace, sp.name, started);
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

}  // namespace crest::stack
