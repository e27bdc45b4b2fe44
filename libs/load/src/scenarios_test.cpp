// scenarios: several populations in one run (docs/load.md): each its executor, journeys, start
// time, tags and env; per-scenario series in the metrics, thresholds on {scenario:…} and on the
// tags a scenario sets, and the split over --processes. Against the in-process test target.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crest/load/engine.hpp"
#include "crest/load/outputs.hpp"
#include "crest/load/plan.hpp"
#include "load_target.hpp"

namespace crest::load {
namespace {

using crest::testing::LoadTarget;
using ::testing::HasSubstr;

Plan plan_for(const std::string& yaml, const PlanOverrides& o = {}) {
  auto p = parse_plan(yaml, "scenarios.yaml", o, ::testing::TempDir());
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? std::move(p.value()) : Plan{};
}

std::string two_scenarios(const std::string& url) {
  return "target: " + url + R"(
journeys:
  - name: api
    steps: [{name: api, request: {path: "/api/{{ env.CLIENT }}"}, check: {status: 200}}]
  - name: browse
    steps: [{name: browse, request: {path: /browse}}]
scenarios:
  partner:
    executor: shared-iterations
    vus: 3
    iterations: 11
    journeys: [api]
    tags: {kind: api}
    env: {CLIENT: partner}
  browsers:
    executor: constant-arrival-rate
    rate: 20
    duration: 1s
    start_time: 600ms
    pre_allocated_vus: 2
    max_vus: 4
    journeys: {browse: 1}
)";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Scenarios, RunTogetherEachWithItsExecutorStartTimeAndEnv) {
  LoadTarget target({});
  auto plan = plan_for(two_scenarios(target.url()) + R"(
thresholds:
  "http_reqs{scenario:partner}": ["count == 11"]
  "iterations{kind:api}": ["count == 11"]
  "http_reqs{scenario:browsers}": ["count > 1000"]
)");
  ASSERT_EQ(plan.scenarios.size(), 2u);
  RunOptions options;
  options.threads = 2;
  options.seed = 3;
  options.jtl_path = ::testing::TempDir() + "/scenarios.jtl";
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_plan(plan, options);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.totals.scenarios.size(), 2u);
  // shared-iterations: exactly its total, and only its journey, with its env.
  EXPECT_EQ(r.totals.scenarios[0].requests.requests, 11u);
  EXPECT_EQ(r.totals.scenarios[0].iterations.iterations, 11u);
  EXPECT_EQ(target.count("/api/partner"), 11u);
  EXPECT_EQ(target.count("/api/"), 0u);
  // The arrival-rate scenario starts 600 ms in and runs 1 s at 20/s: about 20 arrivals.
  const auto& browsers = r.totals.scenarios[1];
  EXPECT_GE(browsers.iterations.iterations + browsers.dropped, 19u);
  EXPECT_LE(browsers.iterations.iterations + browsers.dropped, 20u);
  EXPECT_EQ(browsers.dropped, r.totals.dropped);
  EXPECT_EQ(target.count("/browse"), browsers.requests.requests);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(1550));
  EXPECT_EQ(r.totals.requests(), 11u + browsers.requests.requests);
  // Thresholds select the scenario's samples, by name and by the tags it sets.
  const auto results = evaluate_thresholds(plan, r.totals, r.elapsed_s);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_TRUE(results[0].passed) << results[0].shown;
  EXPECT_TRUE(results[1].passed) << results[1].shown;
  EXPECT_FALSE(results[2].passed) << results[2].shown;
  // The summary and the JSON list each scenario.
  const auto summary = format_summary(plan, r, results);
  EXPECT_THAT(summary, HasSubstr("SCENARIO"));
  EXPECT_THAT(summary, HasSubstr("partner"));
  EXPECT_THAT(summary, HasSubstr("browsers"));
  // JTL: threadName is the scenario's, as JMeter names a thread after its thread group.
  const auto jtl = read_file(options.jtl_path);
  EXPECT_THAT(jtl, HasSubstr(",partner 1-"));
  EXPECT_THAT(jtl, HasSubstr(",browsers 1-"));
  const auto json = nlohmann::json::parse(format_json(plan, r, results));
  ASSERT_EQ(json["scenarios"].size(), 2u);
  EXPECT_EQ(json["scenarios"][0]["name"], "partner");
  EXPECT_EQ(json["scenarios"][0]["requests"], 11);
  EXPECT_EQ(json["scenarios"][0]["tags"]["kind"], "api");
  EXPECT_EQ(json["scenarios"][1]["executor"], "constant-arrival-rate");
}

TEST(Scenarios, StartTimeDelaysTheScenariosFirstRequest) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{name: j, steps: [{name: late, request: {path: /late}}]}]
scenarios:
  early: {executor: shared-iterations, vus: 1, iterations: 1}
  late: {executor: per-vu-iterations, vus: 2, iterations: 2, start_time: 700ms}
)");
  RunOptions options;
  options.threads = 1;
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_plan(plan, options);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.totals.scenarios[0].iterations.iterations, 1u);
  EXPECT_EQ(r.totals.scenarios[1].iterations.iterations, 4u);  // per VU: 2 x 2
  EXPECT_EQ(target.count("/late"), 5u);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(700));
  EXPECT_EQ(r.peak_vus, 2);
}

// Each scenario stops on its own clock: one past its end and its graceful_stop is cut (here in
// its think time) while the other scenario goes on.
TEST(Scenarios, EachScenarioHasItsOwnGracefulStop) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys:
  - {name: slow, steps: [{name: slow, request: {path: /slow}, think: 5s}]}
  - {name: quick, steps: [{name: quick, request: {path: /quick}, think: 100ms}]}
scenarios:
  slow: {vus: 1, duration: 200ms, graceful_stop: 100ms, journeys: [slow]}
  quick: {vus: 1, duration: 1200ms, graceful_stop: 0s, journeys: [quick]}
)");
  RunOptions options;
  options.threads = 1;
  const auto started = std::chrono::steady_clock::now();
  const auto r = run_plan(plan, options);
  ASSERT_TRUE(r.error.empty()) << r.error;
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(target.count("/slow"), 1u);   // cut in its think time at 300 ms, not run again
  EXPECT_GE(target.count("/quick"), 8u);  // the other one ran its 1.2 s
  // One second in, only the quick scenario's VU is busy: the slow one's was stopped at 300 ms.
  ASSERT_GE(r.timeline.size(), 2u);
  EXPECT_EQ(r.timeline[0].active_vus, 1);
  EXPECT_LT(took, std::chrono::milliseconds(2500));
}

// A plan with one scenario records each request once (no per-scenario series while it runs);
// its scenario's figures are the load's, filled when the load ends: without the setup's and
// teardown's requests, and the same through the in-process run, the JSON and --processes.
TEST(Scenarios, OneScenarioGetsTheLoadsFiguresWithoutSetupAndTeardown) {
  LoadTarget target({});
  const std::string dir = ::testing::TempDir();
  const auto path = dir + "/one_scenario.yaml";
  std::ofstream(path) << "target: " + target.url() + R"(
setup: {steps: [{name: open, request: {path: /status/200}}]}
teardown: {steps: [{name: close, request: {path: /status/204}}]}
journeys: [{name: j, steps: [{name: item, request: {path: /hello}, check: {status: 200}}]}]
load: {executor: shared-iterations, vus: 2, iterations: 7}
thresholds:
  "http_reqs{scenario:default}": ["count == 7"]
  "checks{scenario:default}": ["rate == 1"]
)";
  RunOptions options;
  options.threads = 1;
  const auto plan = plan_for(read_file(path));
  const auto r = run_plan(plan, options);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.totals.requests(), 9u);  // setup + 7 + teardown
  ASSERT_EQ(r.totals.scenarios.size(), 1u);
  EXPECT_EQ(r.totals.scenarios[0].requests.requests, 7u);
  EXPECT_EQ(r.totals.scenarios[0].requests.duration.count(), 7u);
  EXPECT_EQ(r.totals.scenarios[0].iterations.iterations, 7u);
  EXPECT_EQ(r.totals.scenarios[0].checks[0], 7u);
  for (const auto& result : evaluate_thresholds(plan, r.totals, r.elapsed_s)) {
    EXPECT_TRUE(result.passed) << result.threshold->source << ": " << result.shown;
  }
  // While the load runs the totals have no scenario series; thresholds read the whole run's.
  MetricSet running = MetricSet::for_plan(plan);
  EXPECT_TRUE(running.scenarios.empty());
  running.steps[0].requests = 7;
  const auto while_running = evaluate_thresholds(plan, running, 1.0);
  ASSERT_FALSE(while_running.empty());
  EXPECT_TRUE(while_running[0].passed) << while_running[0].shown;

  const auto json_path = dir + "/one_scenario.json";
  const std::string command = std::string(CREST_BINARY) + " run " + path +
                              " --processes 2 -q --out json=" + json_path + " > /dev/null";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const auto json = nlohmann::json::parse(read_file(json_path));
  ASSERT_EQ(json["scenarios"].size(), 1u);
  EXPECT_EQ(json["scenarios"][0]["name"], "default");
  EXPECT_EQ(json["scenarios"][0]["requests"], 7);
  EXPECT_EQ(json["scenarios"][0]["iterations"], 7);
  EXPECT_EQ(json["thresholds"][0]["passed"], true);
}

// The command: --processes splits every scenario exactly, and a tag-filtered threshold that
// fails ends the run with 99.
TEST(Scenarios, ProcessesSplitEveryScenarioAndATagThresholdFailsTheRun) {
  LoadTarget target({});
  const std::string dir = ::testing::TempDir();
  const auto path = dir + "/scenarios_cli.yaml";
  std::ofstream(path) << two_scenarios(target.url()) << R"(
thresholds:
  "http_req_duration{kind:api}": ["max < 0ms"]
)";
  const auto json_path = dir + "/scenarios_cli.json";
  const std::string command = std::string(CREST_BINARY) + " run " + path +
                              " --processes 2 -q --out json=" + json_path + " > /dev/null";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 99);
  EXPECT_EQ(target.count("/api/partner"), 11u);  // 6 + 5: the total, not 11 per process
  const auto json = nlohmann::json::parse(read_file(json_path));
  EXPECT_EQ(json["processes"], 2);
  EXPECT_EQ(json["scenarios"][0]["iterations"], 11);
  EXPECT_EQ(json["scenarios"][1]["requests"], target.count("/browse"));
  EXPECT_EQ(json["thresholds"][0]["passed"], false);
}

}  // namespace
}  // namespace crest::load
