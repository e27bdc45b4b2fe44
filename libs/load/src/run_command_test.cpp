// crest run end to end through run_command, against the in-process test target.
#include "crest/load/run_command.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "load_target.hpp"

namespace crest::load {
namespace {

using crest::testing::LoadTarget;
using ::testing::HasSubstr;

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

}  // namespace
}  // namespace crest::load
