#include <gtest/gtest.h>

#include "crest/report/report.hpp"

namespace crest::report {
namespace {

nlohmann::json sample_verdict() {
  return {{"headline", "scaled held the SLO through the peak"},
          {"tables",
           {{{"title", "The peak"},
             {"columns", {"check", "baseline", "scaled"}},
             {"rows",
              {{{"cells", {"SLO during the spike", "BROKEN (p99 | 900 ms)", "held"}}, {"ok", true}},
               {{"cells", {"breaking point", "19/s", "43/s"}}, {"ok", nullptr}}}}}}}};
}

TEST(VerdictTable, IsInTheJsonOnlyWhenSet) {
  Report report;
  EXPECT_FALSE(to_json(report).contains("verdict"));
  report.verdict = sample_verdict();
  EXPECT_EQ(to_json(report)["verdict"]["headline"], "scaled held the SLO through the peak");
}

TEST(VerdictTable, RendersAsMarkdownWithPipesEscaped) {
  const auto md = render_verdict_markdown(sample_verdict());
  EXPECT_NE(md.find("## Verdict"), std::string::npos);
  EXPECT_NE(md.find("| check | baseline | scaled | |"), std::string::npos);
  EXPECT_NE(md.find("BROKEN (p99 \\| 900 ms)"), std::string::npos);
  EXPECT_NE(md.find("| SLO during the spike | BROKEN (p99 \\| 900 ms) | held | ok |"),
            std::string::npos);
  EXPECT_NE(md.find("| breaking point | 19/s | 43/s | |"), std::string::npos);
  EXPECT_EQ(render_verdict_markdown(nullptr), "");
  Report report;
  report.verdict = sample_verdict();
  EXPECT_NE(render_markdown(report).find("## Verdict"), std::string::npos);
}

}  // namespace
}  // namespace crest::report
