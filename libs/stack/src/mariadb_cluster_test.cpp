#include "crest/stack/mariadb_cluster.hpp"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "crest/stack/redis_server.hpp"

namespace crest::stack {
namespace {

using namespace std::chrono_literals;

std::filesystem::path run_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("crest_stack_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  return dir;
}

TEST(MariaDbCluster, ReplicatesStopsAndRestartsReplicas) {
  const auto dir = run_dir("mariadb");
  const auto began = std::chrono::steady_clock::now();
  auto cluster = MariaDbCluster::start(dir, 2);
  ASSERT_TRUE(cluster.ok()) << cluster.error().message;
  auto& c = **cluster;
  std::cerr << "cluster up in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count()
            << " s\n";
  EXPECT_EQ(c.replica_count(), 2);
  EXPECT_EQ(c.replica(1).name, "replica2");

  ASSERT_TRUE(c.execute(0,
                        "CREATE TABLE crest.t (id INT PRIMARY KEY) ENGINE=InnoDB;"
                        "INSERT INTO crest.t VALUES (1)")
                  .ok());
  ASSERT_TRUE(c.wait_for_replicas(10s).ok());
  for (int server = 1; server <= 2; ++server) {
    auto rows = c.execute(server, "SELECT COUNT(*) FROM crest.t");
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    EXPECT_EQ(*rows, "1\n");
  }
  // The application user connects over TCP and may read replica status.
  auto status = c.execute(1, "SHOW SLAVE STATUS");
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->find("Yes"), std::string::npos);

  const auto port = c.replica(0).port;
  ASSERT_TRUE(c.stop_replica(0).ok());
  EXPECT_FALSE(c.execute(1, "SELECT 1").ok());
  ASSERT_TRUE(c.execute(0, "INSERT INTO crest.t VALUES (2)").ok());
  ASSERT_TRUE(c.start_replica(0).ok());
  EXPECT_EQ(c.replica(0).port, port);
  ASSERT_TRUE(c.wait_for_replicas(10s).ok());
  EXPECT_EQ(*c.execute(1, "SELECT COUNT(*) FROM crest.t"), "2\n");  // caught up

  ASSERT_TRUE(c.set_replica_delay(1, 30s).ok());
  EXPECT_NE(c.execute(2, "SHOW SLAVE STATUS")->find("30"), std::string::npos);
  c.stop();
  std::filesystem::remove_all(dir);
}

TEST(RedisServer, StopsAndStartsOnTheSamePort) {
  const auto dir = run_dir("redis");
  auto redis = RedisServer::start(dir);
  ASSERT_TRUE(redis.ok()) << redis.error().message;
  const auto port = (*redis)->port();
  EXPECT_TRUE(wait_for_tcp(port, 1s).ok());
  (*redis)->stop();
  EXPECT_FALSE(wait_for_tcp(port, 100ms).ok());
  ASSERT_TRUE((*redis)->start().ok());
  EXPECT_EQ((*redis)->port(), port);
  EXPECT_TRUE(wait_for_tcp(port, 1s).ok());
  (*redis)->stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace crest::stack
