#include "crest/load/schedule.hpp"

#include <algorithm>
#include <cmath>

namespace crest::load {
namespace {
double seconds(Duration d) {
  return static_cast<double>(d.count()) / 1e9;
}
Duration from_seconds(double s) {
  return Duration(static_cast<std::int64_t>(std::llround(s * 1e9)));
}
}  // namespace

ArrivalSchedule ArrivalSchedule::from(const LoadSpec& spec) {
  const double unit = seconds(spec.time_unit);
  if (spec.executor == Executor::ramping_arrival_rate) {
    std::vector<Stage> stages = spec.stages;
    for (auto& s : stages) {
      s.target /= unit;
    }
    return ramping(spec.start_rate / unit, stages);
  }
  return constant(spec.rate / unit, spec.duration);
}

ArrivalSchedule ArrivalSchedule::constant(double per_second, Duration duration) {
  return ramping(per_second, {Stage{duration, per_second}});
}

ArrivalSchedule ArrivalSchedule::ramping(double start_per_second,
                                         const std::vector<Stage>& stages) {
  ArrivalSchedule s;
  double t = 0;
  double cumulative = 0;
  double rate = start_per_second;
  for (const auto& stage : stages) {
    Segment seg{t, seconds(stage.duration), rate, stage.target, cumulative};
    cumulative += (seg.r0 + seg.r1) / 2 * seg.length_s;
    t += seg.length_s;
    rate = stage.target;
    s.segments_.push_back(seg);
    s.total_ += stage.duration;
  }
  return s;
}

std::optional<Duration> ArrivalSchedule::time_of(std::uint64_t i) const {
  const auto n = static_cast<double>(i);
  for (const auto& seg : segments_) {
    const double in_segment = (seg.r0 + seg.r1) / 2 * seg.length_s;
    if (n < seg.cumulative + in_segment - 1e-9 || (n == 0 && in_segment > 0)) {
      const double x = n - seg.cumulative;
      if (x <= 0) {
        return from_seconds(seg.start_s);
      }
      // Solve r0*t + (r1-r0)/(2L)*t^2 = x in the stable form t = 2x / (r0 + sqrt(r0^2 + 4ax)).
      const double a = (seg.r1 - seg.r0) / (2 * seg.length_s);
      const double disc = std::max(0.0, seg.r0 * seg.r0 + 4 * a * x);
      const double denom = seg.r0 + std::sqrt(disc);
      if (denom <= 0) {
        continue;
      }
      return from_seconds(seg.start_s + std::min(seg.length_s, 2 * x / denom));
    }
  }
  return std::nullopt;
}

std::uint64_t ArrivalSchedule::count_until(Duration t) const {
  const double ts = seconds(t);
  double area = 0;
  double total_area = 0;
  bool started = false;
  for (const auto& seg : segments_) {
    const double in_segment = (seg.r0 + seg.r1) / 2 * seg.length_s;
    total_area += in_segment;
    const double dt = std::clamp(ts - seg.start_s, 0.0, seg.length_s);
    if (ts >= seg.start_s && in_segment > 0) {
      started = true;
    }
    if (ts >= seg.start_s) {
      area = seg.cumulative + seg.r0 * dt + (seg.r1 - seg.r0) / (2 * seg.length_s) * dt * dt;
    }
  }
  if (!started) {
    return 0;
  }
  const auto all = static_cast<std::uint64_t>(std::ceil(total_area - 1e-9));
  return std::min(all, static_cast<std::uint64_t>(std::floor(area + 1e-9)) + 1);
}

double ArrivalSchedule::rate_at(Duration t) const {
  const double ts = seconds(t);
  for (const auto& seg : segments_) {
    if (ts < seg.start_s + seg.length_s) {
      return seg.r0 + (seg.r1 - seg.r0) * (ts - seg.start_s) / seg.length_s;
    }
  }
  return 0;
}

VuSchedule VuSchedule::from(const LoadSpec& spec) {
  VuSchedule s;
  if (spec.executor == Executor::ramping_vus) {
    s.start_ = spec.start_vus;
    s.stages_ = spec.stages;
  } else {
    s.constant_ = spec.is_open_model() ? spec.max_vus : spec.peak_vus();
  }
  s.total_ = spec.total_duration();
  return s;
}

int VuSchedule::target_at(Duration t) const {
  if (constant_ >= 0) {
    return t < total_ ? constant_ : 0;
  }
  double from = start_;
  Duration begin{};
  for (const auto& stage : stages_) {
    if (t < begin + stage.duration) {
      const double f = seconds(t - begin) / seconds(stage.duration);
      return static_cast<int>(std::lround(from + (stage.target - from) * f));
    }
    begin += stage.duration;
    from = stage.target;
  }
  return 0;
}

}  // namespace crest::load
