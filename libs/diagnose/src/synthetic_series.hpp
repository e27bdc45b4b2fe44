#pragma once
// Test helper: synthetic series with a known answer (noise around a level, then a change).
#include <random>
#include <string>

#include "crest/diagnose/series.hpp"

namespace crest::diagnose::testing {

struct Shape {
  double level = 1;
  double noise = 0.05;  // stddev, relative to the level (absolute when level is 0)
  double after = 1;     // the level from `change_at` on
  double change_at = 1e18;
};

inline Series synthetic(const std::string& name, Labels labels, const Shape& shape,
                        double t0 = 1000, int samples = 300, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 1);
  Series s{name, std::move(labels), {}, {}, "synthetic"};
  for (int i = 0; i < samples; ++i) {
    const double t = t0 + i;
    const double level = t >= shape.change_at ? shape.after : shape.level;
    const double spread = shape.level == 0 ? shape.noise : shape.noise * shape.level;
    s.t.push_back(t);
    s.v.push_back(std::max(0.0, level + spread * noise(rng)));
  }
  return s;
}

// A counter whose per-second rate follows `shape`.
inline Series synthetic_counter(const std::string& name, Labels labels, const Shape& shape,
                                double t0 = 1000, int samples = 300, unsigned seed = 1) {
  auto s = synthetic(name, std::move(labels), shape, t0, samples, seed);
  double total = 0;
  for (auto& v : s.v) {
    total += v;
    v = total;
  }
  return s;
}

}  // namespace crest::diagnose::testing
