// Faults on MariaDB, applied as root over the server's own Unix socket (found in its command
// line): replica lag, a slow-query storm, a held table lock, a dropped index.
#include "fault_preparation.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace crest::chaos::detail {

namespace {

// A query as heavy as a careless report: a three-way self join of the catalogue with a LIKE.
constexpr const char* kStormQuery =
    "SELECT p1.category_id, COUNT(*) FROM products p1 JOIN products p2 ON p2.name LIKE "
    "CONCAT('%', SUBSTRING(p1.name, 2, 3), '%') JOIN products p3 ON p3.price_cents > "
    "p1.price_cents "
    "GROUP BY p1.category_id";
constexpr const char* kStormPattern = "%JOIN products p3 ON p3.price_cents > p1.price_cents%";
constexpr const char* kLockSleep = "DO SLEEP(86399)";

struct MariaDbAccess {
  std::string socket;
  std::string database = "crest";
};

Result<MariaDbAccess> mariadb_access(const StackProcess& server, const Context& c) {
  MariaDbAccess access;
  for (const auto& arg : process_arguments(server.pid)) {
    if (arg.rfind("--socket=", 0) == 0) access.socket = arg.substr(9);
  }
  if (access.socket.empty())
    return Error{ErrorKind::unavailable, "cannot find the socket of " + server.name};
  const auto settings = read_storefront_settings(c.run_dir);
  if (const auto it = settings.find("db.primary_url"); it != settings.end()) {
    const auto slash = it->second.rfind('/');
    if (slash != std::string::npos && slash + 1 < it->second.size())
      access.database = it->second.substr(slash + 1);
  }
  return access;
}

std::vector<std::string> mariadb_command(const std::string& socket, const std::string& database,
                                         const std::string& sql) {
  return {"mariadb", "--no-defaults",       "--user=root", "--socket=" + socket,
          "--batch", "--skip-column-names", database,      "-e",
          sql};
}

}  // namespace

Result<std::string> run_sql(const std::string& socket, const std::string& database,
                            const std::string& sql) {
  return run_capture(mariadb_command(socket, database, sql));
}

Result<StackProcess> replica(Context& c) {
  const std::string target = c.spec.target.empty() ? "mariadb-replica1" : c.spec.target;
  auto p = find_process(c, target);
  if (!p.ok()) return p.error();
  if (p->name.rfind("mariadb-replica", 0) != 0)
    return Error{ErrorKind::invalid_argument,
                 "target " + target + " is not a replica (mariadb-replica1, mariadb-replica2)"};
  return p;
}

Result<Applied> prepare_replica_lag(Context& c) {
  auto p = replica(c);
  if (!p.ok()) return p.error();
  auto delay = int_parameter(c, "delay_s", 1, 3600);
  if (!delay.ok()) return delay.error();
  auto access = mariadb_access(*p, c);
  if (!access.ok()) return access.error();
  Applied a;
  a.target = p->name;
  a.parameters["delay_s"] = *delay;
  const std::string set = "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY={}; START SLAVE;";
  a.undo["sql"] = {{"socket", access->socket},
                   {"database", access->database},
                   {"statements", fmt::format(fmt::runtime(set), 0)}};
  a.apply = [socket = access->socket, database = access->database,
             sql = fmt::format(fmt::runtime(set), *delay)]() -> Result<void> {
    auto r = run_sql(socket, database, sql);
    if (!r.ok()) return r.error();
    return {};
  };
  return a;
}

Result<Applied> prepare_primary_storm(Context& c) {
  auto p = find_process(c, "mariadb-primary");
  if (!p.ok()) return p.error();
  auto connections = int_parameter(c, "connections", 1, 64);
  if (!connections.ok()) return connections.error();
  auto access = mariadb_access(*p, c);
  if (!access.ok()) return access.error();
  const auto settings = read_storefront_settings(c.run_dir);
  // As the application's user over TCP, so the digests look like the application's.
  std::string user = "crest", password = "crest";
  if (const auto it = settings.find("db.primary_url"); it != settings.end()) {
    const auto scheme = it->second.find("://");
    const auto at = it->second.find('@');
    const auto colon = it->second.find(':', scheme + 3);
    if (scheme != std::string::npos && at != std::string::npos && colon < at) {
      user = it->second.substr(scheme + 3, colon - scheme - 3);
      password = it->second.substr(colon + 1, at - colon - 1);
    }
  }
  Applied a;
  a.target = p->name;
  a.parameters["connections"] = *connections;
  const fs::path pid_file = helper_pid_file(c);
  a.undo["pid_file"] = pid_file.string();
  a.undo["kill_queries"] = {
      {"socket", access->socket}, {"database", access->database}, {"pattern", kStormPattern}};
  const std::string loop = fmt::format(
      "while :; do mariadb --no-defaults -h127.0.0.1 -P{} -u{} -p{} {} -e \"{}\" >/dev/null "
      "2>&1; done",
      p->port, user, password, access->database, kStormQuery);
  a.apply = [loop, pid_file, n = *connections]() -> Result<void> {
    for (int i = 0; i < n; ++i) {
      auto pid = spawn_program_detached({"sh", "-c", loop});
      if (!pid.ok()) return pid.error();
      if (auto r = record_helper(pid_file, *pid); !r.ok()) return r;
    }
    return {};
  };
  return a;
}

Result<Applied> prepare_primary_lock(Context& c) {
  auto p = find_process(c, "mariadb-primary");
  if (!p.ok()) return p.error();
  const std::string table = c.parameters.at("table");
  if (table.empty() ||
      table.find_first_not_of("abcdefghijklmnopqrstuvwxyz_0123456789") != std::string::npos)
    return Error{ErrorKind::invalid_argument, "table=" + table + ": not a table name"};
  auto access = mariadb_access(*p, c);
  if (!access.ok()) return access.error();
  Applied a;
  a.target = p->name + "/" + table;
  a.parameters["table"] = table;
  const fs::path pid_file = helper_pid_file(c);
  a.undo["pid_file"] = pid_file.string();
  // Closing the client does not end a sleeping statement: the session is killed on the server.
  a.undo["kill_queries"] = {
      {"socket", access->socket}, {"database", access->database}, {"pattern", kLockSleep}};
  a.apply = [access = *access, table, pid_file]() -> Result<void> {
    auto pid = spawn_program_detached(
        mariadb_command(access.socket, access.database,
                        fmt::format("LOCK TABLES {} WRITE; {}", table, kLockSleep)));
    if (!pid.ok()) return pid.error();
    return record_helper(pid_file, *pid);
  };
  return a;
}

Result<Applied> prepare_missing_index(Context& c) {
  auto p = find_process(c, "mariadb-primary");
  if (!p.ok()) return p.error();
  const std::string target =
      c.spec.target.empty() ? "products.products_by_category" : c.spec.target;
  const auto dot = target.find('.');
  const std::string allowed = "abcdefghijklmnopqrstuvwxyz_0123456789";
  if (dot == std::string::npos || target.find_first_not_of(allowed + ".") != std::string::npos)
    return Error{ErrorKind::invalid_argument,
                 "missing-index needs --target TABLE.INDEX (products.products_by_category)"};
  const std::string table = target.substr(0, dot), index = target.substr(dot + 1);
  auto access = mariadb_access(*p, c);
  if (!access.ok()) return access.error();
  auto create = run_sql(access->socket, access->database, "SHOW CREATE TABLE " + table);
  if (!create.ok()) return create.error();
  // The batch output escapes newlines as \n: one definition line per item.
  std::string text = *create;
  std::vector<std::string> lines;
  for (std::size_t at = 0; at < text.size();) {
    const auto next = text.find("\\n", at);
    lines.push_back(text.substr(at, next == std::string::npos ? std::string::npos : next - at));
    if (next == std::string::npos) break;
    at = next + 2;
  }
  auto trim = [](std::string s) {
    while (!s.empty() && (s.back() == ',' || s.back() == '\n' || s.back() == ' ')) s.pop_back();
    const auto first = s.find_first_not_of(' ');
    return first == std::string::npos ? std::string{} : s.substr(first);
  };
  std::string index_line, first_column;
  for (const auto& raw : lines) {
    const std::string line = trim(raw);
    if ((line.rfind("KEY `" + index + "`", 0) == 0 ||
         line.rfind("UNIQUE KEY `" + index + "`", 0) == 0)) {
      index_line = line;
      const auto open = line.find("(`");
      const auto close = line.find('`', open + 2);
      if (open != std::string::npos && close != std::string::npos)
        first_column = line.substr(open + 2, close - open - 2);
    }
  }
  if (index_line.empty())
    return Error{ErrorKind::not_found, fmt::format("table {} has no index {}", table, index)};
  // A foreign key on the index's first column needs it: dropped with it, restored after it.
  std::vector<std::string> foreign_keys, foreign_names;
  for (const auto& raw : lines) {
    const std::string line = trim(raw);
    if (line.rfind("CONSTRAINT `", 0) == 0 &&
        line.find("FOREIGN KEY (`" + first_column + "`") != std::string::npos) {
      foreign_keys.push_back(line);
      foreign_names.push_back(line.substr(12, line.find('`', 12) - 12));
    }
  }
  std::string drop = "ALTER TABLE " + table;
  for (const auto& name : foreign_names) drop += " DROP FOREIGN KEY `" + name + "`,";
  drop += " DROP INDEX `" + index + "`";
  std::string restore = "ALTER TABLE " + table + " ADD " + index_line;
  for (const auto& fk : foreign_keys) restore += ", ADD " + fk;
  Applied a;
  a.target = target;
  a.parameters["index"] = index_line;
  if (!foreign_keys.empty()) a.parameters["foreign_keys"] = foreign_keys;
  a.undo["sql"] = {{"socket", access->socket},
                   {"database", access->database},
                   {"statements", restore},
                   {"unless_present", json{{"table", table}, {"index", index}}}};
  a.apply = [access = *access, drop]() -> Result<void> {
    auto r = run_sql(access.socket, access.database, drop);
    if (!r.ok()) return r.error();
    return {};
  };
  return a;
}

Result<void> kill_matching_queries(const json& spec) {
  const std::string socket = spec.value("socket", ""), database = spec.value("database", "");
  if (!fs::exists(socket)) return {};  // the server is gone, and its sessions with it
  auto ids = run_sql(socket, database,
                     "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE '" +
                         spec.value("pattern", "") + "' AND ID <> CONNECTION_ID()");
  if (!ids.ok()) return ids.error();
  std::string kills;
  std::istringstream lines(*ids);
  for (std::string id; std::getline(lines, id);) {
    if (!id.empty()) kills += "KILL " + id + ";";
  }
  if (kills.empty()) return {};
  auto r = run_sql(socket, database, kills);
  if (!r.ok() && r.error().message.find("Unknown thread") == std::string::npos) return r.error();
  return {};
}

}  // namespace crest::chaos::detail
