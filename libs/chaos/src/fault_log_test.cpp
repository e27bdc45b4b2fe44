#include "crest/chaos/fault_log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "crest/chaos/fault_proxy.hpp"

namespace crest::chaos {
namespace {

using ::testing::HasSubstr;

class FaultLog : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("crest-chaos-log-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    log_ = (dir_ / "faults.jsonl").string();
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::vector<std::string> lines() const {
    std::ifstream in(log_);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      out.push_back(line);
    }
    return out;
  }
  std::filesystem::path dir_;
  std::string log_;
  ManualClock clock_;
};

TEST_F(FaultLog, UndoesAProxyFaultFromTheLogAfterACrash) {
  ProxyOptions options;
  options.upstream_port = 9;  // never contacted: no request goes through
  options.control_socket = (dir_ / "proxy.sock").string();
  auto proxy = FaultProxy::start(options);
  ASSERT_TRUE(proxy.ok()) << proxy.error().message;
  {
    // The chaos command that injects the fault, then "crashes" (goes out of scope).
    ReversibleFaultRegistry chaos(log_, clock_);
    chaos.register_fault("dynamodb-throttle", clear_proxy_fault());
    auto started = chaos.start("dynamodb-throttle", "cart->dynalite", {{"probability", 0.5}},
                               {{"control_socket", options.control_socket}}, [&]() -> Result<void> {
                                 auto answer = send_control_command(options.control_socket,
                                                                    "set throttle probability=0.5");
                                 if (!answer) {
                                   return answer.error();
                                 }
                                 return {};
                               });
    ASSERT_TRUE(started.ok()) << started.error().message;
  }
  EXPECT_EQ((*proxy)->fault().kind, ProxyFaultKind::throttle);

  ReversibleFaultRegistry recovery(log_, clock_);  // a new process: only the log is known
  recovery.register_fault("dynamodb-throttle", clear_proxy_fault());
  auto active = recovery.active();
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1U);
  EXPECT_EQ((*active)[0].target, "cart->dynalite");
  EXPECT_DOUBLE_EQ((*active)[0].parameters["probability"].get<double>(), 0.5);

  auto undone = recovery.stop_all();
  ASSERT_TRUE(undone.ok()) << undone.error().message;
  EXPECT_EQ(undone->size(), 1U);
  EXPECT_EQ((*proxy)->fault().kind, ProxyFaultKind::none);
  EXPECT_TRUE(recovery.active()->empty());

  const auto written = lines();
  ASSERT_EQ(written.size(), 2U);
  const auto start = nlohmann::json::parse(written[0]);
  const auto end = nlohmann::json::parse(written[1]);
  EXPECT_EQ(start["event"], "start");
  EXPECT_EQ(start["fault"], "dynamodb-throttle");
  EXPECT_EQ(end["event"], "end");
  EXPECT_EQ(end["id"], start["id"]);
  EXPECT_EQ(end["how"], "stopped");
  EXPECT_THAT(start["ts"].get<std::string>(), ::testing::EndsWith("Z"));
}

TEST_F(FaultLog, AFailedApplyIsUndoneAndLoggedAsFailed) {
  ReversibleFaultRegistry chaos(log_, clock_);
  int undo_calls = 0;
  chaos.register_fault("replica-lag", [&](const FaultRecord&) -> Result<void> {
    ++undo_calls;
    return {};
  });
  auto started =
      chaos.start("replica-lag", "replica-2", {{"seconds", 12}}, {}, []() -> Result<void> {
        return Error{ErrorKind::unavailable, "replica-2 is down"};
      });
  ASSERT_FALSE(started.ok());
  EXPECT_THAT(started.error().message, HasSubstr("replica-2 is down"));
  EXPECT_EQ(undo_calls, 1);
  EXPECT_TRUE(chaos.active()->empty());
  auto records = read_fault_log(log_);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1U);
  EXPECT_EQ((*records)[0].how, "failed");
}

TEST_F(FaultLog, AFaultWithoutUndoCannotStart) {
  ReversibleFaultRegistry chaos(log_, clock_);
  auto started = chaos.start("meteor", "everything", {}, {}, [] { return Result<void>{}; });
  ASSERT_FALSE(started.ok());
  EXPECT_THAT(started.error().message, HasSubstr("no undo handler"));
  EXPECT_FALSE(std::filesystem::exists(log_));
}

TEST_F(FaultLog, AnUndoThatFailsLeavesTheFaultActive) {
  ReversibleFaultRegistry chaos(log_, clock_);
  bool can_undo = false;
  chaos.register_fault("redis-stopped", [&](const FaultRecord&) -> Result<void> {
    if (!can_undo) {
      return Error{ErrorKind::unavailable, "redis-server would not start"};
    }
    return {};
  });
  ASSERT_TRUE(chaos.start("redis-stopped", "redis", {}, {}, [] { return Result<void>{}; }).ok());
  auto first = chaos.stop_all();
  ASSERT_FALSE(first.ok());
  EXPECT_THAT(first.error().message, HasSubstr("redis-server would not start"));
  EXPECT_EQ(chaos.active()->size(), 1U);
  can_undo = true;
  EXPECT_EQ(chaos.stop_all()->size(), 1U);
  EXPECT_TRUE(chaos.active()->empty());
}

TEST_F(FaultLog, ReadsTornAndRejectsMalformedLogs) {
  const std::string start =
      R"({"ts":"2026-11-30T09:00:00.000Z","event":"start","id":"f-1","fault":"cpu-hog","target":"catalog-1"})";
  {
    std::ofstream out(log_);
    out << start << "\n{\"ts\":\"2026-11-30T09:00:01.000Z\",\"event\":\"end\",\"id\":\"f-";
  }
  auto torn = read_fault_log(log_);
  ASSERT_TRUE(torn.ok()) << torn.error().message;
  ASSERT_EQ(torn->size(), 1U);
  EXPECT_FALSE((*torn)[0].end);  // the end never made it to disk: still active

  {
    std::ofstream out(log_);
    out << "garbage\n" << start << "\n";
  }
  auto bad = read_fault_log(log_);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("faults.jsonl:1: not a JSON object"));

  {
    std::ofstream out(log_);
    out << R"({"ts":"2026-11-30T09:00:00.000Z","event":"end","id":"f-9"})"
        << "\n";
  }
  auto orphan = read_fault_log(log_);
  ASSERT_FALSE(orphan.ok());
  EXPECT_THAT(orphan.error().message, HasSubstr(":1: end of fault 'f-9', which never started"));

  EXPECT_TRUE(read_fault_log((dir_ / "absent.jsonl").string())->empty());
}

}  // namespace
}  // namespace crest::chaos
