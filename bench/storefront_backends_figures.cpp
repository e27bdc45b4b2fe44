// The figures issue 3 asks for, measured in one run on real servers started here (MariaDB
// primary + 2 replicas, Redis, dynalite, the SQS server) and the storefront over them:
//   1. database queries per 1,000 product-detail requests, cache off vs Redis;
//   2. the primary's share of read queries, reads: primary vs replicas;
//   3. checkout latency (p50/p99) with checkout: sync vs outbox.
// Usage: storefront_backends_figures [requests, default 1000]. Traffic goes to 127.0.0.1 only.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crest/aws/sqs.hpp"
#include "crest/http/client.hpp"
#include "crest/stack/child_process.hpp"
#include "crest/stack/dynalite_server.hpp"
#include "crest/stack/fauxqs_server.hpp"
#include "crest/stack/mariadb_cluster.hpp"
#include "crest/stack/redis_server.hpp"
#include "crest/store/sqs.hpp"

namespace {

using namespace std::chrono_literals;
using crest::stack::ChildProcess;

[[noreturn]] void fail(const std::string& what) {
  std::cerr << "storefront_backends_figures: " << what << '\n';
  std::exit(1);
}

template <typename T>
T must(crest::Result<T> result, const std::string& what) {
  if (!result.ok()) fail(what + ": " + result.error().message);
  return std::move(result).value();
}

struct Storefront {
  ChildProcess process;
  std::uint16_t port;
};

Storefront start_storefront(const std::filesystem::path& dir,
                            const std::vector<std::string>& sets) {
  static int count = 0;
  const auto port_file = dir / fmt::format("storefront-{}.port", ++count);
  crest::stack::ProcessSpec spec;
  spec.program = CREST_STOREFRONT_BINARY;
  spec.args = {"all", "--seed", "--users", "0",           "--products",
               "200", "--port", "0",       "--port-file", port_file.string()};
  for (const auto& s : sets) {
    spec.args.push_back("--set");
    spec.args.push_back(s);
  }
  spec.log_path = (dir / fmt::format("storefront-{}.log", count)).string();
  auto process = must(ChildProcess::spawn(spec), "starting the storefront");
  const auto port = must(crest::stack::wait_for_port_file(port_file.string(), process, 30s),
                         "the storefront did not start (log: " + spec.log_path + ")");
  return Storefront{std::move(process), port};
}

crest::http::Response send(std::uint16_t port, crest::http::ClientRequest request) {
  thread_local std::map<std::uint16_t, std::unique_ptr<crest::http::HttpClient>> clients;
  auto& client = clients[port];
  if (!client) client = std::make_unique<crest::http::HttpClient>("127.0.0.1", port);
  return must(client->send(request), "request " + request.target);
}

// Sum of every series of `name` whose labels contain all of `matchers`.
double metric_sum(std::uint16_t port, const std::string& name,
                  const std::vector<std::string>& matchers = {}) {
  const auto text = send(port, {"GET", "/metrics", {}, ""}).body;
  double sum = 0;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0 ||
        (line.size() > name.size() && line[name.size()] != '{' && line[name.size()] != ' '))
      continue;
    if (std::all_of(matchers.begin(), matchers.end(),
                    [&](const auto& m) { return line.find(m) != std::string::npos; })) {
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return sum;
}

// Product-detail GETs over a skewed (hot-set) product choice, like real shoppers.
void browse(std::uint16_t port, int requests) {
  std::mt19937 random(7);
  std::discrete_distribution<int> popularity({50, 20, 10, 10, 10});  // 5 bands of 40 products
  for (int i = 0; i < requests; ++i) {
    const int id = popularity(random) * 40 + static_cast<int>(random() % 40) + 1;
    if (send(port, {"GET", fmt::format("/api/products/{}", id), {}, ""}).status != 200)
      fail("product read failed");
  }
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1,
                         static_cast<std::size_t>(p * static_cast<double>(values.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  const int requests = argc > 1 ? std::atoi(argv[1]) : 1000;
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("crest-figures-{}", ::getpid());
  std::filesystem::create_directories(dir);
  std::cout << "starting MariaDB (primary + 2 replicas), Redis, dynalite, the SQS server...\n";
  auto cluster = must(crest::stack::MariaDbCluster::start(dir / "mariadb", 2), "MariaDB");
  auto redis = must(crest::stack::RedisServer::start(dir / "redis"), "Redis");
  auto dynalite =
      must(crest::stack::DynaliteServer::start((dir / "dynalite").string()), "dynalite");
  auto fauxqs = must(crest::stack::FauxqsServer::start((dir / "fauxqs").string()), "SQS server");
  crest::aws::SqsOptions sqs_options;
  sqs_options.endpoint = fauxqs.endpoint();
  auto sqs = must(crest::aws::SqsClient::create(sqs_options), "SQS client");
  const auto url = [&](const crest::stack::MariaDbServer& s) {
    return fmt::format("mysql://crest:crest@127.0.0.1:{}/crest", s.port);
  };
  int queue_number = 0;
  const auto base = [&](std::vector<std::string> extra) {
    crest::store::QueueSetup setup;
    setup.name = fmt::format("figures-{}", ++queue_number);
    setup.dead_letter_name = setup.name + "-dlq";
    const auto queues = must(crest::store::ensure_queues(*sqs, setup), "queues");
    std::vector<std::string> sets = {
        "db.backend=mysql",
        "db.primary_url=" + url(cluster->primary()),
        "db.replica_urls=" + url(cluster->replica(0)) + "," + url(cluster->replica(1)),
        "redis.url=redis://127.0.0.1:" + std::to_string(redis->port()),
        "sessions.backend=dynamodb",
        "carts.backend=dynamodb",
        "dynamodb.endpoint=" + dynalite.endpoint(),
        "dynamodb.create_tables=true",
        "queue.backend=sqs",
        "sqs.endpoint=" + fauxqs.endpoint(),
        "sqs.orders_queue_url=" + queues.url,
        "auth.argon2_ops=1",
        "auth.argon2_memory_kib=64",
        "log.level=warn"};
    sets.insert(sets.end(), extra.begin(), extra.end());
    return sets;
  };

  std::cout << fmt::format(
      "\n1. database queries per 1,000 product-detail requests ({} requests, hot-set access)\n",
      requests);
  for (const char* cache : {"off", "redis"}) {
    auto shop = start_storefront(dir, base({fmt::format("cache={}", cache), "reads=replicas"}));
    const double before = metric_sum(shop.port, "crest_db_queries_total", {"operation=\"read\""});
    browse(shop.port, requests);
    const double queries =
        metric_sum(shop.port, "crest_db_queries_total", {"operation=\"read\""}) - before;
    std::cout << fmt::format("   cache={:<6} {:>7.0f} read queries per 1,000 requests\n", cache,
                             queries * 1000.0 / requests);
  }

  std::cout << "\n2. the primary's share of read queries (cache off)\n";
  for (const char* reads : {"primary", "replicas"}) {
    auto shop = start_storefront(dir, base({"cache=off", fmt::format("reads={}", reads)}));
    const double before_primary = metric_sum(shop.port, "crest_db_queries_total",
                                             {"db_server=\"primary\"", "operation=\"read\""});
    const double before_all =
        metric_sum(shop.port, "crest_db_queries_total", {"operation=\"read\""});
    browse(shop.port, requests);
    const double primary = metric_sum(shop.port, "crest_db_queries_total",
                                      {"db_server=\"primary\"", "operation=\"read\""}) -
                           before_primary;
    const double all =
        metric_sum(shop.port, "crest_db_queries_total", {"operation=\"read\""}) - before_all;
    std::cout << fmt::format("   reads={:<9} primary served {:5.1f} % of {:.0f} reads\n", reads,
                             100.0 * primary / all, all);
  }

  std::cout << "\n3. checkout latency, payment provider at 50 ms (client-side, sequential)\n";
  for (const char* checkout : {"sync", "outbox"}) {
    auto shop = start_storefront(
        dir, base({"cache=redis", fmt::format("checkout={}", checkout), "payment.latency=50ms"}));
    const std::string email = fmt::format("figures-{}@example.test", checkout);
    send(shop.port,
         {"POST",
          "/api/users",
          {},
          nlohmann::json{{"email", email}, {"password", "correct-horse"}, {"name", "F"}}.dump()});
    const auto login =
        send(shop.port, {"POST",
                         "/api/login",
                         {},
                         nlohmann::json{{"email", email}, {"password", "correct-horse"}}.dump()});
    const std::string token = nlohmann::json::parse(login.body).value("token", "");
    crest::http::Headers auth;
    auth.set("Authorization", "Bearer " + token);
    std::vector<double> millis;
    const int checkouts = std::max(50, requests / 5);
    for (int i = 0; i < checkouts; ++i) {
      send(shop.port, {"POST", "/api/cart/items", auth,
                       fmt::format(R"({{"product_id":{},"quantity":1}})", i % 150 + 1)});
      auto headers = auth;
      headers.set("Idempotency-Key", fmt::format("fig-{}", i));
      const auto start = std::chrono::steady_clock::now();
      const auto response = send(shop.port, {"POST", "/api/checkout", headers, ""});
      millis.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
      if (response.status != 201 && response.status != 202)
        fail(fmt::format("checkout answered {}", response.status));
    }
    std::cout << fmt::format("   checkout={:<7} {} checkouts: p50 {:6.1f} ms, p99 {:6.1f} ms\n",
                             checkout, checkouts, percentile(millis, 0.5),
                             percentile(millis, 0.99));
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}
