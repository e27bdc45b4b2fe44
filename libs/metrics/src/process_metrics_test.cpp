#include "crest/metrics/process_metrics.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <thread>
#include <vector>

namespace crest::metrics {
namespace {

using ::testing::HasSubstr;

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TEST(ProcessMetricsTest, StatsArePlausible) {
  // Burn a little CPU so the counter has moved off zero even at 100 ticks per second.
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(30);
  volatile double sink = 0;
  while (std::chrono::steady_clock::now() < until) {
    sink = sink + 1;
  }
  const auto stats = read_process_stats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_GT(stats->cpu_seconds, 0);
  EXPECT_LT(stats->cpu_seconds, 3600);
  EXPECT_GT(stats->resident_bytes, 1 << 20);  // a gtest binary is more than 1 MiB resident
  EXPECT_LT(stats->resident_bytes, 4.0 * (1ULL << 30));
  EXPECT_GE(stats->virtual_bytes, stats->resident_bytes);
  EXPECT_GE(stats->threads, 1);
  EXPECT_LE(stats->start_time_seconds, now_seconds() + 1);
  EXPECT_GT(stats->start_time_seconds, now_seconds() - 3600);
}

TEST(ProcessMetricsTest, ThreadsAndFdsFollowTheProcess) {
  const auto threads_before = read_process_stats()->threads;
  const auto fds_before = count_open_fds();
  ASSERT_TRUE(fds_before.has_value());
  EXPECT_GE(*fds_before, 3);  // stdin, stdout, stderr

  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(*count_open_fds(), *fds_before + 1);
  ::close(fd);
  EXPECT_EQ(*count_open_fds(), *fds_before);

  std::atomic<bool> release{false};
  std::thread worker([&] {
    while (!release) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  EXPECT_EQ(read_process_stats()->threads, threads_before + 1);
  release = true;
  worker.join();
}

TEST(ProcessMetricsTest, RegistersEveryProcessMetricWithItsType) {
  Registry registry;
  register_process_metrics(registry);
  const std::string text = registry.render();
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  for (const char* gauge :
       {"process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds",
        "process_max_fds", "process_start_time_seconds", "process_threads"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + gauge + " gauge\n"));
    // Each has exactly one positive sample.
    const std::regex sample(std::string("\n") + gauge + " ([0-9.e+]+)\n");
    std::smatch match;
    ASSERT_TRUE(std::regex_search(text, match, sample)) << gauge << " in\n" << text;
    EXPECT_GT(std::stod(match[1]), 0) << gauge;
  }
  // Registering twice is a programming error, reported like any duplicate callback.
  EXPECT_THROW(register_process_metrics(registry), std::invalid_argument);
}

}  // namespace
}  // namespace crest::metrics
