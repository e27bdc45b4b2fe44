#include "crest/demo/diagnosis_inputs.hpp"

#include <gtest/gtest.h>

namespace crest::demo {
namespace {

using nlohmann::json;

TEST(DiagnosisInputs, ALoadRunIsCutToTheWindowsSeconds) {
  // Started at Unix 1000 s: seconds t=0..9.
  json run = {{"start_unix_ms", 1'000'000}, {"http_reqs", 99}, {"timeline", json::array()}};
  for (int t = 0; t < 10; ++t) {
    run["timeline"].push_back({{"t", t}, {"requests", 10 + t}, {"failures", t == 7 ? 5 : 0}});
  }
  const json cut = load_run_within(run, 1003, 1006);
  EXPECT_EQ(cut["start_unix_ms"], 1'000'000);
  ASSERT_EQ(cut["timeline"].size(), 3u);
  EXPECT_EQ(cut["timeline"][0]["t"], 3);
  EXPECT_EQ(cut["timeline"][2]["t"], 5);
  // The failures of second 7 (another fault's) are not in it.
  for (const auto& s : cut["timeline"]) EXPECT_EQ(s["failures"], 0);
  // Not a load run: given back as it is.
  EXPECT_EQ(load_run_within(json{{"x", 1}}, 0, 1), (json{{"x", 1}}));
}

TEST(DiagnosisInputs, AnEventLogKeepsTheLinesInsideTheWindow) {
  const std::string log =
      R"({"kind":"decision","service":"users","desired":4,"ts":"2026-11-30T19:18:00.000Z"})"
      "\n"
      R"({"kind":"decision","service":"users","desired":1,"ts":"2026-11-30T19:18:34.000Z"})"
      "\n"
      "not json\n"
      R"({"kind":"pod","service":"users"})"
      "\n";
  const double at_1818 = 1796066280;  // 2026-11-30T19:18:00Z
  EXPECT_EQ(event_lines_within(log, at_1818 - 10, at_1818 + 10),
            R"({"kind":"decision","service":"users","desired":4,"ts":"2026-11-30T19:18:00.000Z"})"
            "\n");
  EXPECT_EQ(event_lines_within(log, at_1818 + 20, at_1818 + 40).find("\"desired\":4"),
            std::string::npos);
  EXPECT_EQ(event_lines_within(log, 0, 1), "");
}

}  // namespace
}  // namespace crest::demo
