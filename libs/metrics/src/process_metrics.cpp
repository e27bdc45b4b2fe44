#include "crest/metrics/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace crest::metrics {
namespace {

// Reads a small /proc file whole. /proc files report size 0, so read until EOF.
std::optional<std::string> read_file(const char* path) {
  std::FILE* file = std::fopen(path, "re");
  if (file == nullptr) {
    return std::nullopt;
  }
  std::string out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, file)) > 0) {
    out.append(buf, n);
  }
  std::fclose(file);
  return out;
}

std::vector<std::string_view> split_spaces(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = text.find_first_not_of(" \n", pos);
    if (start == std::string_view::npos) {
      break;
    }
    const std::size_t end = std::min(text.find_first_of(" \n", start), text.size());
    out.push_back(text.substr(start, end - start));
    pos = end;
  }
  return out;
}

std::optional<double> parse_number(std::string_view text) {
  unsigned long long value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return static_cast<double>(value);
}

// Seconds since the epoch at which the machine booted ("btime" in /proc/stat).
std::optional<double> boot_time_seconds() {
  const auto stat = read_file("/proc/stat");
  if (!stat) {
    return std::nullopt;
  }
  const std::size_t pos = stat->find("\nbtime ");
  if (pos == std::string::npos) {
    return std::nullopt;
  }
  const std::size_t start = pos + 7;
  const std::size_t end = stat->find('\n', start);
  return parse_number(std::string_view(*stat).substr(start, end - start));
}

}  // namespace

std::optional<ProcessStats> read_process_stats() {
  const auto stat = read_file("/proc/self/stat");
  const auto statm = read_file("/proc/self/statm");
  if (!stat || !statm) {
    return std::nullopt;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses, so
  // count fields from the last ')'. fields[0] is then field 3 (state) of proc(5).
  const std::size_t close = stat->rfind(')');
  if (close == std::string::npos) {
    return std::nullopt;
  }
  const auto fields = split_spaces(std::string_view(*stat).substr(close + 1));
  const auto memory = split_spaces(*statm);
  if (fields.size() < 20 || memory.size() < 2) {
    return std::nullopt;
  }
  const auto utime = parse_number(fields[14 - 3]);
  const auto stime = parse_number(fields[15 - 3]);
  const auto threads = parse_number(fields[20 - 3]);
  const auto start_ticks = parse_number(fields[22 - 3]);
  const auto virtual_pages = parse_number(memory[0]);
  const auto resident_pages = parse_number(memory[1]);
  const auto boot = boot_time_seconds();
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  const long page_size = sysconf(_SC_PAGESIZE);
  if (!utime || !stime || !threads || !start_ticks || !virtual_pages || !resident_pages || !boot ||
      ticks_per_second <= 0 || page_size <= 0) {
    return std::nullopt;
  }
  const auto ticks = static_cast<double>(ticks_per_second);
  const auto page = static_cast<double>(page_size);
  ProcessStats out;
  out.cpu_seconds = (*utime + *stime) / ticks;
  out.resident_bytes = *resident_pages * page;
  out.virtual_bytes = *virtual_pages * page;
  out.threads = *threads;
  out.start_time_seconds = *boot + *start_ticks / ticks;
  return out;
}

std::optional<double> count_open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) {
    return std::nullopt;
  }
  double count = 0;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') {
      ++count;
    }
  }
  closedir(dir);
  // The directory stream's own descriptor is listed too; it is ours, not the process's.
  return count - 1;
}

void register_process_metrics(Registry& registry) {
  const auto initial = read_process_stats();
  if (!initial) {
    return;
  }
  // Fixed for the life of the process: read once rather than at every scrape.
  const double start_time = initial->start_time_seconds;

  registry.callback_counter("process_cpu_seconds_total",
                            "Total user and system CPU time spent in seconds.",
                            []() -> std::optional<double> {
                              const auto s = read_process_stats();
                              return s ? std::optional(s->cpu_seconds) : std::nullopt;
                            });
  registry.callback_gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                          []() -> std::optional<double> {
                            const auto s = read_process_stats();
                            return s ? std::optional(s->resident_bytes) : std::nullopt;
                          });
  registry.callback_gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                          []() -> std::optional<double> {
                            const auto s = read_process_stats();
                            return s ? std::optional(s->virtual_bytes) : std::nullopt;
                          });
  registry.callback_gauge("process_threads", "Number of OS threads in the process.",
                          []() -> std::optional<double> {
                            const auto s = read_process_stats();
                            return s ? std::optional(s->threads) : std::nullopt;
                          });
  registry.callback_gauge("process_start_time_seconds",
                          "Start time of the process since unix epoch in seconds.",
                          [start_time]() -> std::optional<double> { return start_time; });
  registry.callback_gauge("process_open_fds", "Number of open file descriptors.",
                          [] { return count_open_fds(); });
  registry.callback_gauge(
      "process_max_fds", "Maximum number of open file descriptors.", []() -> std::optional<double> {
        rlimit limit{};
        if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
          return std::nullopt;
        }
        return static_cast<double>(limit.rlim_cur);
      });
}

}  // namespace crest::metrics
