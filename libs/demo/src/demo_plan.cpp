#include "crest/demo/demo_plan.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "crest/load/plan.hpp"

namespace crest::demo {
namespace fs = std::filesystem;

const char* to_string(DemoMode mode) {
  switch (mode) {
    case DemoMode::test:
      return "test";
    case DemoMode::quick:
      return "quick";
    case DemoMode::full:
      return "full";
  }
  return "?";
}

namespace {

// What changes between the variants: durations, and how many breaking-point steps.
struct Variant {
  DemoMode mode;
  double time_factor, step_seconds;
  int max_steps, refine_steps;
  double growth, quiet_seconds, fault_seconds, recovery_seconds;
};
// A quiet spell of at least kDiagnosisNormalSamples seconds (1 s samples) before each fault, and
// at least a third of the fault and its recovery, so that it is the window's first quarter.
constexpr Variant kVariants[] = {
    // The test suite's: every phase crossed, three steps, short faults.
    {DemoMode::test, 0.3, 5, 3, 0, 2.5, 10, 5, 3},
    {DemoMode::quick, 0.7, 8, 5, 1, 1.6, 12, 7, 4},
    {DemoMode::full, 2.5, 20, 9, 2, 1.5, 15, 15, 10},
};

}  // namespace

DemoSettings settings_for(DemoMode mode, int cores) {
  DemoSettings s;
  s.mode = mode;
  s.cores = std::max(1, cores);
  // The profiles' CPU limits were sized on a 2-core machine: rates follow the cores there are.
  s.rate_factor = std::clamp(s.cores / 2.0, 0.5, 4.0);
  // Where the search starts when the peak did not calibrate it (calibrated_start_rate).
  s.search.start_rate = 4 * s.rate_factor;
  // The search's ceiling: far above the scaled profile's breaking point here, so that a "held up
  // to the highest rate tried" is rare and then says so (the verdict never compares a bound).
  s.search.max_rate = 400 * s.rate_factor;
  s.faults = {"replica-stop", "redis-stop",        "instance-kill",
              "worker-kill",  "dynamodb-throttle", "queue-outage"};
  for (const auto& v : kVariants) {
    if (v.mode != mode) continue;
    s.time_factor = v.time_factor;
    s.step_seconds = v.step_seconds;
    s.search.max_steps = v.max_steps;
    s.search.refine_steps = v.refine_steps;
    s.search.growth = v.growth;
    s.quiet_seconds = v.quiet_seconds;
    s.fault_seconds = v.fault_seconds;
    s.recovery_seconds = v.recovery_seconds;
  }
  return s;
}

FaultTimeline fault_timeline(const DemoSettings& settings, std::size_t fault_count, double lead_s) {
  FaultTimeline timeline;
  double t = lead_s;
  for (std::size_t i = 0; i < fault_count; ++i) {
    FaultSlot slot;
    slot.quiet_from_s = t;
    slot.from_s = t + settings.quiet_seconds;
    slot.to_s = slot.from_s + settings.fault_seconds;
    slot.recovered_s = slot.to_s + settings.recovery_seconds;
    t = slot.recovered_s;
    timeline.slots.push_back(slot);
  }
  timeline.duration_s = t + 5;  // the last recovery is measured whole, even a little late
  return timeline;
}

namespace {

Error bad_plan(const std::string& path, const std::string& why) {
  return Error{ErrorKind::invalid_argument, path + ": " + why};
}

// Relative data files become absolute, since the derived plan is written elsewhere.
void absolute_data_files(YAML::Node plan, const std::string& plan_path) {
  if (!plan["data"] || !plan["data"].IsMap()) return;
  const auto dir = fs::absolute(plan_path).parent_path();
  for (auto feed : plan["data"]) {
    if (feed.second.IsMap() && feed.second["file"]) {
      const fs::path file = feed.second["file"].as<std::string>();
      if (file.is_relative()) feed.second["file"] = (dir / file).lexically_normal().string();
    }
  }
}

std::string emit(const YAML::Node& plan, const std::string& header) {
  YAML::Emitter out;
  out << plan;
  return header + out.c_str() + "\n";
}

Result<YAML::Node> load_yaml(const std::string& path) {
  try {
    return YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return bad_plan(path, e.what());
  }
}

std::string seconds_text(double seconds) {
  return fmt::format("{}ms", std::max<long>(1, std::lround(seconds * 1000)));
}

}  // namespace

Result<ScaledPlan> scale_peak_plan(const std::string& plan_path, double rate_factor,
                                   double time_factor) {
  auto loaded = load_yaml(plan_path);
  if (!loaded.ok()) return loaded.error();
  YAML::Node plan = *loaded;
  YAML::Node load = plan["load"];
  if (!load || !load.IsMap() || !load["executor"] ||
      load["executor"].as<std::string>() != "ramping-arrival-rate" || !load["stages"] ||
      !load["stages"].IsSequence() || load["stages"].size() < 3) {
    return bad_plan(plan_path,
                    "'load' must be a ramping-arrival-rate with stages (sustained, spike, "
                    "recovery)");
  }
  ScaledPlan scaled;
  try {
    const double start_rate = load["start_rate"] ? load["start_rate"].as<double>() : 0;
    load["start_rate"] = std::max(1L, std::lround(start_rate * rate_factor));
    struct Stage {
      double from_s, to_s, from_rate, to_rate;
    };
    std::vector<Stage> stages;
    double t = 0, previous = start_rate * rate_factor;
    for (auto stage : load["stages"]) {
      auto duration = load::parse_duration(stage["duration"].as<std::string>());
      if (!duration.ok()) return bad_plan(plan_path, "stage duration: " + duration.error().message);
      const double seconds = std::chrono::duration<double>(*duration).count() * time_factor;
      const double target = std::max(0.0, std::round(stage["target"].as<double>() * rate_factor));
      stage["duration"] = seconds_text(seconds);
      stage["target"] = target;
      stages.push_back({t, t + seconds, previous, target});
      t += seconds;
      previous = target;
    }
    scaled.duration_s = t;
    double peak = 0;
    for (const auto& s : stages) peak = std::max(peak, s.to_rate);
    std::size_t first_peak = 0, last_peak = 0;
    for (std::size_t i = 0; i < stages.size(); ++i) {
      if (stages[i].to_rate == peak) {
        if (first_peak == 0 && (i == 0 || stages[i - 1].to_rate != peak)) first_peak = i;
        last_peak = i;
      }
    }
    if (first_peak == 0 || last_peak + 1 >= stages.size()) {
      return bad_plan(plan_path,
                      "the stages must hold a sustained rate, then spike, then recover (the "
                      "highest target may be neither first nor last)");
    }
    double sustained_from = -1;
    for (std::size_t i = 0; i < first_peak; ++i) {
      if (stages[i].from_rate == stages[i].to_rate && sustained_from < 0)
        sustained_from = stages[i].from_s;
    }
    if (sustained_from < 0) sustained_from = stages[first_peak - 1].from_s;
    scaled.sustained_rate = stages[first_peak - 1].to_rate;
    scaled.spike_rate = peak;
    if (sustained_from > 0)
      scaled.phases.push_back({"warm-up", 0, sustained_from, stages[0].to_rate});
    scaled.phases.push_back(
        {"sustained", sustained_from, stages[first_peak].from_s, scaled.sustained_rate});
    scaled.phases.push_back({"spike", stages[first_peak].from_s, stages[last_peak].to_s, peak});
    scaled.phases.push_back({"recovery", stages[last_peak].to_s, t, stages.back().to_rate});
    absolute_data_files(plan, plan_path);
  } catch (const YAML::Exception& e) {
    return bad_plan(plan_path, std::string("unexpected shape: ") + e.what());
  }
  scaled.yaml =
      emit(plan, fmt::format("# {} with rates x{:.2f} and durations x{:.2f} (crest demo)\n",
                             plan_path, rate_factor, time_factor));
  return scaled;
}

double calibrated_start_rate(const BreakingPointSearch& search,
                             const std::vector<std::pair<double, bool>>& phases) {
  double start = search.start_rate;
  double highest_held = 0, lowest = 0;
  for (const auto& [rate, held] : phases) {
    if (held) highest_held = std::max(highest_held, rate);
    if (rate > 0) lowest = lowest == 0 ? rate : std::min(lowest, rate);
  }
  if (highest_held > 0) {
    start = highest_held;
  } else if (lowest > 0) {
    start = lowest / search.growth;
  }
  return std::clamp(start, 1.0, std::max(1.0, search.max_rate));
}

Result<std::string> constant_rate_plan(const std::string& plan_path, int max_vus) {
  auto loaded = load_yaml(plan_path);
  if (!loaded.ok()) return loaded.error();
  YAML::Node plan = *loaded;
  YAML::Node load(YAML::NodeType::Map);
  load["executor"] = "constant-arrival-rate";
  load["rate"] = 1;
  load["time_unit"] = "1s";
  load["duration"] = "10s";
  load["pre_allocated_vus"] = std::min(50, max_vus);
  load["max_vus"] = max_vus;
  load["graceful_stop"] = "3s";
  plan["load"] = load;
  plan.remove("thresholds");
  plan.remove("scenarios");
  absolute_data_files(plan, plan_path);
  return emit(plan, fmt::format("# {} at a constant arrival rate (crest demo)\n", plan_path));
}

}  // namespace crest::demo
