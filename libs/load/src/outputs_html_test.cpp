// crest run --out html=FILE: the page is libs/report's, self-contained, and carries the run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <sstream>

#include "crest/load/outputs.hpp"
#include "load_target.hpp"

namespace crest::load {
namespace {

using ::testing::HasSubstr;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The report data embedded in the page (<script type="application/json" id="report-data">).
nlohmann::json page_data(const std::string& page) {
  const std::string open = "<script type=\"application/json\" id=\"report-data\">";
  const auto from = page.find(open);
  const auto to = page.find("</script>", from);
  if (from == std::string::npos || to == std::string::npos) {
    return nullptr;
  }
  return nlohmann::json::parse(page.substr(from + open.size(), to - from - open.size()), nullptr,
                               false);
}

TEST(HtmlOutput, OneSelfContainedPageWithTheRunsSeriesAndTables) {
  crest::testing::LoadTarget target({});
  const auto dir = ::testing::TempDir();
  const auto plan = dir + "/html_plan.yaml";
  std::ofstream(plan) << "target: " << target.url() << R"(
journeys: [{steps: [{name: "hello </script><b>", request: {path: /hello}, check: {status: 200}}]}]
load: {executor: constant-arrival-rate, rate: 50, duration: 2s, pre_allocated_vus: 2, max_vus: 4}
thresholds:
  http_req_failed: ['rate < 0.5']
)";
  const auto html = dir + "/html_run.html";
  const auto json = dir + "/html_run.json";
  const int status = std::system((std::string(CREST_BINARY) + " run " + plan +
                                  " -q --out html=" + html + " --out json=" + json + " > /dev/null")
                                     .c_str());
  ASSERT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
  const auto page = read_file(html);
  // Self-contained: uPlot inlined, nothing fetched (no src= or href= at all, no URL but the
  // target's inside the data), and the step name cannot close the data element.
  EXPECT_THAT(page, HasSubstr("uPlot"));
  EXPECT_FALSE(std::regex_search(page, std::regex(R"((src|href)\s*=)")));
  EXPECT_EQ(page.find("hello </script>"), std::string::npos);
  const auto data = page_data(page);
  ASSERT_TRUE(data.is_object());
  EXPECT_EQ(data["show_slo"], false);
  ASSERT_EQ(data["phases"].size(), 1u);
  const auto& phase = data["phases"][0];
  const auto run = nlohmann::json::parse(read_file(json));
  EXPECT_EQ(phase["summary"]["requests"], run["http_reqs"]);
  EXPECT_GE(run["http_reqs"].get<int>(), 95);
  std::vector<std::string> charts;
  for (const auto& c : phase["charts"]) {
    charts.push_back(c["id"]);
  }
  EXPECT_THAT(charts, ::testing::ElementsAre("latency", "throughput", "errors", "vus", "dropped"));
  std::map<std::string, nlohmann::json> tables;
  for (const auto& t : phase["tables"]) {
    tables[t["title"]] = t;
  }
  ASSERT_TRUE(tables.count("Thresholds"));
  EXPECT_EQ(tables["Thresholds"]["rows"][0][0], "http_req_failed");
  EXPECT_EQ(tables["Thresholds"]["rows"][0][3], "passed");
  ASSERT_TRUE(tables.count("Steps (latency in ms)"));
  EXPECT_EQ(tables["Steps (latency in ms)"]["rows"][0][0], "hello </script><b>");
  EXPECT_EQ(tables["Steps (latency in ms)"]["rows"][0][1], run["http_reqs"].dump());
  ASSERT_TRUE(tables.count("Checks"));
}

TEST(HtmlOutput, AnUnwritablePageFailsBeforeAnythingIsSent) {
  crest::testing::LoadTarget target({});
  const auto plan = ::testing::TempDir() + "/html_bad.yaml";
  std::ofstream(plan) << "target: " << target.url() << R"(
journeys: [{steps: [{request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 1, duration: 1s}
)";
  const int status = std::system((std::string(CREST_BINARY) + " run " + plan +
                                  " -q --out html=/nonexistent-dir/x.html 2> /dev/null")
                                     .c_str());
  EXPECT_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 1);
  EXPECT_EQ(target.requests(), 0u);
}

}  // namespace
}  // namespace crest::load
