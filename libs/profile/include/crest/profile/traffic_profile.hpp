#pragma once
// What a log says about traffic, and a crest plan that reproduces it (docs/profile.md).
#include <cstdint>
#include <string>
#include <vector>

#include "crest/profile/access_log.hpp"

namespace crest::profile {

struct Spike {
  double start_s = 0;  // seconds from the start of the log
  double peak_s = 0;
  double end_s = 0;
  double base_rps = 0;  // the sustained level it rose from
  double peak_rps = 0;
  double slope_rps_per_s = 0;  // (peak - base) / (peak - start)
  double duration_s = 0;       // above the spike threshold
};

struct RouteShare {
  std::string method;
  std::string route;  // template
  std::size_t count = 0;
  double share = 0;
  std::vector<std::vector<std::string>> id_values;  // per {id} position: most seen raw values
};

struct Transition {
  std::string from;  // "START" or "METHOD route"
  std::string to;    // "END" or "METHOD route"
  std::size_t count = 0;
  double probability = 0;  // of `to` given `from`
};

struct ThinkStats {
  std::size_t count = 0;
  double mean_s = 0;
  double stddev_s = 0;
  double p50_s = 0;
  double p90_s = 0;
};

struct JourneyShape {
  std::vector<std::string> steps;  // "METHOD route"
  std::size_t sessions = 0;
  double share = 0;
  std::vector<ThinkStats> think_after;  // per step but the last
};

struct ProfileOptions {
  double session_gap_s = 1800;  // a client idle longer starts a new session
};

struct TrafficProfile {
  double start_s = 0;  // Unix time of the first request
  double span_s = 0;
  std::size_t requests = 0;
  std::vector<std::uint64_t> per_second;
  std::vector<std::uint64_t> per_minute;
  double peak_rps = 0;  // the busiest second
  double peak_at_s = 0;
  double peak_minute_rps = 0;  // the busiest minute, per second
  double sustained_rps = 0;    // median per-second rate over the log's active span
  std::vector<Spike> spikes;
  std::vector<RouteShare> routes;  // by count, descending
  std::string session_key;         // "cookie" or "client"
  std::size_t sessions = 0;
  std::vector<Transition> transitions;
  ThinkStats think;
  std::vector<JourneyShape> journeys;  // by sessions, descending
  std::vector<std::uint64_t> session_starts_per_second;
};

TrafficProfile analyse_traffic(const std::vector<AccessRecord>& records,
                               const ProfileOptions& options = {});

struct PlanOptions {
  double scale = 1;     // rates multiplied
  double compress = 1;  // the curve's time axis divided (rates kept: use scale for volume)
  std::string base_url = "http://127.0.0.1:8080";
  std::size_t max_journeys = 8;
  std::size_t max_stages = 40;
};

// A crest plan (YAML): journeys weighted as the log's sessions, think times from the gaps, and
// a ramping-arrival-rate of session starts whose stages follow the curve.
std::string plan_yaml(const TrafficProfile& profile, const PlanOptions& options,
                      const std::string& source_name);

std::string format_report(const ParsedLog& log, const TrafficProfile& profile);
std::string format_json(const ParsedLog& log, const TrafficProfile& profile);

}  // namespace crest::profile
