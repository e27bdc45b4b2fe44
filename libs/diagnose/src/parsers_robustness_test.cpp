// Never a crash on bad input: every parser is fed every fixture file (of every format),
// truncated at many points and with random bytes changed. Each must answer a value or an
// error that names the file; no exception may escape.
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>

#include <gtest/gtest.h>

#include "crest/diagnose/parsers.hpp"

namespace crest::diagnose {
namespace {

namespace fs = std::filesystem;

template <typename T>
void expect_value_or_named_error(const Result<T>& r, const std::string& source) {
  if (!r.ok()) {
    EXPECT_EQ(r.error().message.rfind(source, 0), 0u) << r.error().message;
  }
}

void parse_with_every_parser(const std::string& text, const std::string& source) {
  expect_value_or_named_error(parse_prometheus_query_range(text, source), source);
  expect_value_or_named_error(parse_cloudwatch_metric_data(text, source), source);
  expect_value_or_named_error(parse_load_run(text, source), source);
  expect_value_or_named_error(parse_json_logs(text, source), source);
  expect_value_or_named_error(parse_logback_logs(text, source, "svc"), source);
  expect_value_or_named_error(parse_slow_log(text, source, "primary"), source);
  expect_value_or_named_error(parse_digest_snapshots(text, source), source);
  expect_value_or_named_error(parse_replica_status(text, source), source);
  expect_value_or_named_error(parse_autoscaler_log(text, source), source);
  expect_value_or_named_error(parse_haproxy_stat_snapshots(text, source), source);
}

TEST(ParserRobustness, TruncatedAndCorruptedFixturesNeverThrow) {
  std::mt19937 rng(7);
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(CREST_DIAGNOSE_FIXTURES)) {
    const auto name = entry.path().filename().string();
    if (!entry.is_regular_file() || name == "expected.json" || entry.path().extension() == ".py") {
      continue;
    }
    SCOPED_TRACE(entry.path().string());
    auto text = read_text_file(entry.path().string());
    ASSERT_TRUE(text.ok());
    const std::string source = "fixture";
    const std::size_t size = text->size();
    for (int i = 1; i <= 8; ++i) {
      const auto cut = size * static_cast<std::size_t>(i) / 9;
      EXPECT_NO_THROW(parse_with_every_parser(text->substr(0, cut), source));
    }
    const std::string replacements = "\"{}[],:0x-\n \\";
    for (int i = 0; i < 8; ++i) {
      std::string corrupted = *text;
      for (int k = 0; k < 3; ++k) {
        corrupted[rng() % size] = replacements[rng() % replacements.size()];
      }
      EXPECT_NO_THROW(parse_with_every_parser(corrupted, source));
    }
    ++files;
  }
  EXPECT_GE(files, 20);
}

// Recorded fixtures are gzipped: a cut-short gzip file is an error naming the file.
TEST(ParserRobustness, TruncatedGzipIsANamedError) {
  const auto fixture =
      fs::path(CREST_DIAGNOSE_FIXTURES) / "recorded-cpu-hog" / "prometheus.json.gz";
  std::ifstream in(fixture, std::ios::binary);
  ASSERT_TRUE(in) << fixture;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000u);
  const auto cut = fs::temp_directory_path() / "crest-diagnose-truncated.json.gz";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto text = read_text_file(cut.string());
  fs::remove(cut);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.error().message.find(cut.string() + ": cannot read the file"), std::string::npos)
      << text.error().message;
}

TEST(ParserRobustness, WrongJsonTypesAreErrorsNotExceptions) {
  const std::string source = "types.json";
  for (
      const char* text : {
          R"({"status":5,"data":{"resultType":7,"result":[]}})",
          R"({"queries":[{"name":3,"response":{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1},"values":[]}]}}}]})",
          R"({"MetricDataResults":[{"Id":1,"Label":[],"Timestamps":[{}],"Values":["x"]}]})",
          R"({"timeline":[{"t":"1","requests":{},"failures":[]}],"start_unix_ms":"x"})",
      }) {
    EXPECT_NO_THROW(expect_value_or_named_error(parse_prometheus_query_range(text, source), source))
        << text;
    EXPECT_NO_THROW(expect_value_or_named_error(parse_cloudwatch_metric_data(text, source), source))
        << text;
    EXPECT_NO_THROW(expect_value_or_named_error(parse_load_run(text, source), source)) << text;
  }
  for (
      const char* line : {
          R"({"ts":"2026-11-30T08:00:00Z","replica":"r","seconds_behind_master":"x","io_running":"No"})",
          R"({"ts":"2026-11-30T08:00:00Z","replica":7,"seconds_behind_master":1,"io_running":{}})",
          R"({"ts":"2026-11-30T08:00:00Z","kind":"decision","service":[],"current":"2","desired":{}})",
          R"({"ts":{},"level":3,"service":[],"msg":{}})",
          R"({"ts":"2026-11-30T08:00:00Z","digests":[{"count_star":"1","sum_timer_wait":true}],"waits":[1]})",
      }) {
    const std::string text = std::string(line) + "\n";
    EXPECT_NO_THROW(parse_with_every_parser(text, source)) << line;
  }
}

}  // namespace
}  // namespace crest::diagnose
