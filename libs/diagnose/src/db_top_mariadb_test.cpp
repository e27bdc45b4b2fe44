// Against a real MariaDB (started through libs/stack): an unindexed LIKE scan must come out on
// top of `db top`, marked as using no index, and appear in the slow log parser's output.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "crest/diagnose/db_top.hpp"
#include "crest/diagnose/parsers.hpp"
#include "crest/stack/mariadb_cluster.hpp"

namespace crest::diagnose {
namespace {

using ::testing::HasSubstr;

TEST(DbTopMariaDb, UnindexedQueryComesOutOnTop) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("crest_diagnose_test_dbtop_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto cluster = stack::MariaDbCluster::start(dir, 0);
  ASSERT_TRUE(cluster.ok()) << cluster.error().message;
  auto& db = **cluster;
  auto setup = db.execute(
      0,
      "USE crest; CREATE TABLE crest.products (id INT PRIMARY KEY, name VARCHAR(100), price INT);"
      "INSERT INTO crest.products SELECT seq, CONCAT('product ', seq), seq % 100 "
      "FROM seq_1_to_20000");
  ASSERT_TRUE(setup.ok()) << setup.error().message;

  DbConnection conn;
  conn.socket = db.primary().socket;
  conn.user = "root";
  auto before = take_digest_snapshot(conn);
  ASSERT_TRUE(before.ok()) << before.error().message;

  std::string workload = "SET SESSION long_query_time = 0;";
  for (int i = 0; i < 40; ++i) {
    workload += "SELECT id FROM crest.products WHERE name LIKE '%duct 1234%';";
    workload += "SELECT name FROM crest.products WHERE id = " + std::to_string(i + 1) + ";";
  }
  auto ran = db.execute(0, workload);
  ASSERT_TRUE(ran.ok()) << ran.error().message;
  auto after = take_digest_snapshot(conn);
  ASSERT_TRUE(after.ok()) << after.error().message;

  const auto top = compute_db_top({*before, *after});
  ASSERT_FALSE(top.digests.empty());
  const auto& first = top.digests.front();
  EXPECT_THAT(first.digest_text, HasSubstr("LIKE"));
  EXPECT_TRUE(first.no_index);
  EXPECT_EQ(first.calls, 40);
  EXPECT_GT(first.rows_examined_per_row_returned, 1000);
  const auto pk = std::find_if(top.digests.begin(), top.digests.end(), [](const DigestLoad& d) {
    auto text = d.digest_text;  // MariaDB upper-cases some identifiers in digests
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    return text.find("ID = ?") != std::string::npos && text.find("LIKE") == std::string::npos;
  });
  ASSERT_NE(pk, top.digests.end()) << format_db_top(top, 10);
  EXPECT_FALSE(pk->no_index);
  EXPECT_LT(pk->aas, first.aas);

  // The saved form replays to the same top digest.
  const auto saved = dir / "snapshots.jsonl";
  std::ofstream(saved) << digest_snapshot_to_json_line(*before) << "\n"
                       << digest_snapshot_to_json_line(*after) << "\n";
  const auto text = read_text_file(saved.string());
  ASSERT_TRUE(text.ok());
  auto replayed = parse_digest_snapshots(*text, saved.string());
  ASSERT_TRUE(replayed.ok()) << replayed.error().message;
  EXPECT_EQ(compute_db_top(*replayed).digests.front().digest, first.digest);

  // The slow log saw the same statements.
  auto slow_text = read_text_file(db.primary().slow_log.string());
  ASSERT_TRUE(slow_text.ok());
  auto slow = parse_slow_log(*slow_text, db.primary().slow_log.string(), "primary");
  ASSERT_TRUE(slow.ok()) << slow.error().message;
  const auto likes = std::count_if(slow->begin(), slow->end(), [](const SlowQuery& q) {
    return q.normalized == "SELECT id FROM crest.products WHERE name LIKE ?" &&
           q.rows_examined == 20000;
  });
  EXPECT_EQ(likes, 40);

  // The command, live: two snapshots a second apart, saved as it goes.
  const auto live = dir / "live.jsonl";
  std::vector<std::string> args{"top",   "--socket", db.primary().socket, "--save", live.string(),
                                "--top", "3"};
  std::vector<char*> argv;
  for (auto& a : args) {
    argv.push_back(a.data());
  }
  ::testing::internal::CaptureStdout();
  const int code = db_top_command(static_cast<int>(argv.size()), argv.data());
  const auto printed = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, 0);
  EXPECT_THAT(printed, HasSubstr("top SQL by load"));
  auto live_text = read_text_file(live.string());
  ASSERT_TRUE(live_text.ok());
  auto live_snaps = parse_digest_snapshots(*live_text, live.string());
  ASSERT_TRUE(live_snaps.ok()) << live_snaps.error().message;
  EXPECT_EQ(live_snaps->size(), 2u);

  db.stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace crest::diagnose
