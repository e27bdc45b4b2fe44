#include "crest/chaos/stack_faults.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "crest/stack/cgroup.hpp"
#include "crest/stack/child_process.hpp"
#include "crest/stack/local_platform.hpp"

namespace crest::chaos {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

// A run directory whose state.json lists real processes of ours (sleep), with this test as the
// supervisor: the faults act on them as they would on the stack's servers.
class StackFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("crest-chaos-stack-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    (void)stop_all_faults(dir_);
    children_.clear();
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  pid_t start_sleeper(std::vector<std::string> cgroup_procs = {}) {
    stack::ProcessSpec spec;
    spec.program = "sleep";
    spec.args = {"60"};
    spec.cgroup_procs = std::move(cgroup_procs);
    auto child = stack::ChildProcess::spawn(spec);
    EXPECT_TRUE(child.ok()) << child.error().message;
    const pid_t pid = child->pid();
    children_.push_back(std::move(child).value());
    return pid;
  }
  // components: component -> [(name, pid)]
  void write_state(const std::map<std::string, std::vector<std::pair<std::string, pid_t>>>& c) {
    json components = json::array();
    for (const auto& [component, instances] : c) {
      json list = json::array();
      for (const auto& [name, pid] : instances) {
        list.push_back({{"name", name},
                        {"pid", pid},
                        {"start_ticks", stack::process_start_ticks(pid).value_or(0)},
                        {"port", 0},
                        {"phase", "ready"}});
      }
      components.push_back({{"component", component}, {"instances", list}});
    }
    const json state = {{"supervisor_pid", ::getpid()},
                        {"supervisor_start_ticks", stack::process_start_ticks(::getpid()).value()},
                        {"components", components}};
    std::ofstream(dir_ / "state.json") << state.dump();
  }
  static char wait_for_state(pid_t pid, char wanted) {
    char state = process_state(pid);
    for (int i = 0; i < 200 && state != wanted; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      state = process_state(pid);
    }
    return state;
  }
  static char process_state(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    return close == std::string::npos ? '?' : stat[close + 2];
  }
  std::vector<std::string> log_lines() const {
    std::ifstream in(fault_log_path(dir_));
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  fs::path dir_;
  std::vector<stack::ChildProcess> children_;
};

TEST_F(StackFaults, FreezesRedisAndResumesItFromTheLogAlone) {
  const pid_t redis = start_sleeper();
  write_state({{"redis", {{"redis", redis}}}});
  auto started = start_fault(dir_, {"redis-stop", "", {}, {}});
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(started->target, "redis");
  EXPECT_EQ(wait_for_state(redis, 'T'), 'T');
  // Nothing of the starting call survives: the undo comes from the log record.
  auto active = active_faults(dir_);
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ(active->front().undo["resume"][0]["pid"], redis);
  auto undone = stop_all_faults(dir_);
  ASSERT_TRUE(undone.ok()) << undone.error().message;
  EXPECT_EQ(*undone, std::vector<std::string>{started->id});
  EXPECT_EQ(wait_for_state(redis, 'S'), 'S');
  const auto lines = log_lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[1], HasSubstr(R"("event":"end")"));
  EXPECT_THAT(lines[1], HasSubstr(R"("how":"stopped")"));
}

TEST_F(StackFaults, FaultsStartedInTheSameMillisecondGetTheirOwnIds) {
  const pid_t redis = start_sleeper();
  const pid_t sqs = start_sleeper();
  write_state({{"redis", {{"redis", redis}}}, {"sqs", {{"sqs", sqs}}}});
  auto one = start_fault(dir_, {"redis-stop", "", {}, {}});
  auto two = start_fault(dir_, {"sqs-stop", "", {}, {}});
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_NE(one->id, two->id);
  ASSERT_TRUE(stop_fault(dir_, two->id).ok());
  auto active = active_faults(dir_);
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ(active->front().id, one->id);
  EXPECT_EQ(wait_for_state(redis, 'T'), 'T');
  EXPECT_EQ(wait_for_state(sqs, 'S'), 'S');
}

TEST_F(StackFaults, KillsOneInstanceOfAServiceAndRecordsWhichOne) {
  const pid_t one = start_sleeper();
  const pid_t two = start_sleeper();
  write_state({{"catalog", {{"catalog-1", one}, {"catalog-2", two}}}});
  auto started = start_fault(dir_, {"instance-kill", "catalog-2", {}, {}});
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(started->target, "catalog-2");
  EXPECT_EQ(started->parameters["pid"], two);
  for (int i = 0; i < 100 && stack::same_process_alive(two, 0) && process_state(two) != 'Z'; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(process_state(two) == 'Z' || !stack::same_process_alive(two, 0));
  EXPECT_EQ(wait_for_state(one, 'S'), 'S');  // the other instance lives on
}

TEST_F(StackFaults, BadInputIsAnErrorThatSaysWhat) {
  const pid_t one = start_sleeper();
  write_state({{"catalog", {{"catalog-1", one}}}});
  auto unknown = start_fault(dir_, {"meltdown", "", {}, {}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("unknown fault 'meltdown'"));
  auto parameter = start_fault(dir_, {"cpu-hog", "catalog", {{"threads", "2"}}, {}});
  ASSERT_FALSE(parameter.ok());
  EXPECT_THAT(parameter.error().message, HasSubstr("no parameter 'threads'"));
  EXPECT_THAT(parameter.error().message, HasSubstr("workers=2"));
  auto value = start_fault(dir_, {"cpu-hog", "catalog", {{"workers", "lots"}}, {}});
  ASSERT_FALSE(value.ok());
  EXPECT_THAT(value.error().message, HasSubstr("workers=lots"));
  auto target = start_fault(dir_, {"instance-kill", "cart-9", {}, {}});
  ASSERT_FALSE(target.ok());
  EXPECT_THAT(target.error().message, HasSubstr("catalog-1"));  // names what runs
  auto missing = start_fault(dir_, {"redis-stop", "", {}, {}});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("no redis"));
  auto proxy = start_fault(dir_, {"dynamodb-throttle", "", {}, {}});
  ASSERT_FALSE(proxy.ok());
  EXPECT_THAT(proxy.error().message, HasSubstr("chaos.proxy"));
  EXPECT_TRUE(log_lines().empty());  // nothing was applied, nothing logged
  std::error_code ec;
  fs::remove(dir_ / "state.json", ec);
  auto no_stack = start_fault(dir_, {"redis-stop", "", {}, {}});
  ASSERT_FALSE(no_stack.ok());
  EXPECT_THAT(no_stack.error().message, HasSubstr("state.json"));
}

TEST_F(StackFaults, CapsTheAutoscalerAndRestoresTheEarlierOverrideExactly) {
  const pid_t one = start_sleeper();
  const pid_t two = start_sleeper();
  write_state({{"catalog", {{"catalog-1", one}, {"catalog-2", two}}}});
  const json before = {{"catalog", {{"min", 1}, {"max", 6}}}, {"cart", {{"off", true}}}};
  std::ofstream(dir_ / "scale.json") << before.dump();
  auto started = start_fault(dir_, {"autoscaler-cap", "catalog", {}, {}});
  ASSERT_TRUE(started.ok()) << started.error().message;
  auto read = [&] { return json::parse(std::ifstream(dir_ / "scale.json")); };
  EXPECT_EQ(read()["catalog"]["max"], 2);  // its current count
  EXPECT_EQ(read()["cart"], before["cart"]);
  auto off = start_fault(dir_, {"autoscaler-off", "cart", {}, {}});
  ASSERT_TRUE(off.ok()) << off.error().message;
  ASSERT_TRUE(stop_all_faults(dir_).ok());
  EXPECT_EQ(read(), before);
}

TEST_F(StackFaults, SlowsNodeProvisioningThroughScaleJsonAndRestoresIt) {
  write_state({{"catalog", {{"catalog-1", start_sleeper()}}}});
  const json before = {{"catalog", {{"max", 6}}}};
  std::ofstream(dir_ / "scale.json") << before.dump();
  auto read = [&] { return json::parse(std::ifstream(dir_ / "scale.json")); };
  auto started = start_fault(dir_, {"node-provision-slow", "", {{"delay_s", "90"}}, {}});
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(read()["node-pool"]["provision_delay_ms"], 90000);
  EXPECT_EQ(read()["catalog"], before["catalog"]);
  ASSERT_EQ(active_faults(dir_)->size(), 1u);
  ASSERT_TRUE(stop_all_faults(dir_).ok());
  EXPECT_EQ(read(), before);
  auto bad = start_fault(dir_, {"node-provision-slow", "catalog", {}, {}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("node-pool"));
  auto zero = start_fault(dir_, {"node-provision-slow", "", {{"delay_s", "0"}}, {}});
  ASSERT_FALSE(zero.ok());
  EXPECT_THAT(zero.error().message, HasSubstr("delay_s"));
}

TEST_F(StackFaults, CpuHogRunsInTheInstancesCgroupUntilUndone) {
  auto tree = stack::CgroupTree::create("chaos-test-" + std::to_string(::getpid()));
  if (!tree.available()) GTEST_SKIP() << "no cgroups: " << tree.reason();
  ASSERT_TRUE(tree.make_group("catalog-1", {0.5, 0}).ok());
  const pid_t instance = start_sleeper();
  ASSERT_TRUE(tree.add_process("catalog-1", instance).ok());
  write_state({{"catalog", {{"catalog-1", instance}}}});
  auto started = start_fault(dir_, {"cpu-hog", "catalog", {{"workers", "1"}}, {}});
  ASSERT_TRUE(started.ok()) << started.error().message;
  auto members = [&] {
    std::ifstream in(tree.cpu_path() / "catalog-1" / "cgroup.procs");
    std::vector<pid_t> pids;
    for (pid_t p; in >> p;) pids.push_back(p);
    return pids;
  };
  EXPECT_EQ(members().size(), 2u);  // the instance and its hog
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto usage = tree.usage("catalog-1");
  ASSERT_TRUE(usage.has_value());
  EXPECT_GT(usage->cpu_seconds, 0.05);  // a sleeping instance alone would use ~0
  ASSERT_TRUE(stop_all_faults(dir_).ok());
  for (int i = 0; i < 100 && members().size() > 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(members(), std::vector<pid_t>{instance});
  children_.clear();
  for (int i = 0; i < 100 && !members().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  tree.remove_all();
}

TEST_F(StackFaults, FaultKindsAreDocumentedInTheCatalogue) {
  std::ifstream doc(fs::path(CREST_REPO_ROOT) / "docs" / "chaos.md");
  std::stringstream text;
  text << doc.rdbuf();
  for (const auto& k : fault_kinds()) {
    EXPECT_THAT(text.str(), HasSubstr("`" + k.name + "`")) << "docs/chaos.md lacks " << k.name;
  }
}

TEST(ProxyControlSocket, StaysShortEnoughForAUnixSocket) {
  EXPECT_EQ(proxy_control_socket("/run/x", "dynalite"), "/run/x/chaos/dynalite-proxy.sock");
  const std::string deep = "/" + std::string(120, 'd');
  const auto path = proxy_control_socket(deep, "dynalite");
  EXPECT_LT(path.size(), 108u);
  EXPECT_EQ(path, proxy_control_socket(deep, "dynalite"));  // both sides compute the same
}

TEST(FaultParameters, ParsesKeyValueItems) {
  auto ok = parse_fault_parameters({"workers=2", "match=PutItem", "empty="});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->at("workers"), "2");
  EXPECT_EQ(ok->at("empty"), "");
  auto bad = parse_fault_parameters({"workers"});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("'workers'"));
}

}  // namespace
}  // namespace crest::chaos
