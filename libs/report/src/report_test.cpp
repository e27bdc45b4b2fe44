#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crest/metrics/latency_histogram.hpp"
#include "crest/report/inputs.hpp"
#include "crest/report/report.hpp"

namespace crest::report {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("crest_report_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    const auto path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // A load-run JSON of `seconds` seconds; second i holds 100 samples of (i+1) ms and one of
  // 50 ms, so the merged percentiles are known.
  std::string load_json(int seconds, double started_at = 1'700'000'000) {
    json timeline = json::array();
    for (int i = 0; i < seconds; ++i) {
      metrics::LatencyHistogram h;
      for (int k = 0; k < 100; ++k) {
        h.record_us(static_cast<std::uint64_t>(i + 1) * 1000);
      }
      h.record_us(50'000);
      timeline.push_back(
          {{"t", i + 1.0},
           {"vus", 10},
           {"requests", 101},
           {"failures", i == 0 ? 101 : 0},
           {"p50_ms", 1.0},
           {"p99_ms", 2.0},
           {"steps", {{"home", {{"requests", 101}, {"histogram", h.serialise()}}}}}});
    }
    json run = {{"plan", "p.yaml"},
                {"elapsed_s", seconds},
                {"http_reqs", 101 * seconds},
                {"http_req_failed", 101},
                {"start_unix_ms", started_at * 1000},
                {"timeline", timeline}};
    return run.dump();
  }

  std::filesystem::path dir_;
};

TEST_F(ReportTest, LoadRunGivesExactMergedPercentilesAndPerSecondSeries) {
  auto phase = phase_from_load_json("baseline", write("run.json", load_json(4)));
  ASSERT_TRUE(phase.ok()) << phase.error().message;
  EXPECT_EQ(phase->summary.requests, 404u);
  EXPECT_EQ(phase->summary.failures, 101u);
  EXPECT_NEAR(phase->summary.throughput_rps, 101.0, 1e-9);
  // 404 samples: 100 each of 1, 2, 3, 4 ms and four of 50 ms; rank ceil(0.99 × 404) = 400.
  EXPECT_NEAR(phase->summary.p50_ms, 3.0, 0.01);  // rank 202
  EXPECT_NEAR(phase->summary.p99_ms, 4.0, 0.01);
  EXPECT_NEAR(phase->summary.max_ms, 50.0, 0.01);
  const Chart* latency = phase->chart("latency");
  ASSERT_NE(latency, nullptr);
  ASSERT_EQ(latency->series.size(), 3u);
  EXPECT_EQ(latency->series[1].label, "p95");
  EXPECT_NEAR(latency->series[1].y[2], 3.0, 0.01);  // second 3: 100 × 3 ms, 1 × 50 ms
  const Chart* errors = phase->chart("errors");
  ASSERT_NE(errors, nullptr);
  EXPECT_DOUBLE_EQ(errors->series[0].y[0], 100.0);
  EXPECT_DOUBLE_EQ(errors->series[0].y[1], 0.0);
  EXPECT_FALSE(phase->summary.slo_held(Slo{}));  // 25 % errors
}

TEST_F(ReportTest, UnreadableInputsAreErrorsNamingTheFile) {
  const auto truncated = write("cut.json", load_json(3).substr(0, 200));
  auto a = phase_from_load_json("x", truncated);
  ASSERT_FALSE(a.ok());
  EXPECT_THAT(a.error().message, HasSubstr(truncated));
  auto b = phase_from_load_json("x", write("other.json", R"({"hello": 1})"));
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.error().message, HasSubstr("not a crest run JSON output"));
  auto c = phase_from_load_json("x", (dir_ / "missing.json").string());
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.error().message, HasSubstr("cannot be opened"));

  auto phase = phase_from_load_json("x", write("run.json", load_json(2)));
  ASSERT_TRUE(phase.ok());
  const auto events =
      write("events.jsonl", "{\"ts\":\"2023-11-14T22:13:21Z\",\"kind\":\"decision\"}\n{oops\n");
  auto d = add_autoscaler_events(*phase, events);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.error().message, HasSubstr(events + ":2"));
}

TEST_F(ReportTest, PrometheusCaptureBecomesChartsOnThePhaseClock) {
  auto phase = phase_from_load_json("scaled", write("run.json", load_json(3, 1000)));
  ASSERT_TRUE(phase.ok());
  json capture = {{"queries",
                   {{"cpu",
                     {{"title", "CPU per service"},
                      {"unit", "cores"},
                      {"family", "resources"},
                      {"data",
                       {{"status", "success"},
                        {"data",
                         {{"resultType", "matrix"},
                          {"result",
                           {{{"metric", {{"__name__", "x"}, {"service", "catalog"}}},
                             {"values", {{1001, "0.5"}, {1002, "NaN"}, {1003, "0.75"}}}}}}}}}}}}}}};
  ASSERT_TRUE(add_prometheus_file(*phase, write("prom.json", capture.dump())).ok());
  const Chart* cpu = phase->chart("cpu");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->family, Family::resources);
  ASSERT_EQ(cpu->series.size(), 1u);
  EXPECT_EQ(cpu->series[0].label, "service=catalog");
  EXPECT_EQ(cpu->series[0].t, (std::vector<double>{1, 2, 3}));
  EXPECT_DOUBLE_EQ(cpu->series[0].y[0], 0.5);
  EXPECT_TRUE(std::isnan(cpu->series[0].y[1]));

  auto bad = add_prometheus_json(*phase, json{{"status", "error"}}, "p");
  EXPECT_FALSE(bad.ok());
  auto family = add_prometheus_json(
      *phase, json{{"queries", {{"q", {{"family", "nonsense"}, {"data", json::object()}}}}}}, "p");
  ASSERT_FALSE(family.ok());
  EXPECT_THAT(family.error().message, HasSubstr("unknown family 'nonsense'"));
}

TEST_F(ReportTest, AutoscalerLogGivesBreachDecisionServingAndReplicaSeries) {
  // started_at 2023-11-14T22:13:20Z
  auto phase = phase_from_load_json("scaled", write("run.json", load_json(60, 1'700'000'000)));
  ASSERT_TRUE(phase.ok());
  const auto log = write(
      "autoscaler.jsonl",
      R"({"ts":"2023-11-14T22:13:30.000Z","kind":"decision","service":"catalog","current":1,"desired":1,"metrics":[{"metric":"cpu","target":0.6,"value":0.4}]}
{"ts":"2023-11-14T22:13:35.000Z","kind":"decision","service":"catalog","current":1,"desired":1,"metrics":[{"metric":"cpu","target":0.6,"value":0.65}]}
{"ts":"2023-11-14T22:13:40.500Z","kind":"decision","service":"catalog","current":1,"desired":3,"metrics":[{"metric":"cpu","target":0.6,"value":1.8}],"reason":"cpu 300% of target"}
{"ts":"2023-11-14T22:13:44.000Z","kind":"pod","service":"catalog","instance":"catalog-2","transition":"serving"}
{"ts":"2023-11-14T22:13:46.000Z","kind":"pod","service":"catalog","instance":"catalog-3","transition":"serving"}
)");
  ASSERT_TRUE(add_autoscaler_events(*phase, log).ok());
  ASSERT_EQ(phase->scale_responses.size(), 1u);
  const auto& r = phase->scale_responses[0];
  EXPECT_EQ(r.from, 1);
  EXPECT_EQ(r.to, 3);
  EXPECT_DOUBLE_EQ(r.decision_t, 20.5);
  ASSERT_TRUE(r.breach_t.has_value());
  EXPECT_DOUBLE_EQ(*r.breach_t, 15.0);
  ASSERT_TRUE(r.serving_t.has_value());
  EXPECT_DOUBLE_EQ(*r.serving_t, 26.0);
  ASSERT_EQ(phase->events.size(), 1u);
  const Chart* replicas = phase->chart("replicas");
  ASSERT_NE(replicas, nullptr);
  EXPECT_EQ(replicas->series.size(), 2u);

  const auto faults = write(
      "chaos.jsonl",
      R"({"ts":"2023-11-14T22:13:50.000Z","event":"start","id":"f1","fault":"redis-stop","target":"redis","parameters":{},"undo":{}}
{"ts":"2023-11-14T22:14:05.000Z","event":"end","id":"f1","fault":"redis-stop","target":"redis","how":"stopped"}
)");
  ASSERT_TRUE(add_fault_events(*phase, faults).ok());
  ASSERT_EQ(phase->faults.size(), 1u);
  EXPECT_DOUBLE_EQ(phase->faults[0].start, 30.0);
  EXPECT_DOUBLE_EQ(phase->faults[0].end, 45.0);
  EXPECT_EQ(phase->faults[0].label, "redis-stop (redis)");
}

TEST_F(ReportTest, PageIsSelfContainedAndLabelsCannotEscapeTheScript) {
  auto phase = phase_from_load_json("base</script><script>alert(1)</script>",
                                    write("run.json", load_json(3)));
  ASSERT_TRUE(phase.ok());
  Report report;
  report.phases.push_back(std::move(*phase));
  const std::string html = render_html(report);
  EXPECT_THAT(html, Not(HasSubstr("alert(1)</script>")));
  EXPECT_THAT(html, HasSubstr("\\u003c/script>"));
  EXPECT_THAT(html, HasSubstr("uPlot"));  // the chart library is inlined
  EXPECT_THAT(html, Not(HasSubstr("src=\"http")));
  EXPECT_THAT(html, Not(HasSubstr("href=\"http")));
}

TEST_F(ReportTest, MarkdownAndJsonCarryTheVerdictPerPhase) {
  std::vector<PhaseInputs> inputs{{"baseline", write("b.json", load_json(3)), {}, "", "", ""}};
  auto good = json::parse(load_json(3));
  good["http_req_failed"] = 0;
  inputs.push_back({"scaled", write("s.json", good.dump()), {}, "", "", ""});
  auto report = build_report(inputs, Slo{500, 0.01}, "t");
  ASSERT_TRUE(report.ok()) << report.error().message;
  const std::string md = render_markdown(*report);
  EXPECT_THAT(md, HasSubstr("| baseline | 303 |"));
  EXPECT_THAT(md, HasSubstr("**broken**"));
  EXPECT_THAT(md, HasSubstr("| scaled | 303 |"));
  const json j = to_json(*report);
  EXPECT_FALSE(j["phases"][0]["summary"]["slo_held"].get<bool>());
  EXPECT_TRUE(j["phases"][1]["summary"]["slo_held"].get<bool>());

  auto files = write_report(*report, (dir_ / "out").string());
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->size(), 3u);
  for (const auto& f : *files) {
    EXPECT_GT(std::filesystem::file_size(f), 100u) << f;
  }
}

TEST(Timestamp, ParsesUtcRfc3339AndNumbers) {
  EXPECT_DOUBLE_EQ(*parse_timestamp(json("2023-11-14T22:13:20Z")), 1'700'000'000.0);
  EXPECT_DOUBLE_EQ(*parse_timestamp(json("2023-11-14T22:13:20.250Z")), 1'700'000'000.25);
  EXPECT_DOUBLE_EQ(*parse_timestamp(json(12.5)), 12.5);
  EXPECT_FALSE(parse_timestamp(json("2023-11-14T22:13:20+02:00")).has_value());
  EXPECT_FALSE(parse_timestamp(json("yesterday")).has_value());
}

}  // namespace
}  // namespace crest::report
