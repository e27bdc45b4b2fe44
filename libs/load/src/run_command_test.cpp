// crest run end to end through run_command, against the in-process test target.
#include "crest/load/run_command.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "load_target.hpp"

namespace crest::load {
namespace {

using crest::testing::LoadTarget;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(RunCommand, ExitCodes) {
  LoadTarget target({});
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  auto run_cli = [](std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    return run_command(static_cast<int>(argv.size()), argv.data());
  };
  const std::string body = "target: " + target.url() + R"(
journeys: [{steps: [{name: hello, request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 1, duration: 200ms}
)";
  const auto ok = write("ok.yaml", body + "thresholds:\n  http_req_failed: ['rate < 0.5']\n");
  const auto breach =
      write("breach.yaml", body + "thresholds:\n  http_reqs: ['count > 100000000']\n");
  const auto bad = write("bad.yaml", body + "thresholds:\n  latency: ['p(99) < 1s']\n");
  const auto json = dir + "/out.json";
  EXPECT_EQ(run_cli({"run", ok, "-q", "--out", "json=" + json}), 0);
  std::ifstream in(json);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("\"http_reqs\""));
  EXPECT_EQ(run_cli({"run", breach, "-q"}), 99);
  const auto before = target.requests();
  EXPECT_EQ(run_cli({"run", bad, "-q"}), 2);
  EXPECT_EQ(run_cli({"run", ok, "-q", "--duration", "soon"}), 2);
  EXPECT_EQ(run_cli({"run", ok, "-q", "--out", "xml=x"}), 2);
  EXPECT_EQ(run_cli({"run", ok, "-q", "-e", "novalue"}), 2);
  EXPECT_EQ(target.requests(), before);  // plan and usage errors send nothing
}

std::string write_plan(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

int run_cli(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  return run_command(static_cast<int>(argv.size()), argv.data());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(RunCommand, InterruptedRunExits105WithSummaryAndReason) {
  LoadTarget target({});
  const auto plan = write_plan("long.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{name: hello, request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 1, duration: 30s}
thresholds:
  http_req_failed: ['rate < 0.5']
)");
  const auto json = ::testing::TempDir() + "/interrupted.json";
  std::thread interrupter([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    std::raise(SIGINT);  // run_command's handler is installed by now
  });
  const auto started = std::chrono::steady_clock::now();
  const int code = run_cli({"run", plan, "-q", "--out", "json=" + json});
  interrupter.join();
  EXPECT_EQ(code, kExitInterrupted);  // not 0, though the partial thresholds pass
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  const auto text = read_file(json);
  EXPECT_THAT(text, HasSubstr("\"stop_reason\": \"interrupted\""));
  EXPECT_THAT(text, HasSubstr("\"stop_detail\": \"SIGINT\""));
  EXPECT_GT(target.requests(), 0U);
}

TEST(RunCommand, UnwritableOutputFailsBeforeAnythingIsSent) {
  LoadTarget target({});
  const auto plan = write_plan("outputs.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{name: hello, request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 1, duration: 200ms}
)");
  const std::string nowhere = ::testing::TempDir() + "/no-such-dir/x";
  EXPECT_EQ(run_cli({"run", plan, "-q", "--out", "json=" + nowhere + ".json"}), 1);
  EXPECT_EQ(run_cli({"run", plan, "-q", "--out", "csv=" + nowhere + ".csv"}), 1);
  EXPECT_EQ(run_cli({"run", plan, "-q", "--out", "jtl=" + nowhere + ".jtl"}), 1);
  EXPECT_EQ(target.requests(), 0U);
}

TEST(RunCommand, DelayAbortEvalIgnoresWarmUpFailures) {
  LoadTarget target({});
  const auto body = "target: " + target.url() + R"(
journeys: [{steps: [{name: fail, request: {path: /status/500}}]}]
load: {executor: constant-vus, vus: 1, duration: 2500ms}
thresholds:
  http_req_failed: {conditions: ['rate < 0.5'], abort_on_fail: true)";
  const auto json = ::testing::TempDir() + "/delay.json";
  const auto eager = write_plan("eager.yaml", body + "}\n");
  EXPECT_EQ(run_cli({"run", eager, "-q", "--out", "json=" + json}), 99);
  EXPECT_THAT(read_file(json), HasSubstr("\"stop_reason\": \"abort_on_fail\""));
  const auto patient = write_plan("patient.yaml", body + ", delay_abort_eval: 10s}\n");
  EXPECT_EQ(run_cli({"run", patient, "-q", "--out", "json=" + json}), 99);  // breached at the end
  EXPECT_THAT(read_file(json), HasSubstr("\"stop_reason\": \"completed\""));
}

TEST(RunCommand, SeedIsReportedAndReproducible) {
  LoadTarget target({});
  const auto plan = write_plan("seeded.yaml", "target: " + target.url() + R"(
journeys:
  - steps:
      - request: {method: POST, path: /api/checkout, headers: {Idempotency-Key: "{{ uuid() }}"}}
load: {executor: constant-vus, vus: 1, duration: 200ms}
)");
  const auto json = ::testing::TempDir() + "/seeded.json";
  EXPECT_EQ(run_cli({"run", plan, "-q", "--seed", "424242", "--out", "json=" + json}), 0);
  EXPECT_THAT(read_file(json), HasSubstr("\"seed\": 424242"));
  const auto first = target.seen("idempotency-key").front();
  const auto sent = target.seen("idempotency-key").size();
  EXPECT_EQ(run_cli({"run", plan, "-q", "--seed", "424242"}), 0);
  EXPECT_EQ(target.seen("idempotency-key")[sent], first);
  EXPECT_EQ(run_cli({"run", plan, "-q", "--out", "json=" + json}), 0);
  EXPECT_THAT(read_file(json), Not(HasSubstr("\"seed\": 424242")));
}

}  // namespace
}  // namespace crest::load
