#include "crest/stack/local_platform.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "crest/aws/dynamodb.hpp"
#include "crest/aws/sqs.hpp"
#include "crest/stack/dynalite_server.hpp"
#include "crest/store/dynamodb.hpp"
#include "crest/store/dynamodb_tables.hpp"
#include "crest/store/sqs.hpp"
#include "local_platform_internal.hpp"
#include "loopback_http.hpp"

namespace crest::stack {
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace detail;

// ---- start-up steps ----

// MariaDB boots for seconds (InnoDB recovery, performance_schema): its servers are launched
// first and awaited after the other servers have started beside them.
Result<void> LocalPlatform::launch_databases() {
  const auto& profile = options_.profile;
  progress("mariadb",
           fmt::format("starting a primary and {} replicas (GTID)", profile.mariadb_replicas));
  MariaDbClusterOptions options;
  options.replicas = profile.mariadb_replicas;
  options.ready_timeout = 60s;
  for (int i = 0; i <= profile.mariadb_replicas; ++i) {
    const std::string name = i == 0 ? "mariadb-primary" : fmt::format("mariadb-replica{}", i);
    (void)cgroups_.make_group(name,
                              {0, profile.mariadb_limits.memory_bytes});  // CPU limit once seeded
  }
  options.cgroup_procs = [this](const std::string& server) {
    return cgroups_.procs_files("mariadb-" + server);
  };
  databases_began_ = Clock::now();
  auto cluster = MariaDbCluster::launch(options_.run_dir / "mariadb", options);
  if (!cluster.ok()) return Error{cluster.error().kind, "MariaDB: " + cluster.error().message};
  mariadb_ = std::move(cluster).value();
  return {};
}

Result<void> LocalPlatform::finish_databases() {
  const auto& profile = options_.profile;
  if (auto started = mariadb_->finish_start(); !started.ok())
    return Error{started.error().kind, "MariaDB: " + started.error().message};
  // The exporters' user: reads status and statement digests, nothing else.
  auto exporter =
      mariadb_->execute(0,
                        "CREATE USER IF NOT EXISTS 'exporter'@'127.0.0.1' IDENTIFIED BY 'exporter';"
                        "GRANT PROCESS, REPLICA MONITOR, SELECT ON *.* TO 'exporter'@'127.0.0.1';");
  if (!exporter.ok())
    return Error{exporter.error().kind, "MariaDB exporter user: " + exporter.error().message};
  const auto first = static_cast<std::ptrdiff_t>(processes_.size());
  for (int i = 0; i < mariadb_->server_count(); ++i) {
    const auto& server = mariadb_->server(i);
    Process& p = add_process("mariadb", "mariadb-" + server.name, ProcessSpec{},
                             profile.mariadb_limits, server.port);
    p.mariadb_server = i;
    p.phase = InstancePhase::ready;
    p.serving = true;
    p.spec.log_path = server.error_log.string();
    // The CPU limit follows in finish_seed: seeding at the primary's 100m would take seconds.
  }
  // First in `crest status`, as the servers everything else depends on.
  std::rotate(processes_.begin(), processes_.begin() + first, processes_.end());
  const double took = seconds_since(databases_began_);
  startup_timings_.emplace_back("mariadb", took);
  progress("mariadb", fmt::format("ready in {:.1f} s: primary 127.0.0.1:{}, replicas {}", took,
                                  mariadb_->primary().port, mariadb_->replica_count()));
  return {};
}

Result<void> LocalPlatform::await_ready(const std::vector<Process*>& starting,
                                        std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::vector<Process*> waiting = starting;
  while (!waiting.empty()) {
    for (auto it = waiting.begin(); it != waiting.end();) {
      Process& p = **it;
      if (probe_ready(p)) {
        serve(p);
        startup_timings_.emplace_back(p.name, seconds_since(p.started));
        progress(p.name, fmt::format("ready on 127.0.0.1:{} in {:.1f} s", p.port,
                                     seconds_since(p.started)));
        it = waiting.erase(it);
        continue;
      }
      if (const auto status = p.child->wait_for_exit(0ms)) {
        return died_during_startup(p.name, *status, p.spec.log_path);
      }
      ++it;
    }
    if (waiting.empty()) break;
    if (Clock::now() >= deadline) {
      const Process& p = *waiting.front();
      return Error{ErrorKind::timeout,
                   fmt::format("{} not ready on 127.0.0.1:{} after {} s; its log {}:\n{}", p.name,
                               p.port, timeout.count(), p.spec.log_path, tail(p.spec.log_path))};
    }
    std::this_thread::sleep_for(20ms);
  }
  return {};
}

Result<void> LocalPlatform::start_support_servers() {
  const auto& profile = options_.profile;
  // Launched one after another, awaited together: none depends on another.
  std::vector<Process*> starting;
  auto start_server = [&](const std::string& component, ProcessSpec spec, CgroupLimits limits,
                          std::uint16_t port) -> Result<void> {
    Process& p = add_process(component, component, std::move(spec), limits, port);
    if (auto launched = launch(p); !launched.ok())
      return Error{launched.error().kind, component + ": " + launched.error().message};
    starting.push_back(&p);
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
  if (profile.chaos_proxy) {  // crest chaos's fault proxy; the services reach DynamoDB through it
    const auto proxy_port = port(free_loopback_port());
    if (auto r = start_server(
            "dynalite-proxy",
            command(fs::read_symlink("/proc/self/exe").string(),
                    {"chaos", "proxy", "--name", "dynalite", "--dir", options_.run_dir.string(),
                     "--upstream-port", std::to_string(dynalite_port), "--listen-port",
                     std::to_string(proxy_port)},
                    options_.repo_root),
            CgroupLimits{}, proxy_port);
        !r.ok()) {
      return r;
    }
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
  if (auto ready = await_ready(starting, 60s); !ready.ok()) return ready;
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
  const auto began = Clock::now();
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
  if (!startup_done_) startup_timings_.emplace_back("queues+tables", seconds_since(began));
  return {};
}

// `storefront seed` runs while the exporters and Prometheus start (finish_seed waits for it).
Result<void> LocalPlatform::launch_seed() {
  const auto& profile = options_.profile;
  std::uint16_t redis_port = 0, dynalite_port = 0;
  for (const auto& p : processes_) {
    if (p->component == "redis") redis_port = p->port;
    if (p->component == "dynalite") dynalite_port = p->port;
  }
  for (const auto& p : processes_) {
    if (p->component == "dynalite-proxy") dynalite_port = p->port;  // chaos.proxy
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
  seed_began_ = Clock::now();
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
  seeding_.emplace(std::move(child).value());
  return {};
}

Result<void> LocalPlatform::finish_seed() {
  const std::string log = (options_.run_dir / "logs" / "seed.log").string();
  const auto status = seeding_->wait_for_exit(120s);
  if (status.value_or(-1) != 0) {
    seeding_->stop(1s, SIGKILL);
    seeding_.reset();
    return Error{ErrorKind::internal,
                 fmt::format("seeding failed ({}); its log {}:\n{}",
                             status ? describe_status(*status) : "timed out", log, tail(log))};
  }
  seeding_.reset();
  if (auto replicated = mariadb_->wait_for_replicas(30s); !replicated.ok())
    return replicated.error();
  // A start-up CPU boost, as Kubernetes' startup-cpu-boost gives: the servers' CPU limits apply
  // once the data is in and replicated.
  for (const auto& p : processes_) {
    if (p->component == "mariadb") (void)cgroups_.set_limits(p->group, p->limits);
  }
  const double took = seconds_since(seed_began_);
  startup_timings_.emplace_back("seed", took);
  progress("seed", fmt::format("done in {:.1f} s (users in {})", took,
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
  startup_timings_.emplace_back("haproxy", seconds_since(p.started));
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
  if (options_.workload_manifests.valid()) {
    const auto& manifests = options_.workload_manifests.get();
    if (manifests.ok()) {
      for (const auto& line : apply_workload_resources(options_.profile, manifests->workloads))
        progress("resources", line);
    } else {
      progress("resources", "the overlay's Deployments were not read (" +
                                manifests.error().message + "); the profile's values apply");
    }
  }
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
          return died_during_startup(p->name, *status, p->spec.log_path);
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
  startup_timings_.emplace_back("storefront", seconds_since(began));
  progress("storefront",
           fmt::format("{} instances ready in {:.1f} s", wanted, seconds_since(began)));
  return {};
}

}  // namespace crest::stack
