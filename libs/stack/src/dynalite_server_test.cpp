#include "crest/stack/dynalite_server.hpp"

#include <signal.h>

#include <filesystem>

#include <gtest/gtest.h>
#include <unistd.h>

#include "crest/stack/fauxqs_server.hpp"

namespace crest::stack {
namespace {

using namespace std::chrono_literals;

std::string run_dir(const char* what) {
  return (std::filesystem::temp_directory_path() /
          (std::string("crest-stack-") + what + "-" + std::to_string(::getpid())))
      .string();
}

bool alive(pid_t pid) {
  return pid > 0 && ::kill(pid, 0) == 0;
}

// The servers come from npm (`npm ci`); a missing package fails here with that hint.
TEST(DynaliteServer, StartsOnLoopbackRestartsOnTheSamePortAndStops) {
  auto server = DynaliteServer::start(run_dir("dynalite"));
  ASSERT_TRUE(server.ok()) << server.error().message;
  const auto port = server->port();
  EXPECT_GT(port, 0);
  EXPECT_EQ(server->endpoint(), "http://127.0.0.1:" + std::to_string(port));
  EXPECT_TRUE(wait_for_tcp(port, 1s).ok());
  const pid_t first = server->pid();
  EXPECT_TRUE(alive(first));

  server->pause();
  server->resume();
  ASSERT_TRUE(server->restart().ok());
  EXPECT_EQ(server->port(), port);
  EXPECT_NE(server->pid(), first);
  EXPECT_TRUE(wait_for_tcp(port, 1s).ok());

  const pid_t second = server->pid();
  server->stop();
  EXPECT_EQ(server->pid(), -1);
  EXPECT_FALSE(wait_for_tcp(port, 200ms).ok());
  EXPECT_FALSE(alive(second));
}

TEST(FauxqsServer, ListensOnLoopbackOnlyAndStopsWhilePaused) {
  auto server = FauxqsServer::start(run_dir("fauxqs"));
  ASSERT_TRUE(server.ok()) << server.error().message;
  EXPECT_TRUE(wait_for_tcp(server->port(), 1s).ok());
  const pid_t pid = server->pid();
  server->pause();
  server->stop();  // a stopped (SIGSTOP) server is continued, then terminated
  EXPECT_FALSE(alive(pid));
  EXPECT_FALSE(wait_for_tcp(server->port(), 200ms).ok());
}

TEST(NodeServers, MissingPackagesNameTheFix) {
  DynaliteOptions options;
  options.repo_root = "/nonexistent-crest-root";
  auto server = DynaliteServer::start(run_dir("missing"), options);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.error().message.find("npm ci"), std::string::npos) << server.error().message;
}

}  // namespace
}  // namespace crest::stack
