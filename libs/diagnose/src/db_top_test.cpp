#include "crest/diagnose/db_top.hpp"
#include "crest/diagnose/scoring.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace crest::diagnose {
namespace {

using ::testing::HasSubstr;

DigestRow row(std::string digest, std::string text, double calls, double seconds, double examined,
              double sent, double no_index) {
  DigestRow r;
  r.schema = "crest";
  r.digest = std::move(digest);
  r.digest_text = std::move(text);
  r.count_star = calls;
  r.sum_timer_wait_ps = seconds * 1e12;
  r.max_timer_wait_ps = 0.5e12;
  r.sum_rows_examined = examined;
  r.sum_rows_sent = sent;
  r.sum_no_index_used = no_index;
  return r;
}

DigestSnapshot snap(double t, std::vector<DigestRow> rows, std::vector<WaitRow> waits = {}) {
  DigestSnapshot s;
  s.t = t;
  s.server = "primary";
  s.digests = std::move(rows);
  s.waits = std::move(waits);
  return s;
}

TEST(DbTop, LoadAndTopDigestsFromDeltas) {
  std::vector<DigestSnapshot> snaps{
      snap(100,
           {row("a", "SELECT ... LIKE ?", 10, 2, 200000, 30, 10),
            row("b", "SELECT ... id = ?", 1000, 1, 1000, 1000, 0)},
           {{"wait/io/table/sql/handler", 0.5e12}, {"idle", 50e12}}),
      snap(110,
           {row("a", "SELECT ... LIKE ?", 60, 42, 1200000, 180, 60),
            row("b", "SELECT ... id = ?", 2000, 2, 2000, 2000, 0),
            row("c", "SELECT * FROM performance_schema . events_statements_summary_by_digest", 5, 1,
                0, 0, 5)},
           {{"wait/io/table/sql/handler", 10.5e12}, {"idle", 90e12}}),
  };
  const auto top = compute_db_top(snaps);
  ASSERT_EQ(top.intervals.size(), 1u);
  // 40 s + 1 s of statement time in 10 s: 4.1 AAS; our own performance_schema query is left out.
  EXPECT_NEAR(top.intervals[0].aas, 4.1, 1e-9);
  EXPECT_NEAR(top.intervals[0].by_wait_class.at("io/table"), 1.0, 1e-9);
  EXPECT_NEAR(top.intervals[0].by_wait_class.at("cpu"), 3.1, 1e-9);
  EXPECT_EQ(top.intervals[0].by_wait_class.count("idle"), 0u);
  ASSERT_EQ(top.digests.size(), 2u);
  const auto& a = top.digests[0];
  EXPECT_EQ(a.digest, "a");
  EXPECT_NEAR(a.aas, 4.0, 1e-9);
  EXPECT_NEAR(a.calls_per_s, 5.0, 1e-9);
  EXPECT_NEAR(a.mean_latency_s, 0.8, 1e-9);
  EXPECT_NEAR(a.rows_examined_per_row_returned, 1000000.0 / 150, 1e-6);
  EXPECT_TRUE(a.no_index);
  EXPECT_FALSE(a.p95_latency_s);
  EXPECT_FALSE(top.digests[1].no_index);

  const auto text = format_db_top(top, 10);
  EXPECT_THAT(text, HasSubstr("no index"));
  EXPECT_THAT(text, HasSubstr("SELECT ... LIKE ?"));
  const auto j = nlohmann::json::parse(db_top_json({top}, 10));
  EXPECT_EQ(j["servers"][0]["top_sql"][0]["index_used"], false);
  EXPECT_TRUE(j["servers"][0]["top_sql"][0]["p95_latency_ms"].is_null());
}

TEST(DbTop, ACounterThatGoesDownStartsAgain) {
  std::vector<DigestSnapshot> snaps{
      snap(100, {row("a", "q", 1000, 100, 0, 0, 0)}),
      snap(110, {row("a", "q", 10, 5, 0, 0, 0)}),  // TRUNCATE of the summary table
  };
  const auto top = compute_db_top(snaps);
  ASSERT_EQ(top.digests.size(), 1u);
  EXPECT_NEAR(top.digests[0].calls_per_s, 1.0, 1e-9);
  EXPECT_NEAR(top.intervals[0].aas, 0.5, 1e-9);
}

TEST(DbTop, WindowLimitsTheDigestTotals) {
  std::vector<DigestSnapshot> snaps{
      snap(100, {row("a", "qa", 0, 0, 0, 0, 0), row("b", "qb", 0, 0, 0, 0, 0)}),
      snap(110, {row("a", "qa", 10, 50, 0, 0, 0), row("b", "qb", 0, 0, 0, 0, 0)}),
      snap(120, {row("a", "qa", 10, 50, 0, 0, 0), row("b", "qb", 10, 5, 4000, 10, 10)}),
  };
  EXPECT_EQ(compute_db_top(snaps).digests[0].digest, "a");
  EXPECT_EQ(compute_db_top(snaps, 110.0).digests[0].digest, "b");
  const auto series = db_load_series(snaps);
  // The server's load and time per statement, then per digest its load, rows examined per
  // second, time per call and rows per call.
  ASSERT_EQ(series.size(), 10u);
  EXPECT_EQ(series[0].name, "crest_db_aas");
  EXPECT_EQ(series[0].v, (std::vector<double>{5, 0.5}));
  EXPECT_EQ(series[1].name, "crest_db_seconds_per_call");
  EXPECT_EQ(series[1].v, (std::vector<double>{5, 0.5}));  // 50 s over 10 calls, then 5 s over 10
  EXPECT_EQ(series[7].name, "crest_db_digest_rows_examined");
  EXPECT_EQ(series[7].label("digest"), "b");
  EXPECT_EQ(series[7].v, (std::vector<double>{0, 400}));  // 4000 rows in 10 s
  // Per call only where the statement ran: b ran in the second interval alone.
  EXPECT_EQ(series[8].name, "crest_db_digest_seconds_per_call");
  EXPECT_EQ(series[8].t, (std::vector<double>{120}));
  EXPECT_EQ(series[8].v, (std::vector<double>{0.5}));
  EXPECT_EQ(series[9].name, "crest_db_digest_rows_per_call");
  EXPECT_EQ(series[9].v, (std::vector<double>{400}));
}

TEST(DbTop, MoreCallsOfAnUnchangedStatementAreNotItsAnomaly) {
  // One statement runs 10 calls a second at 2 ms for a minute, then 40 a second at the same
  // 2 ms (a cache's misses arriving); another's calls get 50 times slower. Scored, the first's
  // load counts only as far as its time per call moved: not at all.
  std::vector<DigestSnapshot> snaps;
  double calls_a = 0, secs_a = 0, calls_b = 0, secs_b = 0;
  for (int t = 0; t <= 120; ++t) {
    const bool after = t > 90;
    calls_a += after ? 40 : 10;
    secs_a += (after ? 40 : 10) * 0.002;
    calls_b += 5;
    secs_b += 5 * (after ? 0.1 : 0.002);
    snaps.push_back(snap(1000 + t, {row("a", "qa", calls_a, secs_a, calls_a, calls_a, 0),
                                    row("b", "qb", calls_b, secs_b, calls_b, calls_b, 0)}));
  }
  const auto series = db_load_series(snaps);
  const auto ranked = score_series(series, AnomalyWindow{1091, 1120, true, "test"});
  double score_a = -1, score_b = -1;
  for (const auto& s : ranked) {
    EXPECT_FALSE(s.kind.per_call);  // the companions only moderate
    if (s.series->name != "crest_db_digest_aas") continue;
    (s.series->label("digest") == "a" ? score_a : score_b) = s.score;
  }
  EXPECT_LT(score_a, 1.0);
  EXPECT_GT(score_b, 10.0);
}

// An exporter's SHOW GLOBAL VARIABLES slows down when the server is starved and then looked like
// the server's busiest new statement: the monitoring gets no digest series of its own (it still
// counts in the server's total load).
TEST(DbTop, TheMonitoringsStatementsGetNoDigestSeries) {
  std::vector<DigestSnapshot> snaps{
      snap(100, {row("m", "SHOW GLOBAL VARIABLES", 0, 0, 0, 0, 0), row("a", "qa", 0, 0, 0, 0, 0)}),
      snap(110,
           {row("m", "SHOW GLOBAL VARIABLES", 10, 50, 0, 0, 0), row("a", "qa", 10, 5, 0, 0, 0)}),
  };
  const auto series = db_load_series(snaps);
  ASSERT_FALSE(series.empty());
  EXPECT_EQ(series[0].name, "crest_db_aas");
  EXPECT_EQ(series[0].v, (std::vector<double>{5.5}));  // the monitoring's time still counts here
  int application = 0;
  for (const auto& s : series) {
    EXPECT_NE(s.label("digest"), "m") << s.name;
    application += s.name == "crest_db_digest_aas" && s.label("digest") == "a";
  }
  EXPECT_EQ(application, 1);
}

}  // namespace
}  // namespace crest::diagnose
