// crest demo --test end to end, then its verdict checked against the raw outputs: the load JSON
// files (requests, failures, accepted checkouts), the breaking-point steps, the report's JSON.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crest/core/rfc3339.hpp"
#include "crest/stack/child_process.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const fs::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

std::uint64_t checkout_2xx(const json& run) {
  for (const auto& step : run["steps"]) {
    if (step["name"] == "checkout") return step["status_classes"]["2xx"].get<std::uint64_t>();
  }
  return 0;
}

class DemoEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    out_ = fs::temp_directory_path() / ("crest-demo-test-" + std::to_string(::getpid()));
    fs::remove_all(out_);
    crest::stack::ProcessSpec spec;
    spec.program = CREST_BINARY;
    spec.args = {"demo", "--test", "--out", out_.string()};
    spec.log_path =
        (fs::temp_directory_path() / ("crest-demo-test-" + std::to_string(::getpid()) + ".log"))
            .string();
    auto demo = crest::stack::ChildProcess::spawn(spec);
    ASSERT_TRUE(demo.ok()) << demo.error().message;
    const auto status = demo->wait_for_exit(std::chrono::minutes(9));
    std::ifstream log(spec.log_path);
    std::stringstream text;
    text << log.rdbuf();
    log_ = text.str();
    if (!status) demo->stop(std::chrono::seconds(60));
    exit_status_ = status.value_or(-1);
  }

  static fs::path out_;
  static std::string log_;
  static int exit_status_;
};
fs::path DemoEndToEnd::out_;
std::string DemoEndToEnd::log_;
int DemoEndToEnd::exit_status_ = -1;

TEST_F(DemoEndToEnd, TellsTheWholeStoryAndWritesTheReport) {
  ASSERT_EQ(exit_status_, 0) << log_;
  for (const char* f : {"verdict.json", "report/report.html", "report/report.md",
                        "report/report.json", "baseline/peak.json", "scaled/peak.json",
                        "scaled/faults-load.json", "baseline/prometheus.json"}) {
    EXPECT_TRUE(fs::exists(out_ / f)) << f;
  }
  EXPECT_NE(log_.find("report: "), std::string::npos);
  EXPECT_NE(log_.find("verdict: "), std::string::npos);
}

TEST_F(DemoEndToEnd, OrdersAreCountedFromEveryLoadRunOnThePlatform) {
  ASSERT_EQ(exit_status_, 0) << log_;
  const json verdict = read_json(out_ / "verdict.json");
  std::uint64_t lost = 0;
  for (const auto& profile : verdict["profiles"]) {
    const fs::path dir = out_ / profile["profile"].get<std::string>();
    std::uint64_t accepted = 0;
    std::set<std::string> accepted_ids;  // the order ids every load run recorded
    std::uint64_t recorded = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
      const auto name = entry.path().filename().string();
      if (entry.path().extension() == ".json" &&
          (name == "peak.json" || name.starts_with("step-") || name == "faults-load.json")) {
        const auto run = read_json(entry.path());
        accepted += checkout_2xx(run);
        // The demo's plans record the checkout's order ids: each run lists them, none cut.
        ASSERT_TRUE(run.contains("recorded")) << entry.path();
        const auto& ids = run["recorded"]["checkout"]["order_id"];
        EXPECT_EQ(ids["not_kept"], 0) << entry.path();
        for (const auto& id : ids["values"]) accepted_ids.insert(id.get<std::string>());
        recorded += ids["values"].size();
      }
    }
    const auto& orders = profile["orders"];
    EXPECT_GT(accepted, 0u) << dir;
    EXPECT_EQ(orders["accepted"].get<std::uint64_t>(), accepted) << dir;
    const auto confirmed = orders["confirmed"].get<std::uint64_t>();
    const auto failed = orders["failed"].get<std::uint64_t>();
    const auto pending = orders["pending"].get<std::uint64_t>();
    EXPECT_EQ(orders["stored"].get<std::uint64_t>(),
              confirmed + failed + pending + orders["other"].get<std::uint64_t>());
    // Judged by order id: the accepted ids are those the runs recorded, and every one of them is
    // either stored as it ended or missing; lost are the missing, pending and odd ones.
    ASSERT_EQ(orders["compared_by"], "order_id") << orders.dump();
    EXPECT_EQ(orders["accepted_ids"].get<std::uint64_t>(), accepted_ids.size()) << dir;
    EXPECT_EQ(orders["accepted_without_id"].get<std::uint64_t>(),
              accepted > recorded ? accepted - recorded : 0);
    const auto& by_id = orders["accepted_orders"];
    const auto judged = by_id["confirmed"].get<std::uint64_t>() +
                        by_id["failed"].get<std::uint64_t>() +
                        by_id["pending"].get<std::uint64_t>() +
                        by_id["other"].get<std::uint64_t>() + by_id["missing"].get<std::uint64_t>();
    EXPECT_EQ(judged, accepted_ids.size()) << orders.dump();
    EXPECT_EQ(orders["lost"].get<std::uint64_t>(), by_id["missing"].get<std::uint64_t>() +
                                                       by_id["pending"].get<std::uint64_t>() +
                                                       by_id["other"].get<std::uint64_t>());
    EXPECT_EQ(orders["stored_not_seen_accepted"].get<std::uint64_t>() +
                  (judged - by_id["missing"].get<std::uint64_t>()),
              orders["stored"].get<std::uint64_t>());
    // What the platform promises: every accepted order is finished, none pending.
    EXPECT_EQ(orders["lost"].get<std::uint64_t>(), 0u) << orders.dump();
    EXPECT_EQ(pending, 0u) << dir;
    lost += orders["lost"].get<std::uint64_t>();
  }
  EXPECT_EQ(verdict["orders_lost"].get<std::uint64_t>(), lost);
}

TEST_F(DemoEndToEnd, BreakingPointsComeFromTheStepsThatRan) {
  ASSERT_EQ(exit_status_, 0) << log_;
  const json verdict = read_json(out_ / "verdict.json");
  const double slo_p99 = verdict["slo"]["p99_ms"], slo_errors = verdict["slo"]["error_rate"];
  std::map<std::string, double> highest, lowest_broken;
  for (const auto& profile : verdict["profiles"]) {
    const auto& bp = profile["breaking_point"];
    ASSERT_TRUE(bp.is_object());
    ASSERT_FALSE(bp["steps"].empty());
    double held_max = 0, broken_min = 1e18;
    for (const auto& step : bp["steps"]) {
      const json run = read_json(step["output"].get<std::string>());
      EXPECT_EQ(step["requests"], run["http_reqs"]);
      EXPECT_EQ(step["failures"], run["http_req_failed"]);
      EXPECT_EQ(step["dropped"], run["dropped_iterations"]);
      const double requests = run["http_reqs"].get<double>();
      const double error_rate = requests == 0 ? 1 : run["http_req_failed"].get<double>() / requests;
      const bool within =
          requests > 0 && step["p99_ms"].get<double>() < slo_p99 && error_rate < slo_errors;
      if (step["held"].get<bool>()) {
        EXPECT_TRUE(within) << step;
        held_max = std::max(held_max, step["rate"].get<double>());
      } else {
        broken_min = std::min(broken_min, step["rate"].get<double>());
      }
    }
    if (held_max > 0) {
      EXPECT_DOUBLE_EQ(bp["highest_held"].get<double>(), held_max);
      highest[profile["profile"]] = held_max;
    }
    if (broken_min < 1e18) {
      EXPECT_DOUBLE_EQ(bp["lowest_broken"].get<double>(), broken_min);
      lowest_broken[profile["profile"]] = broken_min;
    }
    EXPECT_EQ(bp["lower_bound"].get<bool>(), held_max > 0 && broken_min == 1e18);
  }
  // The capacity wording follows from the steps: a ratio of two breaking points only; ">=" when
  // scaled held at its highest rate (or baseline broke at its lowest); no number when baseline's
  // is a lower bound.
  const auto& capacity = verdict["capacity"];
  const std::string headline = verdict["headline"];
  EXPECT_NE(headline.find("capacity " + capacity["text"].get<std::string>()), std::string::npos);
  const bool baseline_bound = highest.count("baseline") && !lowest_broken.count("baseline");
  const bool scaled_bound = highest.count("scaled") && !lowest_broken.count("scaled");
  if (baseline_bound || !highest.count("scaled")) {
    EXPECT_EQ(capacity["kind"], "not_measured") << capacity;
    EXPECT_TRUE(verdict["capacity_ratio"].is_null());
    EXPECT_EQ(headline.find("capacity x"), std::string::npos) << headline;
  } else if (highest.count("baseline") && !scaled_bound) {
    EXPECT_EQ(capacity["kind"], "ratio") << capacity;
    EXPECT_NEAR(verdict["capacity_ratio"].get<double>(), highest["scaled"] / highest["baseline"],
                1e-9);
  } else {
    EXPECT_EQ(capacity["kind"], "at_least") << capacity;
    EXPECT_TRUE(verdict["capacity_ratio"].is_null());
    const double baseline =
        highest.count("baseline") ? highest["baseline"] : lowest_broken["baseline"];
    EXPECT_NEAR(capacity["value"].get<double>(), highest["scaled"] / baseline, 1e-9);
    EXPECT_NE(headline.find("capacity >= x"), std::string::npos) << headline;
  }
}

TEST_F(DemoEndToEnd, PeakPhasesAndFaultsAddUpToTheLoadRuns) {
  ASSERT_EQ(exit_status_, 0) << log_;
  const json verdict = read_json(out_ / "verdict.json");
  for (const auto& profile : verdict["profiles"]) {
    const json peak = read_json(out_ / profile["profile"].get<std::string>() / "peak.json");
    std::uint64_t requests = 0, failures = 0;
    for (const auto& phase : profile["phases"]) {
      requests += phase["stats"]["requests"].get<std::uint64_t>();
      failures += phase["stats"]["failures"].get<std::uint64_t>();
      const bool within = phase["stats"]["p99_ms"].get<double>() < verdict["slo"]["p99_ms"] &&
                          phase["stats"]["error_rate"].get<double>() < verdict["slo"]["error_rate"];
      EXPECT_EQ(phase["held"].get<bool>(), within) << phase;
    }
    ASSERT_EQ(profile["phases"].size(), 3u);
    // The phases leave out the warm-up only.
    EXPECT_GT(requests, 0u);
    EXPECT_LE(requests, peak["http_reqs"].get<std::uint64_t>());
    EXPECT_LE(failures, peak["http_req_failed"].get<std::uint64_t>());
  }
  ASSERT_TRUE(verdict["faults_run"].get<bool>()) << verdict["faults_note"];
  ASSERT_EQ(verdict["faults"].size(), 6u);
  const json steady = read_json(out_ / "scaled/faults-load.json");
  std::uint64_t fault_requests = 0, fault_accepted = 0;
  int survived = 0;
  double previous_recovered_s = 0;
  int index = 0;
  for (const auto& f : verdict["faults"]) {
    // Its diagnosis saw a quiet spell (the normal, after the previous fault's recovery), then its
    // own onset, and nothing after its own recovery.
    const double window_from = f["diagnosis_window_s"][0].get<double>();
    EXPECT_GE(window_from, previous_recovered_s) << f;
    EXPECT_GE(f["from_s"].get<double>() - window_from, 9.9) << f;
    EXPECT_LE(f["to_s"].get<double>(), f["recovered_s"].get<double>()) << f;
    EXPECT_DOUBLE_EQ(f["diagnosis_window_s"][1].get<double>(), f["recovered_s"].get<double>());
    // Its diagnosis read that window only (crest diagnose --from/--to bound every input, the
    // whole load run among them): what it found lies inside, none of another fault's.
    const json diagnosis = read_json(out_ / "scaled" /
                                     ("fault-" + std::to_string(++index) + "-" +
                                      f["fault"].get<std::string>() + "-diagnosis.json"));
    const double start = steady["start_unix_ms"].get<double>() / 1000;
    if (diagnosis["window"].is_object()) {
      for (const char* edge : {"onset", "end"}) {
        const auto at = crest::parse_rfc3339(diagnosis["window"][edge].get<std::string>());
        ASSERT_TRUE(at.has_value()) << diagnosis["window"];
        EXPECT_GE(*at - start, window_from - 1) << f["fault"] << " " << edge;
        EXPECT_LE(*at - start, f["recovered_s"].get<double>() + 1) << f["fault"] << " " << edge;
      }
    }
    previous_recovered_s = f["recovered_s"].get<double>();
    fault_requests += f["during"]["requests"].get<std::uint64_t>();
    fault_accepted += f["accepted"].get<std::uint64_t>();
    EXPECT_LT(f["from_s"].get<double>(), f["to_s"].get<double>()) << f;
    survived += f["survived"].get<bool>() ? 1 : 0;
    if (f["survived"].get<bool>()) {
      EXPECT_TRUE(f["applied"].get<bool>());
      EXPECT_EQ(f["orders"]["pending"], 0);
    }
  }
  EXPECT_LE(fault_requests, steady["http_reqs"].get<std::uint64_t>());
  EXPECT_LE(fault_accepted, checkout_2xx(steady));
  EXPECT_EQ(verdict["faults_survived"].get<int>(), survived);
}

TEST_F(DemoEndToEnd, TheReportCarriesTheVerdictAndThePhases) {
  ASSERT_EQ(exit_status_, 0) << log_;
  const json verdict = read_json(out_ / "verdict.json");
  const json report = read_json(out_ / "report/report.json");
  EXPECT_EQ(report["verdict"]["headline"], verdict["headline"]);
  EXPECT_EQ(report["verdict"]["tables"], verdict["tables"]);
  ASSERT_GE(report["phases"].size(), 2u);
  EXPECT_EQ(report["phases"][0]["name"], "baseline");
  EXPECT_EQ(report["phases"][0]["summary"]["requests"],
            read_json(out_ / "baseline/peak.json")["http_reqs"]);
  std::ifstream html(out_ / "report/report.html");
  std::stringstream page;
  page << html.rdbuf();
  EXPECT_NE(page.str().find("\"headline\""), std::string::npos);
  std::ifstream md(out_ / "report/report.md");
  std::stringstream markdown;
  markdown << md.rdbuf();
  EXPECT_NE(markdown.str().find("## Verdict"), std::string::npos);
}

// The browser test's page check on the demo's report (cheap: the page exists already).
TEST_F(DemoEndToEnd, TheReportPageOpensInABrowser) {
  ASSERT_EQ(exit_status_, 0) << log_;
  auto node = crest::stack::find_program("node");
  if (!node.ok() || !fs::exists("/usr/bin/chromium")) GTEST_SKIP() << "node or chromium absent";
  crest::stack::ProcessSpec spec;
  spec.program = *node;
  spec.args = {std::string(CREST_SOURCE_DIR) + "/tests/report/open_report_page.mjs",
               (out_ / "report/report.html").string(), (out_ / "report/report.png").string()};
  spec.log_path = (out_ / "browser.log").string();
  auto browser = crest::stack::ChildProcess::spawn(spec);
  ASSERT_TRUE(browser.ok()) << browser.error().message;
  const auto status = browser->wait_for_exit(std::chrono::seconds(90));
  std::ifstream log(spec.log_path);
  std::stringstream text;
  text << log.rdbuf();
  ASSERT_TRUE(status.has_value()) << "the browser check hung: " << text.str();
  EXPECT_EQ(*status, 0) << text.str();
}

}  // namespace
