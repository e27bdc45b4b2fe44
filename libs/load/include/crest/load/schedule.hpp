#pragma once
// The load models as pure functions of elapsed time, so their schedules are tested exactly with
// no clock at all; the engine asks them "when is arrival i?" and "how many VUs now?".
#include <cstdint>
#include <optional>
#include <vector>

#include "crest/load/plan.hpp"

namespace crest::load {

// Open model: arrival i is due when the integral of the (piecewise linear) rate reaches i.
class ArrivalSchedule {
 public:
  static ArrivalSchedule from(const LoadSpec& spec);
  static ArrivalSchedule constant(double per_second, Duration duration);
  static ArrivalSchedule ramping(double start_per_second,
                                 const std::vector<Stage>& per_second_stages);

  // Offset from the start at which arrival i (0-based) is due; nullopt when past the end.
  std::optional<Duration> time_of(std::uint64_t i) const;
  // Arrivals due in [0, t].
  std::uint64_t count_until(Duration t) const;
  Duration total() const { return total_; }
  double rate_at(Duration t) const;  // per second

 private:
  struct Segment {
    double start_s = 0;
    double length_s = 0;
    double r0 = 0;
    double r1 = 0;
    double cumulative = 0;  // arrivals before this segment
  };
  std::vector<Segment> segments_;
  Duration total_{};
};

// Closed model: how many virtual users should be active at t.
class VuSchedule {
 public:
  static VuSchedule from(const LoadSpec& spec);
  int target_at(Duration t) const;
  Duration total() const { return total_; }

 private:
  int start_ = 0;
  std::vector<Stage> stages_;
  Duration total_{};
  int constant_ = -1;
};

}  // namespace crest::load
