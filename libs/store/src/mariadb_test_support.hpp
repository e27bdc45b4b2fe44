#pragma once
// A real MariaDB primary (and replicas, for the tests that need them) started by the test on
// free loopback ports (crest::stack::MariaDbCluster) on first use, shared by the tests of the
// process and stopped at its end; each test works in its own database.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "crest/stack/mariadb_cluster.hpp"
#include "crest/store/mysql.hpp"

namespace crest::store::test {

inline std::unique_ptr<stack::MariaDbCluster>& mariadb_cluster_slot() {
  static std::unique_ptr<stack::MariaDbCluster> cluster;
  return cluster;
}

inline std::filesystem::path mariadb_cluster_dir() {
  return std::filesystem::temp_directory_path() /
         ("crest_mysql_test_" + std::to_string(::getpid()));
}

class MariaDbClusterEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (mariadb_cluster_slot()) {
      mariadb_cluster_slot()->stop(/*crash=*/true);  // the data is thrown away anyway
      mariadb_cluster_slot().reset();
      std::filesystem::remove_all(mariadb_cluster_dir());
    }
  }
};
[[maybe_unused]] inline ::testing::Environment* const kMariaDbClusterEnvironment =
    ::testing::AddGlobalTestEnvironment(new MariaDbClusterEnvironment);

// Started on first use with `replicas` replicas, so the other tests of the binary never pay for
// it; later calls get the running cluster, or, when it has fewer replicas than they ask for (the
// whole binary run in one process), a new one.
inline stack::MariaDbCluster& mariadb_cluster(int replicas = 2) {
  auto& slot = mariadb_cluster_slot();
  if (slot && slot->replica_count() < replicas) {
    slot->stop(/*crash=*/true);
    slot.reset();
  }
  if (!slot) {
    std::filesystem::remove_all(mariadb_cluster_dir());
    stack::MariaDbClusterOptions options;
    options.replicas = replicas;
    options.innodb_buffer_pool_mb = 64;
    auto started = stack::MariaDbCluster::start(mariadb_cluster_dir(), options);
    if (!started.ok()) {
      ADD_FAILURE() << "MariaDB cluster: " << started.error().message;
      std::abort();
    }
    slot = std::move(*started);
  }
  return *slot;
}

// A fresh, empty database (with --gtest_repeat the cluster, and the last run's rows, stay up).
inline void recreate_database(stack::MariaDbCluster& cluster, const std::string& name) {
  ASSERT_TRUE(cluster.execute(0, "DROP DATABASE IF EXISTS " + name).ok());
  auto created = cluster.create_database(name);
  ASSERT_TRUE(created.ok()) << created.error().message;
}

inline MysqlEndpoint mariadb_endpoint(const stack::MariaDbCluster& cluster,
                                      const stack::MariaDbServer& server,
                                      const std::string& database) {
  const auto& o = cluster.options();
  return MysqlEndpoint{server.name, server.host, server.port, o.user, o.password, database};
}

}  // namespace crest::store::test
