#include "crest/stack/cgroup.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <vector>

namespace crest::stack {
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kPeriodMicros = 100'000;

Result<void> write_value(const fs::path& file, const std::string& value) {
  std::ofstream out(file);
  out << value;
  out.flush();
  if (!out) {
    return Error{ErrorKind::unavailable,
                 fmt::format("cannot write '{}' to {}", value, file.string())};
  }
  return {};
}

std::optional<std::string> read_text(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::map<std::string, std::uint64_t> read_keyed(const fs::path& file) {
  std::map<std::string, std::uint64_t> values;
  std::ifstream in(file);
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value) values[key] = value;
  return values;
}

// controller -> path of this process's group in that hierarchy ("/", "/process_api/abc").
std::map<std::string, std::string> own_groups() {
  std::map<std::string, std::string> groups;
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::stringstream controllers(line.substr(first + 1, second - first - 1));
    std::string controller;
    while (std::getline(controllers, controller, ',')) groups[controller] = line.substr(second + 1);
  }
  return groups;
}

}  // namespace

CgroupTree CgroupTree::create(const std::string& name, const fs::path& root) {
  CgroupTree tree;
  if (::geteuid() != 0) {
    tree.reason_ = "not running as root, so no cgroups can be created";
    return tree;
  }
  const auto groups = own_groups();
  std::error_code ec;
  for (const char* controller : {"cpu", "cpuacct", "memory"}) {
    const auto it = groups.find(controller);
    const fs::path mount = root / controller;
    if (it == groups.end() || !fs::exists(mount / "cgroup.procs", ec)) {
      tree.reason_ = fmt::format("no cgroup v1 '{}' hierarchy at {}", controller, mount.string());
      return tree;
    }
    const fs::path group = mount / fs::path(it->second).relative_path() / name;
    fs::create_directories(group, ec);
    if (ec) {
      tree.reason_ = fmt::format("cannot create {}: {}", group.string(), ec.message());
      return tree;
    }
    (std::string(controller) == "cpu"       ? tree.cpu_
     : std::string(controller) == "cpuacct" ? tree.cpuacct_
                                            : tree.memory_) = group;
  }
  tree.available_ = true;
  return tree;
}

Result<void> CgroupTree::make_group(const std::string& relative, const CgroupLimits& limits) {
  if (!available_) return {};
  std::error_code ec;
  for (const auto& base : {cpu_, cpuacct_, memory_}) {
    fs::create_directories(base / relative, ec);
    if (ec)
      return Error{ErrorKind::unavailable,
                   fmt::format("cannot create {}: {}", (base / relative).string(), ec.message())};
  }
  return set_limits(relative, limits);
}

Result<void> CgroupTree::set_limits(const std::string& relative, const CgroupLimits& limits) {
  if (!available_) return {};
  const fs::path cpu = cpu_ / relative;
  if (auto r = write_value(cpu / "cpu.cfs_period_us", std::to_string(kPeriodMicros)); !r.ok())
    return r;
  const std::int64_t quota =
      limits.cpu_cores > 0
          ? std::max<std::int64_t>(1000, std::llround(limits.cpu_cores * kPeriodMicros))
          : -1;
  if (auto r = write_value(cpu / "cpu.cfs_quota_us", std::to_string(quota)); !r.ok()) return r;
  if (limits.memory_bytes > 0) {
    if (auto r = write_value(memory_ / relative / "memory.limit_in_bytes",
                             std::to_string(limits.memory_bytes));
        !r.ok()) {
      return r;
    }
  }
  return {};
}

Result<void> CgroupTree::add_process(const std::string& relative, pid_t pid) {
  if (!available_) return {};
  for (const auto& base : {cpu_, cpuacct_, memory_}) {
    if (auto r = write_value(base / relative / "cgroup.procs", std::to_string(pid)); !r.ok())
      return r;
  }
  return {};
}

std::vector<std::string> CgroupTree::procs_files(const std::string& relative) const {
  if (!available_) return {};
  return {(cpu_ / relative / "cgroup.procs").string(),
          (cpuacct_ / relative / "cgroup.procs").string(),
          (memory_ / relative / "cgroup.procs").string()};
}

std::optional<CgroupUsage> CgroupTree::usage(const std::string& relative) const {
  if (!available_) return std::nullopt;
  CgroupUsage usage;
  const auto cpuacct = read_text(cpuacct_ / relative / "cpuacct.usage");
  if (!cpuacct) return std::nullopt;
  usage.cpu_seconds = std::strtod(cpuacct->c_str(), nullptr) / 1e9;
  const auto stat = read_keyed(cpu_ / relative / "cpu.stat");
  auto get = [](const std::map<std::string, std::uint64_t>& m, const char* key) {
    const auto it = m.find(key);
    return it == m.end() ? std::uint64_t{0} : it->second;
  };
  usage.periods = get(stat, "nr_periods");
  usage.throttled_periods = get(stat, "nr_throttled");
  usage.throttled_seconds = static_cast<double>(get(stat, "throttled_time")) / 1e9;
  if (const auto mem = read_text(memory_ / relative / "memory.usage_in_bytes")) {
    usage.memory_usage_bytes = std::strtoll(mem->c_str(), nullptr, 10);
  }
  const auto memory_stat = read_keyed(memory_ / relative / "memory.stat");
  const auto inactive = static_cast<std::int64_t>(get(memory_stat, "total_inactive_file"));
  usage.working_set_bytes = std::max<std::int64_t>(0, usage.memory_usage_bytes - inactive);
  usage.oom_kills = get(read_keyed(memory_ / relative / "memory.oom_control"), "oom_kill");
  return usage;
}

void CgroupTree::remove_group(const std::string& relative) {
  if (!available_) return;
  for (const auto& base : {cpu_, cpuacct_, memory_}) {
    std::error_code ec;
    const fs::path group = base / relative;
    if (!fs::exists(group, ec)) continue;
    // Children first: rmdir only works on empty groups.
    std::vector<fs::path> dirs;
    for (auto it = fs::recursive_directory_iterator(group, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) dirs.push_back(it->path());
    }
    for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) ::rmdir(d->c_str());
    ::rmdir(group.c_str());
  }
}

void CgroupTree::remove_all() {
  if (!available_) return;
  for (const auto& base : {cpu_, cpuacct_, memory_}) {
    std::error_code ec;
    std::vector<fs::path> dirs;
    for (auto it = fs::recursive_directory_iterator(base, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) dirs.push_back(it->path());
    }
    for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) ::rmdir(d->c_str());
    ::rmdir(base.c_str());
  }
}

Result<std::int64_t> parse_memory_quantity(const std::string& text) {
  static const std::vector<std::pair<std::string, std::int64_t>> kSuffixes = {
      {"Ki", 1LL << 10}, {"Mi", 1LL << 20}, {"Gi", 1LL << 30},   {"k", 1000},
      {"K", 1000},       {"M", 1'000'000},  {"G", 1'000'000'000}};
  std::int64_t multiplier = 1;
  std::string number = text;
  for (const auto& [suffix, factor] : kSuffixes) {
    if (text.size() > suffix.size() && text.ends_with(suffix)) {
      multiplier = factor;
      number = text.substr(0, text.size() - suffix.size());
      break;
    }
  }
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || value < 0) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("'{}' is not a memory quantity (like 512Mi or 1Gi)", text)};
  }
  return static_cast<std::int64_t>(value * static_cast<double>(multiplier));
}

Result<double> parse_cpu_quantity(const std::string& text) {
  std::string number = text;
  double divisor = 1;
  if (text.size() > 1 && text.back() == 'm') {
    number = text.substr(0, text.size() - 1);
    divisor = 1000;
  }
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (number.empty() || end != number.c_str() + number.size() || value < 0) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("'{}' is not a CPU quantity (like 500m or 0.5)", text)};
  }
  return value / divisor;
}

}  // namespace crest::stack
