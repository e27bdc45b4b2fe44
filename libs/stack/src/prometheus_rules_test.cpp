// The recording and alert rules the stack's Prometheus loads (deploy/prometheus/rules) pass
// `promtool check rules`, and their unit tests (deploy/prometheus/tests: each alert fires on
// storefront-shaped series and stays silent below its threshold) pass `promtool test rules`.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "crest/stack/child_process.hpp"
#include "crest/stack/dynalite_server.hpp"
#include "crest/stack/local_platform.hpp"

namespace crest::stack {
namespace {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Outcome {
  int status = -1;
  std::string output;
};

Outcome promtool(std::vector<std::string> args, const fs::path& working_dir) {
  const fs::path log = fs::temp_directory_path() / ("crest-promtool-" + std::to_string(::getpid()));
  ProcessSpec spec;
  spec.program = "promtool";
  spec.args = std::move(args);
  spec.working_dir = working_dir.string();
  spec.log_path = log.string();
  auto child = ChildProcess::spawn(spec);
  if (!child.ok()) return {-1, child.error().message};
  const auto status = child->wait_for_exit(60s);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  fs::remove(log);
  return {status.value_or(-1), text.str()};
}

class PrometheusRules : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!require_program("promtool").ok()) GTEST_SKIP() << "promtool (Debian: prometheus) missing";
  }
  const fs::path deploy_ = fs::path(default_repo_root()) / "deploy" / "prometheus";
};

TEST_F(PrometheusRules, EveryRuleFileIsValid) {
  int files = 0;
  for (const auto& entry : fs::directory_iterator(deploy_ / "rules")) {
    if (entry.path().extension() != ".yml") continue;
    ++files;
    const auto checked = promtool({"check", "rules", entry.path().string()}, deploy_);
    EXPECT_EQ(checked.status, 0) << checked.output;
  }
  EXPECT_GE(files, 1);
}

TEST_F(PrometheusRules, AlertsFireOnStorefrontSeriesAndNotBelowThresholds) {
  const auto tested = promtool({"test", "rules", "crest.rules.test.yml"}, deploy_ / "tests");
  EXPECT_EQ(tested.status, 0) << tested.output;
  EXPECT_NE(tested.output.find("SUCCESS"), std::string::npos) << tested.output;
}

}  // namespace
}  // namespace crest::stack
