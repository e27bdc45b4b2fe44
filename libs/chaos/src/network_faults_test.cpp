// network-latency on a real HAProxy: a service instance (an http::Server here) in a backend slot,
// the fault's proxy (the crest binary's `chaos proxy`) put between them and taken out again,
// also after the command that started it was killed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "crest/chaos/stack_faults.hpp"
#include "crest/http/client.hpp"
#include "crest/http/server.hpp"
#include "crest/metrics/registry.hpp"
#include "crest/stack/child_process.hpp"
#include "crest/stack/haproxy.hpp"
#include "crest/stack/local_platform.hpp"

namespace crest::chaos {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// build/<preset>/libs/chaos/crest_chaos_test -> build/<preset>/apps/crest/crest
fs::path crest_binary() {
  return fs::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path() / "apps" /
         "crest" / "crest";
}

class NetworkLatency : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(crest_binary())) << crest_binary();
    ::setenv("CREST_BINARY", crest_binary().c_str(), 1);
    dir_ = fs::temp_directory_path() /
           ("crest-netlat-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    start_instance();
    start_haproxy();
    write_state();
  }
  void TearDown() override {
    (void)stop_all_faults(dir_);
    haproxy_.reset();
    if (server_) {
      server_->drain();
      served_.wait();
    }
    sleeper_.reset();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  // The "catalog-1" instance: answers /api/ at once, counts what it served.
  void start_instance() {
    http::Router router;
    router.add("GET", "/api/products", [this](http::Request&) {
      ++served_count_;
      return http::Response::text(200, "[]");
    });
    http::ServerOptions options;
    options.port = 0;
    options.event_loops = 1;
    server_ = std::make_unique<http::Server>(options, std::move(router),
                                             std::vector<http::Middleware>{}, registry_);
    ASSERT_TRUE(server_->listen().ok());
    served_ = std::async(std::launch::async, [this] { server_->run(); });
    // The process state.json names for the instance (its pid checked by start time).
    stack::ProcessSpec sleep;
    sleep.program = "sleep";
    sleep.args = {"120"};
    auto child = stack::ChildProcess::spawn(sleep);
    ASSERT_TRUE(child.ok()) << child.error().message;
    sleeper_.emplace(std::move(child).value());
  }

  void start_haproxy() {
    auto port = stack::free_loopback_port();
    auto metrics = stack::free_loopback_port();
    ASSERT_TRUE(port.ok() && metrics.ok());
    stack::HaproxyConfig config;
    config.port = *port;
    config.metrics_port = *metrics;
    config.socket_path = (dir_ / "haproxy.sock").string();
    config.backends = {{"catalog", {"/api/products"}, 2}};
    std::ofstream(dir_ / "haproxy.cfg") << stack::render_haproxy_config(config);
    stack::ProcessSpec spec;
    spec.program = "haproxy";
    spec.args = {"-W", "-db", "-f", (dir_ / "haproxy.cfg").string()};
    spec.log_path = (dir_ / "haproxy.log").string();
    auto child = stack::ChildProcess::spawn(spec);
    ASSERT_TRUE(child.ok()) << child.error().message;
    haproxy_.emplace(std::move(child).value());
    ASSERT_TRUE(stack::wait_for_tcp(*port, 10s).ok());
    shop_port_ = *port;
    runtime_.emplace(config.socket_path);
    // The frontend can accept before the runtime socket answers (as `crest up` does, wait for
    // both): a command sent earlier fails.
    for (int i = 0; i < 200 && !runtime_->server_stats().ok(); ++i)
      std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(runtime_->enable_server("catalog", "srv1", server_->port()).ok());
    // Routed once its health check (/readyz, through whatever the slot points at) passes.
    for (int i = 0; i < 100 && status_of("srv1") != "UP"; ++i) std::this_thread::sleep_for(50ms);
    ASSERT_EQ(status_of("srv1"), "UP");
  }

  void write_state() {
    const pid_t pid = sleeper_->pid();
    const json instance = {{"name", "catalog-1"},
                           {"pid", pid},
                           {"start_ticks", stack::process_start_ticks(pid).value_or(0)},
                           {"port", server_->port()},
                           {"phase", "ready"}};
    const json state = {
        {"supervisor_pid", ::getpid()},
        {"supervisor_start_ticks", stack::process_start_ticks(::getpid()).value()},
        {"haproxy_socket", (dir_ / "haproxy.sock").string()},
        {"components", json::array({{{"component", "catalog"}, {"instances", {instance}}}})}};
    std::ofstream(dir_ / "state.json") << state.dump();
  }

  std::string status_of(const std::string& server) const {
    auto stats = runtime_->server_stats();
    if (!stats.ok()) return "?";
    for (const auto& s : *stats) {
      if (s.backend == "catalog" && s.server == server) return s.status;
    }
    return "?";
  }

  // The port HAProxy's catalog/srv1 points at (`show servers state`, column srv_port).
  int srv1_port() const {
    auto answer = runtime_->command("show servers state catalog");
    if (!answer.ok()) return -1;
    std::istringstream in(*answer);
    std::vector<std::string> header;
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::vector<std::string> f;
      for (std::string w; words >> w;) f.push_back(w);
      if (f.empty()) continue;
      if (f[0] == "#") {
        header.assign(f.begin() + 1, f.end());
        continue;
      }
      if (header.empty() || f.size() < header.size()) continue;
      const auto name = std::find(header.begin(), header.end(), "srv_name") - header.begin();
      const auto port = std::find(header.begin(), header.end(), "srv_port") - header.begin();
      if (f[static_cast<std::size_t>(name)] == "srv1")
        return std::atoi(f[static_cast<std::size_t>(port)].c_str());
    }
    return -1;
  }

  // The median time of 9 requests through the balancer, in ms; -1 if one failed.
  double median_ms_through_balancer() {
    http::HttpClient client("127.0.0.1", shop_port_);
    std::vector<double> ms;
    for (int i = 0; i < 9; ++i) {
      http::ClientRequest request;
      request.target = "/api/products";
      const auto start = std::chrono::steady_clock::now();
      auto response = client.send(request);
      if (!response.ok() || response->status != 200) return -1;
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  }

  std::vector<pid_t> proxy_pids() const {
    std::vector<pid_t> out;
    for (const auto& entry : fs::directory_iterator(dir_ / "chaos")) {
      if (entry.path().extension() != ".pids") continue;
      std::ifstream in(entry.path());
      for (std::string line; std::getline(in, line);) out.push_back(json::parse(line)["pid"]);
    }
    return out;
  }

  static bool gone(pid_t pid) {
    for (int i = 0; i < 100; ++i) {
      std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
      std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      const auto close = stat.rfind(')');
      if (stat.empty() || (close != std::string::npos && stat[close + 2] == 'Z')) return true;
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  fs::path dir_;
  metrics::Registry registry_;
  std::unique_ptr<http::Server> server_;
  std::future<void> served_;
  std::atomic<int> served_count_{0};
  std::optional<stack::ChildProcess> sleeper_;
  std::optional<stack::ChildProcess> haproxy_;
  std::optional<stack::HaproxyRuntime> runtime_;
  std::uint16_t shop_port_ = 0;
};

TEST_F(NetworkLatency, AddsLatencyBetweenTheBalancerAndTheInstanceUntilUndone) {
  const double before = median_ms_through_balancer();
  ASSERT_GE(before, 0);
  ASSERT_LT(before, 60);
  ASSERT_EQ(srv1_port(), server_->port());

  auto started = start_fault(dir_, {"network-latency", "catalog", {{"delay_ms", "120"}}, {}});
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(started->target, "catalog");
  EXPECT_EQ(started->parameters["instances"], json::array({"catalog-1"}));
  const auto route = started->undo["balancer"]["routes"][0];
  EXPECT_EQ(route["server"], "srv1");
  EXPECT_EQ(route["instance_port"], server_->port());
  EXPECT_EQ(srv1_port(), route["proxy_port"].get<int>());  // the slot points at the proxy
  const int served_before = served_count_;
  const double during = median_ms_through_balancer();
  EXPECT_GE(during, 120) << "before " << before;
  EXPECT_EQ(served_count_ - served_before, 9);  // every request still reaches the instance
  EXPECT_EQ(status_of("srv1"), "UP");           // its health checks pass through the proxy
  const auto proxies = proxy_pids();
  ASSERT_EQ(proxies.size(), 1u);

  ASSERT_TRUE(stop_fault(dir_, started->id).ok());
  EXPECT_EQ(srv1_port(), server_->port());
  EXPECT_TRUE(gone(proxies[0]));
  const double after = median_ms_through_balancer();
  EXPECT_GE(after, 0);
  EXPECT_LT(after, 60);
}

TEST_F(NetworkLatency, IsUndoneFromTheLogAfterTheChaosCommandWasKilled) {
  // `crest chaos run ... --for 60s` waits in the foreground; SIGKILL leaves the fault in place.
  stack::ProcessSpec run;
  run.program = crest_binary().string();
  run.args = {"chaos", "run", "network-latency", "--target",   "catalog-1", "--set", "delay_ms=100",
              "--for", "60s", "--dir",           dir_.string()};
  run.log_path = (dir_ / "chaos-run.log").string();
  auto chaos = stack::ChildProcess::spawn(run);
  ASSERT_TRUE(chaos.ok()) << chaos.error().message;
  std::vector<FaultRecord> active;
  for (int i = 0; i < 200 && active.empty(); ++i) {
    std::this_thread::sleep_for(25ms);
    if (auto a = active_faults(dir_); a.ok()) active = *a;
  }
  ASSERT_EQ(active.size(), 1u);
  const int proxy_port = active[0].undo["balancer"]["routes"][0]["proxy_port"];
  for (int i = 0; i < 200 && srv1_port() != proxy_port; ++i) std::this_thread::sleep_for(25ms);
  ASSERT_EQ(srv1_port(), proxy_port);
  EXPECT_GE(median_ms_through_balancer(), 100);
  chaos->stop(0ms, SIGKILL);
  const auto proxies = proxy_pids();
  ASSERT_EQ(proxies.size(), 1u);

  auto undone = stop_all_faults(dir_);  // this process knows nothing but the log
  ASSERT_TRUE(undone.ok()) << undone.error().message;
  EXPECT_EQ(*undone, std::vector<std::string>{active[0].id});
  EXPECT_EQ(srv1_port(), server_->port());
  EXPECT_TRUE(gone(proxies[0]));
  const double after = median_ms_through_balancer();
  EXPECT_GE(after, 0);
  EXPECT_LT(after, 60);
}

TEST_F(NetworkLatency, LeavesASlotTheSupervisorGaveToAnotherInstanceSince) {
  auto started = start_fault(dir_, {"network-latency", "", {}, {}});
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(started->parameters["proxy"], "latency latency_ms=40 probability=1 match=/api/");
  // The instance restarted on another port: the supervisor points the slot at it directly.
  auto other = stack::free_loopback_port();
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(
      runtime_->command(fmt::format("set server catalog/srv1 addr 127.0.0.1 port {}", *other))
          .ok());
  ASSERT_TRUE(stop_all_faults(dir_).ok());
  EXPECT_EQ(srv1_port(), *other);  // not pointed back at the old port
}

TEST_F(NetworkLatency, RefusesWhatItCannotDo) {
  auto kind = start_fault(dir_, {"network-latency", "", {{"kind", "jitter"}}, {}});
  ASSERT_FALSE(kind.ok());
  EXPECT_THAT(kind.error().message, HasSubstr("kind=jitter"));
  auto status =
      start_fault(dir_, {"network-latency", "", {{"kind", "error"}, {"status", "200"}}, {}});
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(status.error().message, HasSubstr("status=200"));
  auto target = start_fault(dir_, {"network-latency", "redis", {}, {}});
  ASSERT_FALSE(target.ok());
  EXPECT_THAT(target.error().message, HasSubstr("redis"));
  EXPECT_FALSE(fs::exists(fault_log_path(dir_)) && fs::file_size(fault_log_path(dir_)) > 0);
}

}  // namespace
}  // namespace crest::chaos
