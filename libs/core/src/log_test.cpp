#include "crest/core/log.hpp"

#include <mutex>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <nlohmann/json.hpp>

namespace crest::log {
namespace {

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
    set_level(Level::info);
  }
  void TearDown() override {
    set_sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(std::cout));
  }
  std::ostringstream out_;
};

TEST_F(LogTest, OneJsonObjectPerLineWithFixedFields) {
  Logger logger("catalog");
  logger.with({{"request_id", "r1"}, {"trace_id", "t1"}}).info("served", {{"status", 200}});
  const std::string text = out_.str();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  const auto line = nlohmann::json::parse(text);
  EXPECT_EQ(line["service"], "catalog");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["msg"], "served");
  EXPECT_EQ(line["request_id"], "r1");
  EXPECT_EQ(line["trace_id"], "t1");
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["ts"].get<std::string>().size(), 24U);  // 2026-11-26T13:00:00.123Z
}

TEST_F(LogTest, LevelFilters) {
  Logger logger("users");
  logger.debug("hidden");
  EXPECT_TRUE(out_.str().empty());
  set_level(Level::debug);
  logger.debug("shown");
  EXPECT_NE(out_.str().find("shown"), std::string::npos);
}

TEST_F(LogTest, InvalidUtf8DoesNotThrow) {
  Logger logger("users");
  EXPECT_NO_THROW(logger.warn("bad \xff byte"));
  EXPECT_NO_THROW(nlohmann::json::parse(out_.str()));
}

TEST_F(LogTest, PlainFieldsAndIdsMakeOneValidJsonLine) {
  Logger logger("catalog");
  CorrelationIds ids;
  ids.request_id.assign("r1");
  ids.trace_id.assign("4bf92f3577b34da6a3ce929d0e0e4736");
  const Field fields[] = {{"url_path", "/a\"b\\c\n\x01\xff\xc3\xa9"},
                          {"status", 200},
                          {"duration_ms", 1.5},
                          {"response_bytes", std::size_t{42}}};
  logger.with({{"role", "web"}}).with_ids(ids).write(Level::info, "request", fields);
  const auto line = nlohmann::json::parse(out_.str());
  EXPECT_EQ(line["service"], "catalog");
  EXPECT_EQ(line["msg"], "request");
  EXPECT_EQ(line["role"], "web");
  EXPECT_EQ(line["request_id"], "r1");
  EXPECT_EQ(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_FALSE(line.contains("span_id"));  // empty ids are left out
  // Quotes, backslashes and control bytes escaped; a stray byte replaced, valid UTF-8 kept.
  EXPECT_EQ(line["url_path"], "/a\"b\\c\n\x01\xef\xbf\xbd\xc3\xa9");
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["duration_ms"], 1.5);
  EXPECT_EQ(line["response_bytes"], 42);
  EXPECT_EQ(line["ts"].get<std::string>().size(), 24U);
}

TEST_F(LogTest, PlainFieldsBelowTheLevelWriteNothing) {
  set_level(Level::warn);
  const Field fields[] = {{"status", 200}};
  Logger("catalog").write(Level::info, "request", fields);
  EXPECT_TRUE(out_.str().empty());
}

TEST_F(LogTest, InlineTextCutsAtItsCapacity) {
  InlineText<4> text;
  text.assign("abcdef");
  EXPECT_EQ(text.view(), "abcd");
  text.assign("");
  EXPECT_TRUE(text.empty());
  text.assign(std::string_view());  // a null, empty view: no memcpy from null (UBSan)
  EXPECT_TRUE(text.empty());
}

TEST(LogLevel, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(parse_level("warn"), Level::warn);
  EXPECT_THROW(parse_level("loud"), std::invalid_argument);
}

}  // namespace
}  // namespace crest::log
