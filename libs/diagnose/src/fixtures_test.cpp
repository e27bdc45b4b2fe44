// Replays every fixture case under libs/diagnose/fixtures/ (inputs in the formats users hand to
// `crest diagnose`, and expected.json) and checks the cause named first.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crest/diagnose/command.hpp"
#include "crest/diagnose/diagnosis.hpp"

namespace crest::diagnose {
namespace {

namespace fs = std::filesystem;

bool has_prefix(const std::string& s, const char* p) {
  return s.rfind(p, 0) == 0;
}

// File names say the format: prometheus*.json, cloudwatch*.json, load-run*.json, logs*.jsonl,
// <service>.logback.log, slow-<server>.log, digests*.jsonl, replica-status*.jsonl,
// autoscaler*.jsonl, haproxy*.csv.
InputFiles inputs_of(const fs::path& dir) {
  InputFiles f;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    const auto path = entry.path().string();
    if (has_prefix(name, "prometheus")) {
      f.prometheus.push_back(path);
    } else if (has_prefix(name, "cloudwatch")) {
      f.cloudwatch.push_back(path);
    } else if (has_prefix(name, "load-run")) {
      f.load_runs.push_back(path);
    } else if (has_prefix(name, "logs")) {
      f.json_logs.push_back(path);
    } else if (name.find(".logback.") != std::string::npos) {
      f.logback_logs.push_back(name.substr(0, name.find('.')) + "=" + path);
    } else if (has_prefix(name, "slow-")) {
      f.slow_logs.push_back(name.substr(5, name.find('.') - 5) + "=" + path);
    } else if (has_prefix(name, "digests")) {
      f.digests.push_back(path);
    } else if (has_prefix(name, "replica-status")) {
      f.replica_status.push_back(path);
    } else if (has_prefix(name, "autoscaler")) {
      f.autoscaler_logs.push_back(path);
    } else if (has_prefix(name, "haproxy")) {
      f.haproxy.push_back(path);
    }
  }
  return f;
}

TEST(Fixtures, EachCaseNamesItsExpectedCauseFirst) {
  int cases = 0;
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(CREST_DIAGNOSE_FIXTURES)) {
    if (entry.is_directory()) {
      dirs.push_back(entry.path());
    }
  }
  std::sort(dirs.begin(), dirs.end());
  for (const auto& dir : dirs) {
    SCOPED_TRACE(dir.filename().string());
    std::ifstream expected_file(dir / "expected.json");
    ASSERT_TRUE(expected_file) << "missing expected.json";
    const auto expected = nlohmann::json::parse(expected_file);
    auto inputs = read_inputs(inputs_of(dir));
    ASSERT_TRUE(inputs.ok()) << inputs.error().message;
    const auto d = diagnose(std::move(*inputs));
    ASSERT_FALSE(d.causes.empty()) << format_text(d);
    EXPECT_EQ(d.causes.front().component, expected["component"].get<std::string>())
        << format_text(d);
    EXPECT_EQ(d.causes.front().mechanism, expected["mechanism"].get<std::string>())
        << format_text(d);
    ASSERT_FALSE(d.components.empty());
    EXPECT_EQ(d.components.front().component, expected["component"].get<std::string>())
        << format_text(d);
    ++cases;
  }
  EXPECT_GE(cases, 6);
}

}  // namespace
}  // namespace crest::diagnose
