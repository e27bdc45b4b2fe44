#include "app.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "auth.hpp"
#include "backends.hpp"
#include "background_workers.hpp"
#include "crest/http/server.hpp"
#include "crest/metrics/process_metrics.hpp"
#include "seed.hpp"
#include "services.hpp"

namespace crest::storefront {
namespace {

const std::map<std::string, std::uint16_t> kRolePorts = {{"all", 8080},     {"users", 8081},
                                                         {"catalog", 8082}, {"cart", 8083},
                                                         {"orders", 8084},  {"worker", 8085}};

struct CommandLine {
  std::string role;
  std::string config_file;
  std::vector<std::string> assignments;
  std::optional<int> port;
  std::string port_file;
  bool seed = false;
  SeedPlan seed_plan;
};

void write_port_file(const std::string& path, std::uint16_t port) {
  // Write then rename, so a reader never sees a half-written file.
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << port << '\n';
  }
  std::filesystem::rename(temporary, path);
}

Config load_config(const CommandLine& cli) {
  Config config(config_schema());
  if (!cli.config_file.empty()) config.load_file(cli.config_file);
  for (const auto& name : config.load_env()) {
    log::Logger("storefront")
        .warn("environment variable names no configuration key; ignored", {{"variable", name}});
  }
  for (const auto& assignment : cli.assignments) config.set_from_flag(assignment);
  if (cli.port) config.set("http.port", std::to_string(*cli.port), "--port");
  if (config.source_of("http.port") == "default" && kRolePorts.contains(cli.role)) {
    config.set("http.port", std::to_string(kRolePorts.at(cli.role)), "the role's default port");
  }
  return config;
}

ShopSettings shop_settings(const Config& config) {
  ShopSettings settings;
  settings.session_ttl =
      std::chrono::duration_cast<std::chrono::seconds>(config.get_duration("auth.session_ttl"));
  settings.argon2_ops = static_cast<std::uint64_t>(config.get_int("auth.argon2_ops"));
  settings.argon2_memory_bytes =
      static_cast<std::size_t>(config.get_int("auth.argon2_memory_kib")) * 1024;
  settings.payment_latency = config.get_duration("payment.latency");
  settings.checkout_claim_timeout = config.get_duration("orders.claim_timeout");
  settings.secure_cookie = config.get_bool("auth.secure_cookie");
  settings.login_failures_per_account =
      static_cast<int>(config.get_int("auth.login_failures_per_account"));
  settings.login_failures_per_address =
      static_cast<int>(config.get_int("auth.login_failures_per_address"));
  settings.crash_after_cart_claim = config.get_bool("testing.crash_after_cart_claim");
  settings.payment_failure_rate = config.get_double("payment.failure_rate");
  if (settings.payment_failure_rate < 0 || settings.payment_failure_rate > 1) {
    throw ConfigError(fmt::format("{}: 'payment.failure_rate' must be between 0 and 1",
                                  config.source_of("payment.failure_rate")));
  }
  return settings;
}

int seed(const CommandLine& cli, const Config& config) {
  if (config.get_string("db.backend") == "sqlite" &&
      config.get_string("store.sqlite_path") == ":memory:") {
    std::cerr
        << "storefront seed: store.sqlite_path is ':memory:', which vanishes when this command "
           "exits; set --set store.sqlite_path=FILE, or seed at start with 'storefront all "
           "--seed'\n";
    return 2;
  }
  metrics::Registry registry;
  auto backends = open_backends(config, registry, Clock::system());
  if (!backends.ok()) {
    std::cerr << "storefront seed: " << backends.error().message << '\n';
    return 1;
  }
  const auto settings = shop_settings(config);
  PasswordHasher hasher(settings.argon2_ops, settings.argon2_memory_bytes);
  auto summary = seed_shop(backends->view(), hasher, cli.seed_plan);
  if (!summary.ok()) {
    std::cerr << "storefront seed: " << summary.error().message << '\n';
    return 1;
  }
  std::cout << nlohmann::json{{"categories", summary->categories},
                              {"products", summary->products},
                              {"users", summary->users},
                              {"users_csv", cli.seed_plan.users_csv}}
                   .dump()
            << '\n';
  return 0;
}

int serve(const CommandLine& cli, const Config& config) {
  const std::string& role = cli.role;
  const bool all = role == "all";
  log::Logger logger(all ? "storefront" : role);
  metrics::Registry registry;
  metrics::register_process_metrics(registry);
  registry
      .gauge_family("crest_build_info", "Build and role of this process (always 1).",
                    {"role", "version"})
      .with({role, "0.1.0"})
      .set(1);

  auto backends = open_backends(config, registry, Clock::system());
  if (!backends.ok()) {
    logger.error("cannot open the backends", {{"error", backends.error().message}});
    return 1;
  }
  if ((role == "orders" || role == "worker") && !backends->shared_queue) {
    // The embedded queue lives in one process's SQLite database; split roles need a queue server.
    logger.error(
        "this role needs a queue shared between processes (queue.backend: sqs); the "
        "embedded queue only works in the 'all' role",
        {{"role", role}});
    return 2;
  }
  Shop shop{backends->view(), shop_settings(config), &registry, &Clock::system(), logger};
  PasswordHasher hasher(shop.settings.argon2_ops, shop.settings.argon2_memory_bytes);

  if (cli.seed) {
    auto summary = seed_shop(shop.stores, hasher, cli.seed_plan);
    if (!summary.ok() && summary.error().kind != ErrorKind::conflict) {
      logger.error("seeding failed", {{"error", summary.error().message}});
      return 1;
    }
    logger.info(summary.ok() ? "seeded" : "already seeded",
                summary.ok() ? nlohmann::json{{"categories", summary->categories},
                                              {"products", summary->products},
                                              {"users", summary->users},
                                              {"users_csv", cli.seed_plan.users_csv}}
                             : nlohmann::json::object());
  }

  http::Router router;
  router.set_blocking_by_default(true);  // handlers call stores; cache hits opt out per route
  if (all || role == "users") add_users_routes(router, shop, hasher);
  if (all || role == "catalog") add_catalog_routes(router, shop);
  if (all || role == "cart") add_cart_routes(router, shop);
  const bool sync_checkout =
      (all || role == "orders") && checkout_mode(config) == CheckoutMode::sync;
  // The processor completes orders: in the worker, or inside the request with `checkout: sync`.
  std::unique_ptr<OrderProcessor> processor;
  if (all || role == "worker" || sync_checkout) {
    processor = std::make_unique<OrderProcessor>(
        shop, PaymentSimulator(shop.settings.payment_latency, shop.settings.payment_failure_rate));
  }
  std::unique_ptr<OutboxRelay> relay;
  std::unique_ptr<OrderWorker> worker;
  if (all || role == "orders") {
    add_orders_routes(router, shop, sync_checkout ? processor.get() : nullptr);
    relay = std::make_unique<OutboxRelay>(
        shop, OutboxRelayOptions{config.get_duration("outbox.poll_interval"),
                                 static_cast<int>(config.get_int("outbox.batch_size")),
                                 config.get_duration("outbox.republish_after")});
  }
  if (all || role == "worker") {
    worker = std::make_unique<OrderWorker>(
        shop, *processor,
        WorkerOptions{static_cast<int>(config.get_int("worker.concurrency")),
                      config.get_duration("worker.poll_wait"),
                      config.get_duration("queue.visibility_timeout")});
  }

  http::ServerOptions options;
  options.address = config.get_string("http.address");
  const auto port = config.get_int("http.port");
  if (port < 0 || port > 65535) {
    throw ConfigError(
        fmt::format("{}: 'http.port' must be 0..65535", config.source_of("http.port")));
  }
  options.port = static_cast<std::uint16_t>(port);
  options.event_loops = static_cast<int>(config.get_int("http.event_loops"));
  options.blocking_threads = static_cast<int>(config.get_int("http.threads"));
  options.max_connections = static_cast<std::size_t>(config.get_int("http.max_connections"));
  options.header_timeout = config.get_duration("http.header_timeout");
  options.drain_delay = config.get_duration("http.drain_delay");
  options.body_limit = static_cast<std::size_t>(config.get_int("http.body_limit"));
  options.read_timeout = config.get_duration("http.read_timeout");
  options.idle_timeout = config.get_duration("http.idle_timeout");
  options.drain_grace = config.get_duration("http.drain_grace");
  options.service_name = all ? "storefront" : role;
  http::Server server(options, std::move(router), http::standard_middleware(logger, registry),
                      registry);
  if (const auto listening = server.listen(); !listening.ok()) {
    logger.error(listening.error().message);
    return 1;
  }
  if (!cli.port_file.empty()) write_port_file(cli.port_file, server.port());
  if (relay) relay->start();
  if (worker) worker->start();
  server.on_drain([&] {
    if (worker) worker->request_stop();
    if (relay) relay->request_stop();
  });
  server.run();
  if (worker) worker->stop();
  if (relay) relay->stop();
  logger.info("stopped");
  return 0;
}

}  // namespace

std::vector<ConfigOption> config_schema() {
  using T = ConfigType;
  std::vector<ConfigOption> schema = {
      {"http.address", T::string, "127.0.0.1", "address to listen on"},
      {"http.port", T::integer, "8080",
       "port to listen on (0: any free port); default per role: all 8080, users 8081, catalog "
       "8082, cart 8083, orders 8084, worker 8085"},
      {"http.event_loops", T::integer, "0",
       "event loops serving connections (0: one per CPU of the cgroup quota)"},
      {"http.threads", T::integer, "8",
       "threads of the pool for handlers that block (database calls, Argon2)"},
      {"http.max_connections", T::integer, "10000",
       "open connections at most; beyond, new ones are closed at once"},
      {"http.header_timeout", T::duration, "10s",
       "time from a request's first byte to its complete header"},
      {"http.drain_delay", T::duration, "5s",
       "on SIGTERM, time /readyz answers 503 while still serving"},
      {"http.body_limit", T::integer, "1048576", "largest request body in bytes (413 above)"},
      {"http.read_timeout", T::duration, "30s", "time allowed to receive a request"},
      {"http.idle_timeout", T::duration, "60s", "keep-alive connections idle this long are closed"},
      {"http.drain_grace", T::duration, "10s", "on SIGTERM, time allowed for in-flight requests"},
      {"log.level", T::string, "info", "debug, info, warn or error"},
      {"store.sqlite_path", T::string, ":memory:", "SQLite database of the embedded mode"},
      {"store.pool_size", T::integer, "4", "SQLite connections"},
      {"cache.capacity", T::integer, "10000", "entries in the in-process cache (cache: memory)"},
      {"auth.session_ttl", T::duration, "24h", "how long a login lasts"},
      {"auth.argon2_ops", T::integer, "2", "Argon2id passes"},
      {"auth.login_failures_per_account", T::integer, "10",
       "failed logins per minute (and burst) per account before 429 (0: no limit)"},
      {"auth.login_failures_per_address", T::integer, "100",
       "failed logins per minute (and burst) per client address before 429 (0: no limit)"},
      {"auth.secure_cookie", T::boolean, "true",
       "send the session cookie with Secure (set false only for plain-HTTP local runs)"},
      {"auth.argon2_memory_kib", T::integer, "19456", "Argon2id memory in KiB"},
      {"queue.visibility_timeout", T::duration, "30s",
       "how long a received order message stays invisible"},
      {"queue.max_receive_count", T::integer, "5",
       "deliveries before a message goes to the dead-letter queue"},
      {"worker.concurrency", T::integer, "4",
       "orders processed in parallel (0: no consumer in this process)"},
      {"worker.poll_wait", T::duration, "1s", "long-poll wait on the orders queue"},
      {"testing.crash_after_cart_claim", T::boolean, "false",
       "fault injection: checkout exits between claiming cart lines and committing the order"},
      {"payment.latency", T::duration, "50ms", "simulated payment provider latency"},
      {"payment.failure_rate", T::number, "0", "share of payments declined (0..1)"},
  };
  for (auto& option : orders_config_schema()) schema.push_back(std::move(option));
  for (auto& option : backend_config_schema()) schema.push_back(std::move(option));
  return schema;
}

int main(int argc, char** argv) {
  CLI::App app{
      "Crest storefront: serves one role of the shop, or all of them in one process.\n"
      "Roles: all, users, catalog, cart, orders, worker. 'seed' writes test data."};
  app.set_help_all_flag("--help-all", "show every option");
  CommandLine cli;
  bool help_config = false;
  app.add_option("role", cli.role, "all | users | catalog | cart | orders | worker | seed")
      ->check(CLI::IsMember({"all", "users", "catalog", "cart", "orders", "worker", "seed"}));
  app.add_option("-c,--config", cli.config_file, "YAML configuration file")
      ->check(CLI::ExistingFile);
  app.add_option("--set", cli.assignments, "override a configuration key: --set http.threads=4");
  app.add_option("-p,--port", cli.port, "port to listen on (0: any free port)");
  app.add_option("--port-file", cli.port_file, "write the bound port to this file once listening");
  app.add_flag("--help-config", help_config, "list every configuration key with its default");
  app.add_flag("--seed", cli.seed, "seed test data at start if the store is empty (role all)");
  app.add_option("--categories", cli.seed_plan.categories, "seed: number of categories")
      ->check(CLI::Range(1, 1000));
  app.add_option("--products", cli.seed_plan.products, "seed: number of products")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--users", cli.seed_plan.users, "seed: number of users")
      ->check(CLI::Range(0, 100000));
  app.add_option("--seed-value", cli.seed_plan.seed, "seed: random seed (same seed, same data)");
  app.add_option("--users-csv", cli.seed_plan.users_csv,
                 "seed: write test users' email,password,name here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (help_config) {
    std::cout << "Configuration keys (YAML file < environment < --set):\n"
              << Config(config_schema()).describe();
    return 0;
  }
  if (cli.role.empty()) {
    std::cerr << "storefront: name a role (all, users, catalog, cart, orders, worker) or 'seed'; "
                 "see --help\n";
    return 2;
  }
  try {
    const Config config = load_config(cli);
    log::set_level(log::parse_level(config.get_string("log.level")));
    return cli.role == "seed" ? seed(cli, config) : serve(cli, config);
  } catch (const ConfigError& e) {
    std::cerr << "storefront: configuration error: " << e.what() << '\n';
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "storefront: " << e.what() << '\n';
    return 2;
  }
}

}  // namespace crest::storefront
