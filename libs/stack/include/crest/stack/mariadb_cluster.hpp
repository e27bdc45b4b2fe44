#pragma once
// A local MariaDB primary with GTID replicas, for `crest up` and integration tests: data
// directories under one run directory, every server on 127.0.0.1 on a free port, started and
// stopped by pid. Admin SQL goes through the `mariadb` client over each server's Unix socket as
// root; applications connect over TCP as the application user.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/stack/child_process.hpp"

namespace crest::stack {

struct MariaDbClusterOptions {
  int replicas = 2;
  std::string user = "crest";      // the application user, all privileges on `database`
  std::string password = "crest";  // plus REPLICA MONITOR (SHOW SLAVE STATUS) on *.*
  std::string database = "crest";
  int innodb_buffer_pool_mb = 128;
  bool performance_schema = true;         // read-only at run time, so chosen at start
  double long_query_time_seconds = 0.05;  // slow query log threshold
  std::chrono::milliseconds ready_timeout{30000};
  // cgroup.procs files each server joins before exec, by server name; unset: none.
  std::function<std::vector<std::string>(const std::string& server)> cgroup_procs;
};

struct MariaDbServer {
  std::string name;  // "primary", "replica1", "replica2", ... (the db_server metric label)
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string socket;
  std::filesystem::path data_dir;
  std::filesystem::path error_log;
  std::filesystem::path slow_log;
};

class MariaDbCluster {
 public:
  // Installs the data directories in parallel, starts the servers, sets up GTID replication,
  // creates the application user and database, and waits until the replicas have them.
  static Result<std::unique_ptr<MariaDbCluster>> start(const std::filesystem::path& dir,
                                                       MariaDbClusterOptions options = {});
  static Result<std::unique_ptr<MariaDbCluster>> start(const std::filesystem::path& dir,
                                                       int replicas) {
    MariaDbClusterOptions options;
    options.replicas = replicas;
    return start(dir, std::move(options));
  }
  // start() in two halves, so a caller can start other servers while MariaDB boots: launch()
  // copies the data directories and starts the servers without waiting; finish_start() waits
  // until they answer, then sets up replication, the users and the database.
  static Result<std::unique_ptr<MariaDbCluster>> launch(const std::filesystem::path& dir,
                                                        MariaDbClusterOptions options = {});
  Result<void> finish_start();

  MariaDbCluster(const MariaDbCluster&) = delete;
  MariaDbCluster& operator=(const MariaDbCluster&) = delete;
  ~MariaDbCluster();  // stop()

  const MariaDbClusterOptions& options() const { return options_; }
  const MariaDbServer& primary() const { return servers_.front(); }
  // Replica i is 0-based here; its name (and metric label) is "replica{i+1}".
  const MariaDbServer& replica(int i) const { return servers_.at(static_cast<std::size_t>(i) + 1); }
  int replica_count() const { return static_cast<int>(servers_.size()) - 1; }
  pid_t pid(int server) const;  // 0 = primary, 1.. = replicas (as in `servers_`)
  const MariaDbServer& server(int server) const {
    return servers_.at(static_cast<std::size_t>(server));
  }
  int server_count() const { return static_cast<int>(servers_.size()); }
  // Reaps the server if it exited; false once it has (a crash, an OOM kill).
  bool running(int server);
  // Starts a server that is not running again on the same data and port, and waits until ready.
  Result<void> restart_server(int server);

  // SIGTERM and wait (a clean InnoDB shutdown), or SIGKILL when `crash`.
  Result<void> stop_replica(int i, bool crash = false);
  // Same data directory, same port; replication resumes from the saved GTID position.
  Result<void> start_replica(int i);
  // CHANGE MASTER TO MASTER_DELAY: a real, controllable replication lag.
  Result<void> set_replica_delay(int i, std::chrono::seconds delay);
  // Blocks until every running replica has applied everything the primary has written so far
  // (MASTER_GTID_WAIT). Replicas with a delay are skipped.
  Result<void> wait_for_replicas(std::chrono::milliseconds timeout);

  // Runs SQL as root on server 0 (primary) or 1.. (replicas); tab-separated rows, no header.
  Result<std::string> execute(int server, const std::string& sql) const;
  // CREATE DATABASE IF NOT EXISTS on the primary (replicated), then waits for the replicas.
  Result<void> create_database(const std::string& name);

  // Clean shutdown of every server (about a second), or SIGKILL when `crash` (tests that throw
  // the data away).
  void stop(bool crash = false);

 private:
  MariaDbCluster(std::filesystem::path dir, MariaDbClusterOptions options)
      : dir_(std::move(dir)), options_(std::move(options)) {}
  Result<void> launch_server(std::size_t index);
  Result<void> wait_ready(std::size_t index, std::chrono::milliseconds timeout);
  Result<void> configure_replica(std::size_t index);

  std::filesystem::path dir_;
  MariaDbClusterOptions options_;
  std::vector<MariaDbServer> servers_;
  std::vector<std::optional<ChildProcess>> processes_;
  std::vector<std::chrono::seconds> delays_;
  std::string replication_password_ = "crest-repl";
};

}  // namespace crest::stack
