#include "crest/stack/child_process.hpp"

#include <signal.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace crest::stack {
namespace {

using namespace std::chrono_literals;

ProcessSpec spec_of(std::string program, std::vector<std::string> args) {
  ProcessSpec spec;
  spec.program = std::move(program);
  spec.args = std::move(args);
  return spec;
}

TEST(ChildProcess, RunsWithEnvironmentAndLogsOutput) {
  const auto log = std::filesystem::temp_directory_path() / "crest_child_test.log";
  std::filesystem::remove(log);
  ProcessSpec spec = spec_of("sh", {"-c", "echo hello $GREETING; exit 3"});
  spec.env = {{"GREETING", "world"}};
  spec.log_path = log.string();
  auto child = ChildProcess::spawn(spec);
  ASSERT_TRUE(child.ok()) << child.error().message;
  EXPECT_EQ(child->wait_for_exit(5s).value_or(-99), 3);
  std::ifstream in(log);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "hello world");
  std::filesystem::remove(log);
}

TEST(ChildProcess, StopSendsTermThenKill) {
  auto polite = ChildProcess::spawn(spec_of("sleep", {"30"}));
  ASSERT_TRUE(polite.ok());
  EXPECT_TRUE(polite->running());
  EXPECT_EQ(polite->stop(), 128 + SIGTERM);
  EXPECT_FALSE(polite->running());
  EXPECT_EQ(polite->stop(), 128 + SIGTERM);  // idempotent

  auto stubborn = ChildProcess::spawn(spec_of("sh", {"-c", "trap '' TERM; sleep 30"}));
  ASSERT_TRUE(stubborn.ok());
  std::this_thread::sleep_for(100ms);  // let the shell install its trap
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(stubborn->stop(200ms), 128 + SIGKILL);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(ChildProcess, StoppedProcessesCanStillBeStopped) {
  auto child = ChildProcess::spawn(spec_of("sleep", {"30"}));
  ASSERT_TRUE(child.ok());
  child->signal(SIGSTOP);
  EXPECT_EQ(child->stop(2s), 128 + SIGTERM);
}

TEST(ChildProcess, MissingProgramIsANamedError) {
  auto child = ChildProcess::spawn(spec_of("no-such-program-crest", {}));
  ASSERT_FALSE(child.ok());
  EXPECT_NE(child.error().message.find("no-such-program-crest"), std::string::npos);
}

TEST(Ports, PortFileIsReadOnceWrittenAndAnExitIsAnError) {
  const auto file = std::filesystem::temp_directory_path() / "crest_port_file_test";
  std::filesystem::remove(file);
  auto writer = ChildProcess::spawn(
      spec_of("sh", {"-c", "sleep 0.1; echo 4321 > " + file.string() + "; sleep 30"}));
  ASSERT_TRUE(writer.ok());
  auto port = wait_for_port_file(file.string(), *writer, 5s);
  ASSERT_TRUE(port.ok()) << port.error().message;
  EXPECT_EQ(*port, 4321);
  std::filesystem::remove(file);
  auto quitter = ChildProcess::spawn(spec_of("sh", {"-c", "exit 1"}));
  ASSERT_TRUE(quitter.ok());
  const auto none = wait_for_port_file(file.string(), *quitter, 5s);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::unavailable);
}

TEST(Ports, FreePortIsFreeAndWaitTimesOut) {
  auto port = free_loopback_port();
  ASSERT_TRUE(port.ok());
  EXPECT_GT(*port, 0);
  const auto waited = wait_for_tcp(*port, 100ms);
  ASSERT_FALSE(waited.ok());
  EXPECT_EQ(waited.error().kind, ErrorKind::timeout);
}

}  // namespace
}  // namespace crest::stack
