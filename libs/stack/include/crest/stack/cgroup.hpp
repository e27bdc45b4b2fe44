#pragma once
// Per-component resource limits with cgroups v1 (cpu, cpuacct, memory), as a cluster gives every
// pod a CPU and memory limit. Groups are created under the groups this process already belongs to
// (read from /proc/self/cgroup), never at a hierarchy's root, and removed when empty. Where they
// cannot be created (not root, no v1 hierarchy) everything runs unlimited and `available()` says
// why.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "crest/core/error.hpp"

namespace crest::stack {

struct CgroupLimits {
  double cpu_cores = 0;           // cfs quota as a share of one core's period; 0: unlimited
  std::int64_t memory_bytes = 0;  // memory.limit_in_bytes; 0: unlimited
};

// What a group has used: the series cAdvisor publishes per container.
struct CgroupUsage {
  double cpu_seconds = 0;     // cpuacct.usage
  std::uint64_t periods = 0;  // cpu.stat nr_periods
  std::uint64_t throttled_periods = 0;
  double throttled_seconds = 0;  // cpu.stat throttled_time
  std::int64_t memory_usage_bytes = 0;
  std::int64_t working_set_bytes = 0;  // usage minus inactive file pages, as cAdvisor computes it
  std::uint64_t oom_kills = 0;         // memory.oom_control oom_kill
};

class CgroupTree {
 public:
  // Finds the v1 hierarchies and this process's place in them, and creates <own group>/<name> in
  // each. On failure the tree is disabled (`reason()` says why) and every call is a no-op.
  static CgroupTree create(const std::string& name,
                           const std::filesystem::path& root = "/sys/fs/cgroup");

  bool available() const { return available_; }
  const std::string& reason() const { return reason_; }
  // The group paths relative to the tree (for example "node-1/catalog-2").
  Result<void> make_group(const std::string& relative, const CgroupLimits& limits);
  Result<void> set_limits(const std::string& relative, const CgroupLimits& limits);
  Result<void> add_process(const std::string& relative, pid_t pid);
  // The group's cgroup.procs files, for ProcessSpec::cgroup_procs; empty when disabled.
  std::vector<std::string> procs_files(const std::string& relative) const;
  std::optional<CgroupUsage> usage(const std::string& relative) const;
  // rmdir, children first; processes still inside keep a group alive (then it stays).
  void remove_group(const std::string& relative);
  void remove_all();

  const std::filesystem::path& cpu_path() const { return cpu_; }
  const std::filesystem::path& memory_path() const { return memory_; }

 private:
  bool available_ = false;
  std::string reason_;
  std::filesystem::path cpu_, cpuacct_, memory_;
};

// "512Mi", "1Gi", "100M", "1048576" -> bytes; "500m", "0.5", "2" -> cores. Kubernetes quantities.
Result<std::int64_t> parse_memory_quantity(const std::string& text);
Result<double> parse_cpu_quantity(const std::string& text);

}  // namespace crest::stack
