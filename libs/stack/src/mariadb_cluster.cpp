#include "crest/stack/mariadb_cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

namespace crest::stack {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

ProcessSpec command(std::string program, std::vector<std::string> args) {
  ProcessSpec spec;
  spec.program = std::move(program);
  spec.args = std::move(args);
  return spec;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

// Runs a program to completion; its exit status must be 0. Output (stdout + stderr) returned.
Result<std::string> run(const ProcessSpec& base, const fs::path& out_path,
                        std::chrono::milliseconds timeout) {
  ProcessSpec spec = base;
  spec.log_path = out_path.string();
  std::error_code ignored;
  fs::remove(out_path, ignored);
  auto child = ChildProcess::spawn(spec);
  if (!child.ok()) {
    return child.error();
  }
  const auto status = child->wait_for_exit(timeout);
  std::string output = read_file(out_path);
  fs::remove(out_path, ignored);
  if (!status) {
    child->stop(1s);
    return Error{ErrorKind::timeout, fmt::format("{} did not finish within {} ms: {}", base.program,
                                                 timeout.count(), trim(output))};
  }
  if (*status != 0) {
    return Error{ErrorKind::internal,
                 fmt::format("{} exited with {}: {}", base.program, *status, trim(output))};
  }
  return output;
}

std::string mariadbd_version() {
  static const std::string version = [] {
    auto out = run(
        command("mariadbd", {"--version"}),
        fs::temp_directory_path() / fmt::format("crest-mariadbd-version-{}.txt", ::getpid()), 10s);
    std::string v = out.ok() ? *out : "unknown";
    std::string safe;
    for (const char c : v) {
      if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-') {
        safe += c;
      } else if (!safe.empty() && safe.back() != '_') {
        safe += '_';
      }
    }
    return safe.substr(0, 60);
  }();
  return version;
}

// mariadb-install-db takes about 5 s here (bootstrap I/O), copying its result 0.2 s: install
// once per MariaDB version into a shared template, then copy it for every server.
Result<fs::path> data_dir_template() {
  const fs::path tmpl = fs::temp_directory_path() /
                        fmt::format("crest-mariadb-template-{}-{}", ::getuid(), mariadbd_version());
  if (fs::exists(tmpl / "mysql")) {
    return tmpl;
  }
  static std::atomic<int> counter{0};
  const fs::path staging =
      fs::path(tmpl.string() + fmt::format(".staging-{}-{}", ::getpid(), counter++));
  std::error_code ec;
  fs::remove_all(staging, ec);
  auto installed = run(command("mariadb-install-db",
                               {"--no-defaults", "--user=root", "--datadir=" + staging.string(),
                                "--auth-root-authentication-method=normal", "--skip-test-db",
                                "--skip-name-resolve"}),
                       staging.string() + ".log", 120s);
  if (!installed.ok()) {
    fs::remove_all(staging, ec);
    return Error{installed.error().kind, "mariadb-install-db failed: " + installed.error().message};
  }
  fs::rename(staging, tmpl, ec);  // atomic; another process may have won the race
  if (ec) {
    fs::remove_all(staging, ec);
  }
  if (!fs::exists(tmpl / "mysql")) {
    return Error{ErrorKind::internal,
                 "could not create the data directory template " + tmpl.string()};
  }
  return tmpl;
}

std::string sql_quote(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "'";
}

}  // namespace

MariaDbCluster::~MariaDbCluster() {
  stop();
}

pid_t MariaDbCluster::pid(int server) const {
  const auto& p = processes_.at(static_cast<std::size_t>(server));
  return p ? p->pid() : -1;
}

Result<std::string> MariaDbCluster::execute(int server, const std::string& sql) const {
  const auto& s = servers_.at(static_cast<std::size_t>(server));
  static std::atomic<int> counter{0};
  const fs::path out = dir_ / fmt::format("sql-{}-{}.out", s.name, counter++);
  return run(command("mariadb", {"--no-defaults", "--user=root", "--socket=" + s.socket, "--batch",
                                 "--skip-column-names", "--connect-timeout=5", "-e", sql}),
             out, 60s);
}

Result<void> MariaDbCluster::launch_server(std::size_t index) {
  const MariaDbServer& s = servers_[index];
  std::vector<std::string> args{
      "--no-defaults",
      "--user=root",
      "--datadir=" + s.data_dir.string(),
      "--bind-address=127.0.0.1",
      fmt::format("--port={}", s.port),
      "--socket=" + s.socket,
      // Its own temporary directory: servers of parallel tests sharing /tmp lost each other's
      // internal temporary tables ("Error on delete of '/tmp/#sql-temptable-…'").
      "--tmpdir=" + (dir_ / (s.name + "-tmp")).string(),
      "--pid-file=" + (dir_ / (s.name + ".pid")).string(),
      fmt::format("--server-id={}", index + 1),
      "--binlog-format=ROW",
      fmt::format("--innodb-buffer-pool-size={}M", options_.innodb_buffer_pool_mb),
      options_.performance_schema ? "--performance-schema=ON" : "--performance-schema=OFF",
      "--slow-query-log=ON",
      "--slow-query-log-file=" + s.slow_log.string(),
      fmt::format("--long-query-time={}", options_.long_query_time_seconds),
      "--skip-name-resolve",
      "--character-set-server=utf8mb4",
      "--collation-server=utf8mb4_unicode_ci",
      "--max-connections=500",
  };
  if (index == 0) {
    args.push_back("--log-bin=" + (s.data_dir / "mysql-bin").string());
  } else {
    args.push_back("--relay-log=" + (s.data_dir / "relay-bin").string());
    args.push_back("--read-only=ON");  // the application user cannot write to a replica
  }
  std::error_code ec;
  fs::create_directories(dir_ / (s.name + "-tmp"), ec);
  if (ec) {
    return Error{ErrorKind::internal,
                 "cannot create " + (dir_ / (s.name + "-tmp")).string() + ": " + ec.message()};
  }
  auto child = ChildProcess::spawn([&] {
    ProcessSpec spec = command("mariadbd", args);
    spec.log_path = s.error_log.string();
    if (options_.cgroup_procs) spec.cgroup_procs = options_.cgroup_procs(s.name);
    return spec;
  }());
  if (!child.ok()) {
    return child.error();
  }
  processes_[index].emplace(std::move(*child));
  return {};
}

Result<void> MariaDbCluster::wait_ready(std::size_t index, std::chrono::milliseconds timeout) {
  const MariaDbServer& s = servers_[index];
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto tcp = wait_for_tcp(s.port, timeout);
  if (!tcp.ok()) {
    return Error{tcp.error().kind,
                 fmt::format("{} did not start: {} (log {}: {})", s.name, tcp.error().message,
                             s.error_log.string(), trim(read_file(s.error_log)))};
  }
  for (;;) {  // TCP accepts a little before the socket file and root are usable
    auto ping = execute(static_cast<int>(index), "SELECT 1");
    if (ping.ok()) {
      return {};
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      return Error{ErrorKind::timeout, s.name + " is not answering: " + ping.error().message};
    }
    std::this_thread::sleep_for(20ms);
  }
}

Result<void> MariaDbCluster::configure_replica(std::size_t index) {
  const auto& p = primary();
  auto done =
      execute(static_cast<int>(index),
              fmt::format("STOP SLAVE; CHANGE MASTER TO MASTER_HOST='127.0.0.1', "
                          "MASTER_PORT={}, MASTER_USER='crest_repl', MASTER_PASSWORD={}, "
                          "MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, "
                          "MASTER_DELAY={}; START SLAVE",
                          p.port, sql_quote(replication_password_), delays_[index].count()));
  if (!done.ok()) {
    return done.error();
  }
  return {};
}

Result<std::unique_ptr<MariaDbCluster>> MariaDbCluster::start(const fs::path& dir,
                                                              MariaDbClusterOptions options) {
  auto cluster = launch(dir, std::move(options));
  if (!cluster.ok()) {
    return cluster.error();
  }
  if (auto started = (*cluster)->finish_start(); !started.ok()) {
    return started.error();
  }
  return cluster;
}

Result<std::unique_ptr<MariaDbCluster>> MariaDbCluster::launch(const fs::path& dir,
                                                               MariaDbClusterOptions options) {
  if (options.replicas < 0) {
    return Error{ErrorKind::invalid_argument, "replicas must not be negative"};
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  }
  std::unique_ptr<MariaDbCluster> cluster(new MariaDbCluster(fs::absolute(dir), options));
  const auto count = static_cast<std::size_t>(options.replicas) + 1;
  cluster->servers_.resize(count);
  cluster->processes_.resize(count);
  cluster->delays_.assign(count, 0s);

  auto tmpl = data_dir_template();
  if (!tmpl.ok()) {
    return tmpl.error();
  }
  std::vector<std::uint16_t> ports;
  std::vector<std::optional<ChildProcess>> copies(count);
  for (std::size_t i = 0; i < count; ++i) {
    MariaDbServer& s = cluster->servers_[i];
    s.name = i == 0 ? "primary" : fmt::format("replica{}", i);
    // Unix socket paths are limited to 107 bytes; the run directory may be deep.
    s.socket = (fs::temp_directory_path() /
                fmt::format("crest-mariadb-{}-{}-{}.sock", ::getpid(),
                            reinterpret_cast<std::uintptr_t>(cluster.get()) % 100000, i))
                   .string();
    s.data_dir = cluster->dir_ / s.name;
    s.error_log = cluster->dir_ / (s.name + ".log");
    s.slow_log = cluster->dir_ / (s.name + "-slow.log");
    do {
      auto port = free_loopback_port();
      if (!port.ok()) {
        return port.error();
      }
      s.port = *port;
    } while (std::find(ports.begin(), ports.end(), s.port) != ports.end());
    ports.push_back(s.port);
    if (!fs::exists(s.data_dir / "mysql")) {
      auto copy = ChildProcess::spawn(
          command("cp", {"-a", "--sparse=always", tmpl->string(), s.data_dir.string()}));
      if (!copy.ok()) {
        return copy.error();
      }
      copies[i].emplace(std::move(*copy));
    }
  }
  for (auto& copy : copies) {
    if (copy && copy->wait_for_exit(60s).value_or(-1) != 0) {
      return Error{ErrorKind::internal, "copying the MariaDB data directory template failed"};
    }
  }
  for (std::size_t i = 0; i < count; ++i) {
    if (auto launched = cluster->launch_server(i); !launched.ok()) {
      return launched.error();
    }
  }
  return cluster;
}

Result<void> MariaDbCluster::finish_start() {
  const std::size_t count = servers_.size();
  for (std::size_t i = 0; i < count; ++i) {
    if (auto ready = wait_ready(i, options_.ready_timeout); !ready.ok()) {
      return ready.error();
    }
  }
  const std::string user = sql_quote(options_.user) + "@'127.0.0.1'";
  auto setup =
      execute(0, fmt::format("CREATE USER IF NOT EXISTS 'crest_repl'@'127.0.0.1' IDENTIFIED BY {0};"
                             "GRANT REPLICATION SLAVE ON *.* TO 'crest_repl'@'127.0.0.1';"
                             "CREATE USER IF NOT EXISTS {1} IDENTIFIED BY {2};"
                             "GRANT REPLICA MONITOR ON *.* TO {1};",
                             sql_quote(replication_password_), user, sql_quote(options_.password)));
  if (!setup.ok()) {
    return Error{setup.error().kind, "setting up the primary: " + setup.error().message};
  }
  for (std::size_t i = 1; i < count; ++i) {
    if (auto configured = configure_replica(i); !configured.ok()) {
      return Error{configured.error().kind,
                   "setting up " + servers_[i].name + ": " + configured.error().message};
    }
  }
  return create_database(options_.database);
}

Result<void> MariaDbCluster::create_database(const std::string& name) {
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') {
      return Error{ErrorKind::invalid_argument, "database names are [A-Za-z0-9_]: " + name};
    }
  }
  auto created = execute(0, fmt::format("CREATE DATABASE IF NOT EXISTS `{0}` CHARACTER SET "
                                        "utf8mb4 COLLATE utf8mb4_unicode_ci;"
                                        "GRANT ALL PRIVILEGES ON `{0}`.* TO {1}@'127.0.0.1'",
                                        name, sql_quote(options_.user)));
  if (!created.ok()) {
    return created.error();
  }
  return wait_for_replicas(options_.ready_timeout);
}

Result<void> MariaDbCluster::wait_for_replicas(std::chrono::milliseconds timeout) {
  auto position = execute(0, "SELECT @@gtid_binlog_pos");
  if (!position.ok()) {
    return position.error();
  }
  const std::string pos = trim(*position);
  const double seconds = std::chrono::duration<double>(timeout).count();
  for (std::size_t i = 1; i < servers_.size(); ++i) {
    if (!processes_[i] || !processes_[i]->running() || delays_[i] > 0s) {
      continue;
    }
    auto waited = execute(static_cast<int>(i),
                          fmt::format("SELECT MASTER_GTID_WAIT({}, {})", sql_quote(pos), seconds));
    if (!waited.ok()) {
      return waited.error();
    }
    if (trim(*waited) != "0") {
      return Error{ErrorKind::timeout, fmt::format("{} did not reach GTID {} within {} s",
                                                   servers_[i].name, pos, seconds)};
    }
  }
  return {};
}

Result<void> MariaDbCluster::stop_replica(int i, bool crash) {
  const auto index = static_cast<std::size_t>(i) + 1;
  if (i < 0 || index >= servers_.size()) {
    return Error{ErrorKind::invalid_argument, fmt::format("no replica {}", i)};
  }
  if (processes_[index]) {
    if (crash) {
      processes_[index]->stop(0ms, SIGKILL);
    } else {
      processes_[index]->stop(30s);
    }
    processes_[index].reset();
  }
  return {};
}

bool MariaDbCluster::running(int server) {
  auto& p = processes_.at(static_cast<std::size_t>(server));
  return p && p->running();
}

Result<void> MariaDbCluster::restart_server(int server) {
  const auto index = static_cast<std::size_t>(server);
  if (server < 0 || index >= servers_.size())
    return Error{ErrorKind::invalid_argument, fmt::format("no server {}", server)};
  if (processes_[index] && processes_[index]->running()) return {};
  processes_[index].reset();
  if (auto launched = launch_server(index); !launched.ok()) return launched.error();
  return wait_ready(index, options_.ready_timeout);
}

Result<void> MariaDbCluster::start_replica(int i) {
  const auto index = static_cast<std::size_t>(i) + 1;
  if (i < 0 || index >= servers_.size()) {
    return Error{ErrorKind::invalid_argument, fmt::format("no replica {}", i)};
  }
  if (processes_[index] && processes_[index]->running()) {
    return {};
  }
  if (auto launched = launch_server(index); !launched.ok()) {
    return launched.error();
  }
  return wait_ready(index, options_.ready_timeout);
}

Result<void> MariaDbCluster::set_replica_delay(int i, std::chrono::seconds delay) {
  const auto index = static_cast<std::size_t>(i) + 1;
  if (i < 0 || index >= servers_.size() || delay < 0s) {
    return Error{ErrorKind::invalid_argument, fmt::format("no replica {} or negative delay", i)};
  }
  delays_[index] = delay;
  auto done = execute(
      static_cast<int>(index),
      fmt::format("STOP SLAVE; CHANGE MASTER TO MASTER_DELAY={}; START SLAVE", delay.count()));
  if (!done.ok()) {
    return done.error();
  }
  return {};
}

void MariaDbCluster::stop(bool crash) {
  // All at once (a clean shutdown takes about a second each), replicas first so they do not
  // spend their shutdown reconnecting to a vanished primary.
  const int signal = crash ? SIGKILL : SIGTERM;
  for (std::size_t i = processes_.size(); i-- > 0;) {
    if (processes_[i]) {
      processes_[i]->signal(signal);
    }
  }
  for (std::size_t i = processes_.size(); i-- > 0;) {
    if (processes_[i]) {
      processes_[i]->stop(30s, signal);
      processes_[i].reset();
    }
  }
  std::error_code ec;
  for (const auto& s : servers_) {
    fs::remove(s.socket, ec);
  }
}

}  // namespace crest::stack
