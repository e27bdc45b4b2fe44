#include "crest/chaos/fault_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "crest/autoscale/event_log.hpp"
#include "crest/autoscale/response_time.hpp"
#include "crest/chaos/fault_proxy.hpp"

namespace crest::chaos {

using autoscale::format_rfc3339_ms;
using autoscale::parse_rfc3339;

Result<std::vector<FaultRecord>> read_fault_log(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) {
      return std::vector<FaultRecord>{};  // no fault was ever started
    }
    return Error{ErrorKind::unavailable,
                 "cannot read fault log '" + path + "': " + std::strerror(errno)};
  }
  std::vector<FaultRecord> records;
  std::map<std::string, std::size_t> by_id;
  std::string line;
  int number = 0;
  bool torn = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) {
      continue;
    }
    if (torn) {
      return Error{ErrorKind::invalid_argument,
                   path + ":" + std::to_string(number - 1) + ": not a JSON object"};
    }
    const auto j = nlohmann::json::parse(line, nullptr, false);
    const std::string where = path + ":" + std::to_string(number) + ": ";
    if (j.is_discarded() || !j.is_object()) {
      torn = in.peek() == EOF;  // only the last line may be cut short by a crash
      if (!torn) {
        return Error{ErrorKind::invalid_argument, where + "not a JSON object"};
      }
      continue;
    }
    const auto ts = parse_rfc3339(j.value("ts", ""));
    const std::string event = j.value("event", "");
    const std::string id = j.value("id", "");
    if (!ts || id.empty() || (event != "start" && event != "end")) {
      return Error{ErrorKind::invalid_argument,
                   where + "needs ts (RFC 3339 UTC), id and event (start or end)"};
    }
    if (event == "start") {
      FaultRecord r;
      r.id = id;
      r.fault = j.value("fault", "");
      r.target = j.value("target", "");
      r.parameters = j.value("parameters", nlohmann::json::object());
      r.undo = j.value("undo", nlohmann::json::object());
      r.start = *ts;
      by_id[id] = records.size();
      records.push_back(std::move(r));
    } else {
      auto it = by_id.find(id);
      if (it == by_id.end()) {
        return Error{ErrorKind::invalid_argument,
                     where + "end of fault '" + id + "', which never started"};
      }
      records[it->second].end = *ts;
      records[it->second].how = j.value("how", "stopped");
    }
  }
  return records;
}

ReversibleFaultRegistry::ReversibleFaultRegistry(std::string log_path, const Clock& clock)
    : log_path_(std::move(log_path)), clock_(clock) {}

void ReversibleFaultRegistry::register_fault(const std::string& fault, UndoHandler undo) {
  handlers_[fault] = std::move(undo);
}

Result<void> ReversibleFaultRegistry::append(const nlohmann::json& line) const {
  const int fd = ::open(log_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Error{ErrorKind::unavailable,
                 "cannot open fault log '" + log_path_ + "': " + std::strerror(errno)};
  }
  const std::string text = line.dump() + "\n";
  const ssize_t written = ::write(fd, text.data(), text.size());
  const int synced = ::fsync(fd);
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size()) || synced != 0) {
    return Error{ErrorKind::unavailable, "cannot write fault log '" + log_path_ + "'"};
  }
  return {};
}

Result<FaultRecord> ReversibleFaultRegistry::start(const std::string& fault,
                                                   const std::string& target,
                                                   nlohmann::json parameters, nlohmann::json undo,
                                                   const std::function<Result<void>()>& apply) {
  if (handlers_.count(fault) == 0) {
    return Error{ErrorKind::invalid_argument,
                 "fault '" + fault + "' has no undo handler, so it cannot be started"};
  }
  FaultRecord record;
  record.start = clock_.wall_now();
  record.id = "f-" +
              std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 record.start.time_since_epoch())
                                 .count()) +
              "-" + std::to_string(::getpid()) + "-" + std::to_string(++sequence_);
  record.fault = fault;
  record.target = target;
  record.parameters = std::move(parameters);
  record.undo = std::move(undo);
  auto logged = append({{"ts", format_rfc3339_ms(record.start)},
                        {"event", "start"},
                        {"id", record.id},
                        {"fault", record.fault},
                        {"target", record.target},
                        {"parameters", record.parameters},
                        {"undo", record.undo}});
  if (!logged) {
    return logged.error();
  }
  auto applied = apply();
  if (!applied) {
    // Whatever part of it took effect is undone; the log says it failed.
    (void)handlers_[fault](record);
    (void)append({{"ts", format_rfc3339_ms(clock_.wall_now())},
                  {"event", "end"},
                  {"id", record.id},
                  {"fault", record.fault},
                  {"target", record.target},
                  {"how", "failed"}});
    return Error{applied.error().kind,
                 "fault " + fault + " on " + target + " failed: " + applied.error().message};
  }
  return record;
}

Result<std::vector<FaultRecord>> ReversibleFaultRegistry::active() const {
  auto records = read_fault_log(log_path_);
  if (!records) {
    return records.error();
  }
  std::vector<FaultRecord> out;
  for (auto& r : *records) {
    if (!r.end) {
      out.push_back(std::move(r));
    }
  }
  return out;
}

Result<void> ReversibleFaultRegistry::stop(const std::string& id, const std::string& how) {
  auto faults = active();
  if (!faults) {
    return faults.error();
  }
  for (const auto& record : *faults) {
    if (record.id != id) {
      continue;
    }
    auto handler = handlers_.find(record.fault);
    if (handler == handlers_.end()) {
      return Error{ErrorKind::invalid_argument,
                   "no undo handler for fault '" + record.fault + "' (" + id + ")"};
    }
    auto undone = handler->second(record);
    if (!undone) {
      return Error{undone.error().kind, "cannot undo " + record.fault + " on " + record.target +
                                            ": " + undone.error().message};
    }
    return append({{"ts", format_rfc3339_ms(clock_.wall_now())},
                   {"event", "end"},
                   {"id", record.id},
                   {"fault", record.fault},
                   {"target", record.target},
                   {"how", how}});
  }
  return Error{ErrorKind::not_found, "no active fault '" + id + "' in " + log_path_};
}

Result<std::vector<std::string>> ReversibleFaultRegistry::stop_all() {
  auto faults = active();
  if (!faults) {
    return faults.error();
  }
  std::vector<std::string> undone;
  std::string failures;
  // Newest first: a later fault may depend on an earlier one (an index restored under a table
  // lock waits for the lock's release).
  for (auto it = faults->rbegin(); it != faults->rend(); ++it) {
    const auto& record = *it;
    auto stopped = stop(record.id, "stopped");
    if (stopped) {
      undone.push_back(record.id);
    } else {
      failures += (failures.empty() ? "" : "; ") + stopped.error().message;
    }
  }
  if (!failures.empty()) {
    return Error{ErrorKind::unavailable, failures};
  }
  return undone;
}

UndoHandler clear_proxy_fault() {
  return [](const FaultRecord& record) -> Result<void> {
    const std::string socket = record.undo.value("control_socket", "");
    if (socket.empty()) {
      return Error{ErrorKind::invalid_argument, "the record names no control_socket"};
    }
    auto answer = send_control_command(socket, "clear");
    if (!answer) {
      return answer.error();
    }
    return {};
  };
}

}  // namespace crest::chaos
