#pragma once
// An injectable clock: code whose behaviour depends on time (TTLs, visibility timeouts, backoff,
// autoscaler windows) takes a Clock&, so tests advance a ManualClock instead of sleeping.
#include <atomic>
#include <chrono>

namespace crest {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using SteadyTime = std::chrono::steady_clock::time_point;
  using WallTime = std::chrono::system_clock::time_point;

  virtual ~Clock() = default;
  virtual SteadyTime now() const = 0;     // for intervals and deadlines
  virtual WallTime wall_now() const = 0;  // for timestamps shown to people

  static Clock& system();  // the real clock, shared
};

class SystemClock final : public Clock {
 public:
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
  WallTime wall_now() const override { return std::chrono::system_clock::now(); }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  SteadyTime now() const override { return SteadyTime(Duration(ticks_.load())); }
  WallTime wall_now() const override {
    return WallTime(std::chrono::duration_cast<WallTime::duration>(Duration(ticks_.load())));
  }
  void advance(Duration d) { ticks_ += d.count(); }

 private:
  std::atomic<Duration::rep> ticks_{Duration(std::chrono::hours(1000)).count()};
};

}  // namespace crest
