#pragma once
// Faults on the processes of a local stack (`crest up`'s run directory): what `crest chaos` and
// `crest demo` start and stop. Every fault is written to <run dir>/chaos/faults.jsonl (fsynced)
// before it is applied, with exactly what undoing it needs (pids with their start times, the
// previous setting, the dropped index's definition), so `stop_all_faults` undoes every fault still
// active from the log alone, even after the process that started it crashed. Faults act from
// outside the services (signals, cgroups, SQL as root, the fault proxy's control socket, the
// stack's `scale.json`): nothing in a service's logs or metrics names a fault.
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "crest/chaos/fault_log.hpp"
#include "crest/core/error.hpp"

namespace crest::chaos {

// One kind of fault, as `crest chaos list` shows it.
struct FaultKind {
  std::string name;            // "cpu-hog"
  std::string default_target;  // what it hits without --target ("catalog", "mariadb-replica1")
  std::string targets;         // what --target may name
  std::string parameters;      // "workers=2"
  std::string description;
};
const std::vector<FaultKind>& fault_kinds();

struct FaultSpec {
  std::string fault;   // a FaultKind name
  std::string target;  // a service ("catalog": its first ready instance), an instance
                       // ("catalog-2") or a component ("redis"); empty: the kind's default
  std::map<std::string, std::string> parameters;  // key=value, checked against the kind
  std::chrono::seconds duration{0};  // recorded in the log; 0: until stopped. Ending it on time
                                     // is the caller's job (stop_fault(..., "expired"))
};

// <run dir>/chaos/faults.jsonl
std::filesystem::path fault_log_path(const std::filesystem::path& run_dir);

// Applies one fault to the stack running in run_dir. An Error names what is wrong (no stack
// there, unknown fault or target, a bad parameter, the part of the stack it needs is off).
Result<FaultRecord> start_fault(const std::filesystem::path& run_dir, const FaultSpec& spec);
// Undoes one active fault and logs its end with `how` ("stopped", "expired").
Result<void> stop_fault(const std::filesystem::path& run_dir, const std::string& id,
                        const std::string& how = "stopped");
// Undoes every fault the log shows active; returns their ids. Nothing active (or no log): empty.
Result<std::vector<std::string>> stop_all_faults(const std::filesystem::path& run_dir);
Result<std::vector<FaultRecord>> active_faults(const std::filesystem::path& run_dir);

// The control socket of the fault proxy `crest up` puts in front of `dependency` ("dynalite"):
// <run dir>/chaos/<dependency>-proxy.sock, or a path under /tmp when that is too long for a Unix
// socket. The stack listens there; the dynamodb-* faults send to it.
std::string proxy_control_socket(const std::filesystem::path& run_dir,
                                 const std::string& dependency);

// "key=value" -> parameters; an Error names the malformed item.
Result<std::map<std::string, std::string>> parse_fault_parameters(
    const std::vector<std::string>& items);

}  // namespace crest::chaos
