// How many CPUs the process may use: its affinity mask, capped by its cgroup's CPU quota (v2
// cpu.max or v1 cfs quota), so a server sizes its event loops to a container's limit.
#include <sched.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "crest/core/text.hpp"
#include "crest/http/server.hpp"

namespace crest::http {
namespace {

std::optional<double> cgroup_v1_quota(const std::string& directory) {
  std::ifstream quota_file(directory + "/cpu.cfs_quota_us");
  std::ifstream period_file(directory + "/cpu.cfs_period_us");
  double quota = 0;
  double period = 0;
  if (!(quota_file >> quota) || !(period_file >> period) || quota <= 0 || period <= 0) {
    return std::nullopt;
  }
  return quota / period;
}

// The process's CPU quota from its cgroup (v2 unified or v1 cpu hierarchy), if one is set.
std::optional<double> cgroup_cpu_quota() {
  std::ifstream membership("/proc/self/cgroup");
  std::string line;
  while (std::getline(membership, line)) {
    // "0::/path" (v2) or "4:cpu,cpuacct:/path" (v1)
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (controllers.empty()) {
      for (const std::string& root : {"/sys/fs/cgroup" + path, std::string("/sys/fs/cgroup")}) {
        std::ifstream max(root + "/cpu.max");
        std::stringstream text;
        text << max.rdbuf();
        if (max) return parse_cgroup_v2_cpu_max(text.str());
      }
    } else if (("," + controllers + ",").find(",cpu,") != std::string::npos) {
      if (auto quota = cgroup_v1_quota("/sys/fs/cgroup/cpu" + path)) return quota;
      if (auto quota = cgroup_v1_quota("/sys/fs/cgroup/cpu,cpuacct" + path)) return quota;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<double> parse_cgroup_v2_cpu_max(std::string_view text) {
  const auto space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto quota_text = text.substr(0, space);
  auto period_text = text::trim(text.substr(space + 1));
  while (!period_text.empty() && (period_text.back() == '\n')) period_text.remove_suffix(1);
  double quota = 0;
  double period = 0;
  if (std::from_chars(quota_text.data(), quota_text.data() + quota_text.size(), quota).ec !=
          std::errc() ||
      std::from_chars(period_text.data(), period_text.data() + period_text.size(), period).ec !=
          std::errc() ||
      quota <= 0 || period <= 0) {
    return std::nullopt;  // "max": no limit
  }
  return quota / period;
}

int available_cpus() {
  int cpus = static_cast<int>(std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  if (const auto quota = cgroup_cpu_quota()) {
    cpus = std::min(cpus, static_cast<int>(std::ceil(*quota)));
  }
  return std::max(1, cpus);
}

}  // namespace crest::http
