// `crest up` / `status` / `scale` / `down` end to end, on one shared stack (one process runs
// every test, in order): every component answers; HAProxy's stickiness; a shopper's session
// survives their instance's death; a SIGKILLed instance is restarted; scale-out and scale-in
// under load fail no request (counted by `crest run`); the autoscaler scales out under a step load
// sized from measured CPU and back in, failing no request; `crest down` leaves no process.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crest/autoscale/response_time.hpp"
#include "crest/http/client.hpp"
#include "crest/stack/dynalite_server.hpp"
#include "crest/stack/local_platform.hpp"

namespace crest {
namespace {
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

struct CommandResult {
  int status = -1;
  std::string output;
};

CommandResult run(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  while (std::fgets(buffer, sizeof(buffer), pipe) != nullptr) result.output += buffer;
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string crest() {
  return CREST_BINARY;
}

struct Reply {
  int status = 0;
  std::string body;
  http::Headers headers;
};

// Cookie-less unless given: each call is a fresh client, like a new browser, unless `cookie`.
Reply get(std::uint16_t port, const std::string& target, const std::string& cookie = "",
          const std::string& token = "") {
  http::HttpClient client("127.0.0.1", port, {2s, 10s});
  http::ClientRequest request{"GET", target, {}, ""};
  if (!cookie.empty()) request.headers.set("Cookie", cookie);
  if (!token.empty()) request.headers.set("Authorization", "Bearer " + token);
  auto response = client.send(request);
  if (!response.ok()) return {0, response.error().message, {}};
  return {response->status, response->body, response->headers};
}

std::string set_cookie(const http::Headers& headers, const std::string& name) {
  for (const auto& [key, value] : headers.all()) {
    if (text::iequals(key, "Set-Cookie") && value.rfind(name + "=", 0) == 0)
      return value.substr(0, value.find(';'));
  }
  return "";
}

class Stack : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = fs::temp_directory_path() / ("crest-stack-it-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    const auto began = std::chrono::steady_clock::now();
    up_ = run(crest() + " up --profile scaled --dir " + dir_.string() +
              " --set services.catalog.instances=2 --set services.catalog.min=2"
              " --set services.catalog.max=4"
              " --set seed.products=40 --set seed.users=10 --set nodes.min=2 --set nodes.max=3 "
              // The autoscaler test saturates the catalogue with uncached searches: the replicas
              // that serve them keep the 500m they had, not the profile's 100m (sized for the
              // demo's baseline primary), so the catalogue stays what saturates.
              "--set nodes.provision_delay=1s --set mariadb.cpu=500m");
    startup_seconds_ =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    auto state = stack::read_state(dir_);
    if (up_.status == 0 && state.ok()) {
      state_ = *state;
      const std::string url = state_.value("shop_url", "");
      shop_port_ = static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
      const std::string prom = state_.value("prometheus_url", "");
      prometheus_port_ = static_cast<std::uint16_t>(std::stoi(prom.substr(prom.rfind(':') + 1)));
    }
  }

  static void TearDownTestSuite() {
    run(crest() + " down --dir " + dir_.string() + " --timeout 30");
    if (::testing::UnitTest::GetInstance()->failed_test_count() == 0) fs::remove_all(dir_);
  }

  void SetUp() override { ASSERT_EQ(up_.status, 0) << up_.output; }

  static json status() {
    const auto r = run(crest() + " status --json --dir " + dir_.string());
    return json::parse(r.output, nullptr, false);
  }

  static json component(const json& s, const std::string& name) {
    for (const auto& c : s["components"]) {
      if (c["component"] == name) return c;
    }
    return json::object();
  }

  // Waits until `service` has `ready` ready instances and no other phase.
  static bool wait_ready(const std::string& service, int ready, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto c = component(status(), service);
      if (c.value("ready", -1) == ready && c["instances"].size() == static_cast<std::size_t>(ready))
        return true;
      std::this_thread::sleep_for(250ms);
    }
    return false;
  }

  // Waits until instance `name` of `service` has restarted more than `restarts` times and serves.
  static json wait_restarted(const std::string& service, const std::string& name, int restarts,
                             std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto c = component(status(), service);
      for (const auto& i : c["instances"]) {
        if (i["name"] == name && i.value("restarts", 0) > restarts &&
            i.value("phase", "") == "ready" && i.value("alive", false)) {
          return i;
        }
      }
      std::this_thread::sleep_for(250ms);
    }
    return json::object();
  }

  // HAProxy's per-slot request totals (stot) of one backend, from its runtime API.
  static std::map<std::string, long> served_by_slot(const std::string& backend) {
    stack::HaproxyRuntime runtime((dir_ / "haproxy.sock").string());
    std::map<std::string, long> totals;
    auto answer = runtime.command("show stat");
    if (!answer.ok()) return totals;
    std::istringstream in(*answer);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> f;
      std::istringstream row(line);
      for (std::string field; std::getline(row, field, ',');) f.push_back(field);
      if (f.size() > 8 && f[0] == backend && f[1].rfind("srv", 0) == 0)
        totals[f[1]] = std::stol(f[7]);
    }
    return totals;
  }

  // A constant arrival rate of `steps` (by default catalogue reads) through HAProxy with
  // `crest run`; the totals of its per-second CSV (requests, failures).
  static std::pair<long, long> load(double rate, const std::string& duration,
                                    const std::string& name,
                                    const std::string& steps = kCatalogReads,
                                    const std::string& request_timeout = "5s") {
    const fs::path plan = dir_ / (name + ".yaml");
    std::ofstream(plan) << "target: {base_url: http://127.0.0.1:" << shop_port_
                        << ", timeouts: {connect: 2s, request: " << request_timeout << "}}\n"
                        << "journeys:\n  - steps:\n"
                        << steps << "load: {executor: constant-arrival-rate, rate: " << rate
                        << ", time_unit: 1s, duration: " << duration
                        << ", pre_allocated_vus: 20, max_vus: 300}\n";
    const fs::path csv = dir_ / (name + ".csv");
    const auto r = run(crest() + " run -q " + plan.string() + " --out csv=" + csv.string());
    long requests = 0, failures = 0;
    std::ifstream in(csv);
    std::string line;
    auto fields = [](const std::string& text) {
      std::vector<std::string> f;
      std::istringstream row(text);
      for (std::string field; std::getline(row, field, ',');) f.push_back(field);
      return f;
    };
    std::getline(in, line);  // header: the columns by name (docs/load.md, --out csv)
    const auto header = fields(line);
    const auto column = [&](const char* wanted) {
      return static_cast<std::size_t>(std::find(header.begin(), header.end(), wanted) -
                                      header.begin());
    };
    const auto req_col = column("requests"), fail_col = column("failures");
    while (std::getline(in, line)) {
      const auto f = fields(line);
      if (f.size() > std::max(req_col, fail_col)) {
        requests += std::stol(f[req_col]);
        failures += std::stol(f[fail_col]);
      }
    }
    if (requests == 0) ADD_FAILURE() << "crest run produced no requests: " << r.output;
    return {requests, failures};
  }

  static constexpr const char* kCatalogReads =
      "      - {name: list, request: {path: /api/products}, check: {status: 200}}\n"
      "      - {name: product, request: {path: \"/api/products/{{ randint(1, 40) }}\"}, "
      "check: {status: 200}}\n";
  // Searches whose text is new each time: every one misses the cache and reads a replica.
  static constexpr const char* kUncachedSearches =
      "      - {name: search, request: {path: \"/api/products?q=x{{ randint(1, 100000000) }}\"}, "
      "check: {status: 200}}\n";

  // CPU time (user + system) the live processes of `service` have used so far, from /proc.
  static double cpu_seconds(const std::string& service) {
    double total = 0;
    const json instances = component(status(), service)["instances"];
    for (const auto& i : instances) {
      std::ifstream stat("/proc/" + std::to_string(i.value("pid", 0)) + "/stat");
      std::string text((std::istreambuf_iterator<char>(stat)), {});
      const auto end_of_name = text.rfind(')');
      if (end_of_name == std::string::npos) continue;
      std::istringstream fields(text.substr(end_of_name + 2));
      std::vector<std::string> f;
      for (std::string field; fields >> field && f.size() < 13;) f.push_back(field);
      if (f.size() == 13)  // fields 14 and 15 of proc(5): utime, stime
        total += static_cast<double>(std::stoll(f[11]) + std::stoll(f[12])) /
                 static_cast<double>(::sysconf(_SC_CLK_TCK));
    }
    return total;
  }

  // Instances of `service` that are wanted (not draining or stopping).
  static int wanted_instances(const std::string& service) {
    int n = 0;
    const json instances = component(status(), service)["instances"];
    for (const auto& i : instances) {
      const std::string phase = i.value("phase", "");
      n += phase != "draining" && phase != "stopping" ? 1 : 0;
    }
    return n;
  }

  static inline fs::path dir_;
  static inline CommandResult up_;
  static inline json state_;
  static inline double startup_seconds_ = 0;
  static inline std::uint16_t shop_port_ = 0;
  static inline std::uint16_t prometheus_port_ = 0;
};

TEST_F(Stack, EveryComponentAnswers) {
  std::cout << "crest up took " << startup_seconds_ << " s\n";
  const auto s = status();
  ASSERT_TRUE(s.value("running", false)) << s.dump(1);
  for (const char* name : {"mariadb", "redis", "dynalite", "sqs", "haproxy", "users", "catalog",
                           "cart", "orders", "worker", "exporter", "prometheus"}) {
    const auto c = component(s, name);
    ASSERT_FALSE(c.empty()) << name << " missing from " << s.dump(1);
    EXPECT_EQ(c.value("ready", 0), c.value("desired", -1)) << name;
    for (const auto& i : c["instances"]) EXPECT_TRUE(i.value("alive", false)) << i.dump();
  }
  EXPECT_EQ(component(s, "mariadb")["instances"].size(), 3u);
  EXPECT_EQ(component(s, "catalog").value("ready", 0), 2);
  // Through HAProxy, each service's route.
  EXPECT_EQ(get(shop_port_, "/api/products").status, 200);
  EXPECT_EQ(get(shop_port_, "/api/categories").status, 200);
  EXPECT_EQ(get(shop_port_, "/api/cart").status, 401);
  EXPECT_EQ(get(shop_port_, "/api/me").status, 401);
  EXPECT_EQ(get(shop_port_, "/api/orders").status, 401);
  // Prometheus scrapes every target, and the cAdvisor-named series are there.
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  json targets;
  bool all_up = false;
  while (!all_up && std::chrono::steady_clock::now() < deadline) {
    targets = json::parse(get(prometheus_port_, "/api/v1/targets").body, nullptr, false);
    all_up = targets.is_object() && !targets["data"]["activeTargets"].empty();
    for (const auto& t : targets["data"]["activeTargets"]) all_up &= t["health"] == "up";
    if (!all_up) std::this_thread::sleep_for(500ms);
  }
  EXPECT_TRUE(all_up) << targets.dump(1);
  EXPECT_GE(targets["data"]["activeTargets"].size(),
            11u);  // 6 instances + haproxy, node, 3 mysqld, redis, self
  const auto series = json::parse(
      get(prometheus_port_,
          "/api/v1/query?query=container_cpu_usage_seconds_total%7Bpod%3D%22catalog-1%22%7D")
          .body,
      nullptr, false);
  EXPECT_EQ(series["data"]["result"].size(), 1u) << series.dump();
  // Both replicas' lag (a scrape can miss its 0.9 s timeout on a starved machine: retried).
  json lag;
  for (int attempt = 0; attempt < 20; ++attempt) {
    lag = json::parse(
        get(prometheus_port_, "/api/v1/query?query=mysql_slave_status_seconds_behind_master").body,
        nullptr, false);
    if (lag.is_object() && lag["data"]["result"].size() == 2) break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(lag["data"]["result"].size(), 2u) << lag.dump();
  if (state_.value("cgroups", "") == "enabled") {
    // The catalogue instance runs inside its cgroup, under its node's.
    const auto pid = component(s, "catalog")["instances"][0].value("pid", 0);
    std::ifstream cgroup("/proc/" + std::to_string(pid) + "/cgroup");
    const std::string text((std::istreambuf_iterator<char>(cgroup)), {});
    EXPECT_NE(text.find("/node-"), std::string::npos) << text;
  }
}

// The dashboards in deploy/grafana work against the local Prometheus unchanged: every
// kube-state-metrics selector they use (namespace, pod, horizontalpodautoscaler labels) returns
// series, and the recording and alert rules of deploy/prometheus/rules are loaded.
TEST_F(Stack, DashboardsKubeSeriesAndRulesAreLoaded) {
  const fs::path dashboards = fs::path(stack::default_repo_root()) / "deploy/grafana/dashboards";
  std::set<std::string> selectors;
  const std::regex selector(R"(kube_[a-z_]+(\{[^}]*\})?)");
  for (const auto& entry : fs::directory_iterator(dashboards)) {
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto dashboard = json::parse(text, nullptr, false);
    std::function<void(const json&)> walk = [&](const json& node) {
      if (node.is_object()) {
        for (const auto& [key, value] : node.items()) {
          if ((key == "expr" || key == "query") && value.is_string()) {
            const std::string expr = value.get<std::string>();
            for (std::sregex_iterator m(expr.begin(), expr.end(), selector), end; m != end; ++m)
              selectors.insert(std::regex_replace(m->str(), std::regex(R"(\$\w+)"), ".+"));
          } else {
            walk(value);
          }
        }
      } else if (node.is_array()) {
        for (const auto& item : node) walk(item);
      }
    };
    walk(dashboard);
  }
  ASSERT_GE(selectors.size(), 5u);
  auto url_encode = [](const std::string& text) {
    std::string out;
    for (const unsigned char c : text) {
      if (std::isalnum(c) != 0 || c == '_' || c == '.' || c == '-') {
        out += static_cast<char>(c);
      } else {
        char hex[4];
        std::snprintf(hex, sizeof(hex), "%%%02X", c);
        out += hex;
      }
    }
    return out;
  };
  // The autoscaler's gauges appear after its first sync (5 s), scraped within a second.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::set<std::string> missing = selectors;
  while (!missing.empty() && std::chrono::steady_clock::now() < deadline) {
    for (auto it = missing.begin(); it != missing.end();) {
      const auto answer = json::parse(
          get(prometheus_port_, "/api/v1/query?query=" + url_encode(*it)).body, nullptr, false);
      const bool found = answer.is_object() && !answer["data"]["result"].empty();
      it = found ? missing.erase(it) : std::next(it);
    }
    if (!missing.empty()) std::this_thread::sleep_for(500ms);
  }
  for (const auto& m : missing) ADD_FAILURE() << "no series for the dashboards' " << m;
  const auto rules = json::parse(get(prometheus_port_, "/api/v1/rules").body, nullptr, false);
  std::set<std::string> groups;
  int alerts = 0;
  for (const auto& g : rules["data"]["groups"]) {
    groups.insert(g.value("name", ""));
    for (const auto& r : g["rules"]) alerts += r.value("type", "") == "alerting" ? 1 : 0;
  }
  EXPECT_TRUE(groups.contains("crest.slo.recording")) << rules.dump();
  EXPECT_TRUE(groups.contains("crest.alerts")) << rules.dump();
  EXPECT_GE(alerts, 6);
  // The recording rules evaluate over the stack's own series (once a rate has two samples).
  const std::string recorded =
      "/api/v1/query?query=" +
      url_encode("pod:container_cpu_usage_seconds:rate1m{pod=\"catalog-1\"}");
  json cpu;
  for (int attempt = 0; attempt < 30; ++attempt) {
    cpu = json::parse(get(prometheus_port_, recorded).body, nullptr, false);
    if (cpu.is_object() && cpu["data"]["result"].size() == 1) break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(cpu["data"]["result"].size(), 1u) << cpu.dump();
}

TEST_F(Stack, StickinessKeepsAClientOnOneInstance) {
  const auto first = get(shop_port_, "/api/products");
  const std::string cookie = set_cookie(first.headers, "crest_catalog");
  ASSERT_FALSE(cookie.empty()) << "no crest_catalog cookie";
  const auto before = served_by_slot("catalog");
  for (int i = 0; i < 20; ++i) ASSERT_EQ(get(shop_port_, "/api/products", cookie).status, 200);
  const auto after = served_by_slot("catalog");
  int slots_used = 0;
  for (const auto& [slot, total] : after) {
    const long delta = total - (before.contains(slot) ? before.at(slot) : 0);
    if (delta > 0) {
      ++slots_used;
      EXPECT_EQ(delta, 20) << slot;
    }
  }
  EXPECT_EQ(slots_used, 1);
  // Without the cookie, round robin spreads requests over both instances.
  const auto spread_before = served_by_slot("catalog");
  for (int i = 0; i < 10; ++i) ASSERT_EQ(get(shop_port_, "/api/products").status, 200);
  int spread = 0;
  for (const auto& [slot, total] : served_by_slot("catalog"))
    spread += total > spread_before.at(slot) ? 1 : 0;
  EXPECT_EQ(spread, 2);
}

TEST_F(Stack, SessionSurvivesTheDeathOfItsInstance) {
  // Log in as a seeded user; carts and sessions live in DynamoDB, not in the instance.
  std::ifstream users(dir_ / "users.csv");
  std::string header, row;
  std::getline(users, header);
  std::getline(users, row);
  const std::string email = row.substr(0, row.find(','));
  const std::string password =
      row.substr(row.find(',') + 1, row.find(',', row.find(',') + 1) - row.find(',') - 1);
  http::HttpClient client("127.0.0.1", shop_port_);
  http::ClientRequest login{
      "POST", "/api/login", {}, json{{"email", email}, {"password", password}}.dump()};
  login.headers.set("Content-Type", "application/json");
  auto response = client.send(login);
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->status, 200) << response->body;
  const std::string token = json::parse(response->body).value("token", "");
  ASSERT_FALSE(token.empty());
  const auto cart = get(shop_port_, "/api/cart", "", token);
  ASSERT_EQ(cart.status, 200) << cart.body;
  // Kill every users instance (there is one): its replacement must know the session.
  const auto s = status();
  const auto instance = component(s, "users")["instances"][0];
  const pid_t pid = instance.value("pid", 0);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ASSERT_FALSE(
      wait_restarted("users", instance.value("name", ""), instance.value("restarts", 0), 30s)
          .empty());
  const auto me = get(shop_port_, "/api/me", "", token);
  EXPECT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(get(shop_port_, "/api/cart", "", token).status, 200);
}

TEST_F(Stack, KilledInstanceIsRestartedCountedAndTrafficFlows) {
  const auto s = status();
  const auto catalog = component(s, "catalog");
  const pid_t pid = catalog["instances"][0].value("pid", 0);
  const int restarts = catalog["instances"][0].value("restarts", 0);
  const std::string name = catalog["instances"][0].value("name", "");
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  // The other instance keeps serving meanwhile.
  int ok = 0;
  for (int i = 0; i < 20; ++i) ok += get(shop_port_, "/api/products").status == 200 ? 1 : 0;
  EXPECT_GE(ok, 18);
  const auto restarted = wait_restarted("catalog", name, restarts, 30s);
  ASSERT_FALSE(restarted.empty()) << status().dump(1);
  EXPECT_EQ(restarted.value("restarts", 0), restarts + 1);
  EXPECT_NE(restarted.value("pid", 0), pid);
  EXPECT_NE(restarted.value("last_termination", "").find("signal 9"), std::string::npos)
      << restarted.dump();
  // The restarted instance is back behind HAProxy.
  ASSERT_TRUE(wait_ready("catalog", 2, 10s));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(get(shop_port_, "/api/products").status, 200);
}

TEST_F(Stack, ScaleOutAndInUnderLoadFailNoRequest) {
  // Scale catalog 2 -> 4 -> 2 while `crest run` sends 30 journeys/s (60 requests/s).
  std::pair<long, long> totals;
  std::thread loader([&] { totals = load(30, "24s", "scale-load"); });
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(run(crest() + " scale catalog --replicas 4 --dir " + dir_.string()).status, 0);
  EXPECT_TRUE(wait_ready("catalog", 4, 20s));
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(run(crest() + " scale catalog --replicas 2 --dir " + dir_.string()).status, 0);
  EXPECT_TRUE(wait_ready("catalog", 2, 20s));
  loader.join();
  std::cout << "requests " << totals.first << ", failed " << totals.second << "\n";
  EXPECT_GT(totals.first, 1000);
  EXPECT_EQ(totals.second, 0);
  // The events log has the whole story.
  std::ifstream events(dir_ / "events.jsonl");
  int draining = 0, serving = 0;
  for (std::string line; std::getline(events, line);) {
    const auto e = json::parse(line, nullptr, false);
    if (e.value("service", "") != "catalog") continue;
    draining += e.value("transition", "") == "draining" ? 1 : 0;
    serving += e.value("transition", "") == "serving" ? 1 : 0;
  }
  EXPECT_GE(draining, 2);
  EXPECT_GE(serving, 4);
}

// The autoscaler (the local overlay's HPA: cpu 60 % of a 125m request, scale-down window 30 s):
// a step load scales catalog out; a light load goes on while it scales back in; no request fails.
// The step is sized from the catalogue's measured CPU per request (a short calibration run at a
// fixed count) to twice the HPA's target, so it still crosses the target when requests get
// cheaper or the machine slower; if the first step does not scale out, one 1.6 times higher
// follows.
TEST_F(Stack, AutoscalerScalesOutUnderLoadAndBackInWithoutFailures) {
  ASSERT_EQ(run(crest() + " scale catalog --replicas 2 --dir " + dir_.string()).status, 0);
  ASSERT_TRUE(wait_ready("catalog", 2, 30s));
  const double cpu_before = cpu_seconds("catalog");
  const auto calibration = load(150, "6s", "autoscale-calibration", kUncachedSearches);
  const double cpu_per_request =
      (cpu_seconds("catalog") - cpu_before) / static_cast<double>(calibration.first);
  ASSERT_GT(cpu_per_request, 0.0);
  ASSERT_EQ(calibration.second, 0);
  // Twice the CPU the HPA targets over two instances (0.6 x 125m x 2): above its tolerance once
  // the 20 s rate window holds 7 s of the step, and not so far above that the two instances
  // (500m nodes, a starved machine) queue for seconds before the scale-out.
  const double target_cores = 0.60 * 0.125 * 2;
  double rate = std::clamp(2.0 * target_cores / cpu_per_request, 100.0, 900.0);
  ASSERT_EQ(run(crest() + " scale catalog --on --dir " + dir_.string()).status, 0);

  std::atomic<bool> loading{true};
  std::atomic<int> peak{0};
  std::thread watcher([&] {
    while (loading) {
      peak = std::max(peak.load(), wanted_instances("catalog"));
      std::this_thread::sleep_for(500ms);
    }
  });
  std::string steps;
  long heavy_requests = 0, heavy_failures = 0;
  for (int step = 0; step < 2 && peak <= 2; ++step, rate = std::min(rate * 1.6, 1400.0)) {
    // A 10 s request timeout: the bar is no request lost to scaling out or in; on a machine
    // starved by other work, two saturated instances can queue a request past 5 s first.
    const auto heavy =
        load(rate, "25s", "autoscale-heavy-" + std::to_string(step), kUncachedSearches, "10s");
    heavy_requests += heavy.first;
    heavy_failures += heavy.second;
    steps += (steps.empty() ? "" : ", ") + std::to_string(std::lround(rate)) + "/s";
  }
  loading = false;
  watcher.join();
  const auto light = load(10, "60s", "autoscale-light");
  std::cout << "calibration: " << cpu_per_request * 1000
            << " ms of catalogue CPU per search; steps " << steps << ": requests " << heavy_requests
            << ", failed " << heavy_failures << "; light: requests " << light.first << ", failed "
            << light.second << "; catalog peaked at " << peak << "\n";
  EXPECT_GT(peak.load(), 2);
  EXPECT_EQ(heavy_failures, 0);
  EXPECT_EQ(light.second, 0);
  EXPECT_TRUE(wait_ready("catalog", 2, 30s)) << status().dump(1);
  std::ifstream events(dir_ / "events.jsonl");
  int ups = 0, downs = 0;
  for (std::string line; std::getline(events, line);) {
    const auto e = json::parse(line, nullptr, false);
    if (e.value("kind", "") != "decision" || e.value("service", "") != "catalog") continue;
    ups += e.value("desired", 0) > e.value("current", 0) ? 1 : 0;
    downs += e.value("desired", 0) < e.value("current", 0) ? 1 : 0;
  }
  EXPECT_GE(ups, 1);
  EXPECT_GE(downs, 1);
  // The autoscaling response time of the step (docs/benchmarks.md), as libs/autoscale reads it.
  std::ifstream log(dir_ / "events.jsonl");
  const auto responses = autoscale::autoscaling_response_times(log, "events.jsonl");
  ASSERT_TRUE(responses.ok()) << responses.error().message;
  for (const auto& r : *responses) {
    if (r.service != "catalog") continue;
    std::cout << "scale-up " << r.from_replicas << " -> " << r.to_replicas
              << ": breach -> decision " << r.breach_to_decision().count()
              << " ms, decision -> serving "
              << (r.decision_to_serving() ? std::to_string(r.decision_to_serving()->count()) + " ms"
                                          : "never")
              << (r.node_provisioned ? " (with a node provision)" : "") << "\n";
  }
}

TEST_F(Stack, SecondUpOnTheSameDirectoryIsRefused) {
  const auto again = run(crest() + " up --profile scaled --dir " + dir_.string());
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.output.find("already running"), std::string::npos) << again.output;
}

// Last: `crest down` stops every process it started (by the pids state.json records).
TEST_F(Stack, DownLeavesNoProcess) {
  const auto s = status();
  std::vector<std::pair<pid_t, std::uint64_t>> pids = {
      {s.value("supervisor_pid", 0), s.value("supervisor_start_ticks", 0ull)}};
  for (const auto& c : s["components"]) {
    for (const auto& i : c["instances"]) {
      if (i.value("pid", -1) > 0)
        pids.emplace_back(i.value("pid", 0), i.value("start_ticks", 0ull));
    }
  }
  ASSERT_GT(pids.size(), 15u);
  const auto down = run(crest() + " down --dir " + dir_.string());
  EXPECT_EQ(down.status, 0) << down.output;
  for (const auto& [pid, ticks] : pids)
    EXPECT_FALSE(stack::same_process_alive(pid, ticks)) << "pid " << pid << " still runs";
  EXPECT_NE(run(crest() + " status --dir " + dir_.string()).status, 0);
}

}  // namespace
}  // namespace crest
