#include "feed.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace crest::load {
namespace {

using ::testing::HasSubstr;

TEST(Feed, CsvQuotingAndLineEnds) {
  const auto rows = parse_csv("a,b\r\n\"x,1\",\"say \"\"hi\"\"\"\n\n2,\n");
  ASSERT_EQ(rows.size(), 3U);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"x,1", "say \"hi\""}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"2", ""}));
}

TEST(Feed, ReadNamesTheFileAndTheRow) {
  const std::string path = ::testing::TempDir() + "/feed_test.csv";
  std::ofstream(path) << "user,pass\nann,1\nbob\n";
  auto table = read_csv_feed(path);
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.error().message, HasSubstr("row 3 has 1 fields, expected 2"));
  const auto missing = read_csv_feed(path + ".missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("No such file or directory"));  // the reason
}

TEST(Feed, SequentialRowsAreDealtAcrossShards) {
  auto plan = parse_plan(
      "target: http://127.0.0.1:1\njourneys: [{steps: [{request: {path: /}}]}]\n"
      "load: {executor: constant-vus, vus: 1, duration: 1s}\n",
      "plan.yaml");
  ASSERT_TRUE(plan.ok());
  Feed feed;
  feed.name = "u";
  feed.columns = {"n"};
  feed.slots = {0};
  feed.rows = {{"r0"}, {"r1"}, {"r2"}, {"r3"}};
  plan->feeds.push_back(feed);
  FeedDealer second_of_two(*plan);
  second_of_two.set_shard(1, 2);
  std::vector<std::string> vars(1);
  std::vector<int> unique_rows(1, -1);
  Rng rng(1);
  ASSERT_TRUE(second_of_two.take_rows(vars, unique_rows, rng));
  EXPECT_EQ(vars[0], "r1");
  ASSERT_TRUE(second_of_two.take_rows(vars, unique_rows, rng));
  EXPECT_EQ(vars[0], "r3");
}

}  // namespace
}  // namespace crest::load
