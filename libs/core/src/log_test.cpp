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

TEST(LogLevel, ParsesNamesAndRejectsOthers) {
  EXPECT_EQ(parse_level("warn"), Level::warn);
  EXPECT_THROW(parse_level("loud"), std::invalid_argument);
}

}  // namespace
}  // namespace crest::log
