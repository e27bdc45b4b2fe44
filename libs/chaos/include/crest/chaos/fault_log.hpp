#pragma once
// The fault event log and the registry of reversible faults.
//
// Every fault is written to the log (JSON lines, fsynced) *before* it is applied, with what is
// needed to undo it, and an end line once undone:
//   {"ts":"2026-11-30T09:00:00.000Z","event":"start","id":"f-1796029200000-1",
//    "fault":"dynamodb-throttle","target":"cart->dynalite","parameters":{"probability":0.5},
//    "undo":{"control_socket":"/run/crest/proxy-dynalite.sock"}}
//   {"ts":"2026-11-30T09:01:00.000Z","event":"end","id":"f-1796029200000-1",
//    "fault":"dynamodb-throttle","target":"cart->dynalite","how":"stopped"}
// So a fault with a start line and no end line is active, even if the process that applied it
// crashed, and stop_all() can undo it from the log alone with the handler registered for its
// kind. The log is for scoring a diagnosis afterwards; it is never an input to one.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"

namespace crest::chaos {

struct FaultRecord {
  std::string id;
  std::string fault;   // the kind: "dynamodb-throttle", "cpu-hog", "replica-lag", ...
  std::string target;  // what it was applied to: "catalog-2", "cart->dynalite", ...
  nlohmann::json parameters = nlohmann::json::object();
  nlohmann::json undo = nlohmann::json::object();  // what the undo handler needs
  Clock::WallTime start{};
  std::optional<Clock::WallTime> end;
  std::string how;  // for ended faults: "stopped", "expired", "recovered", "failed"
};

// Every record of a log, in start order, with end filled in for ended faults. An Error names
// the file and line of a malformed line; a torn last line (a crash mid-write) is ignored.
Result<std::vector<FaultRecord>> read_fault_log(const std::string& path);

using UndoHandler = std::function<Result<void>(const FaultRecord&)>;

class ReversibleFaultRegistry {
 public:
  ReversibleFaultRegistry(std::string log_path, const Clock& clock);

  // How to undo faults of this kind (from the record alone, so it works after a crash).
  void register_fault(const std::string& fault, UndoHandler undo);

  // Logs the start, then applies. If apply fails, the fault is undone and logged as "failed".
  Result<FaultRecord> start(const std::string& fault, const std::string& target,
                            nlohmann::json parameters, nlohmann::json undo,
                            const std::function<Result<void>()>& apply);
  // Undoes one active fault and logs its end ("stopped" by default, "expired" after --for).
  Result<void> stop(const std::string& id, const std::string& how = "stopped");
  // Undoes every fault the log shows active (this process's or a crashed one's). Returns the
  // ids undone; an Error lists the ones that could not be (they stay active in the log).
  Result<std::vector<std::string>> stop_all();
  Result<std::vector<FaultRecord>> active() const;

 private:
  Result<void> append(const nlohmann::json& line) const;

  std::string log_path_;
  const Clock& clock_;
  std::map<std::string, UndoHandler> handlers_;
  int sequence_ = 0;
};

// The undo handler of faults injected through a FaultProxy: "clear" on record.undo's
// "control_socket".
UndoHandler clear_proxy_fault();

}  // namespace crest::chaos
