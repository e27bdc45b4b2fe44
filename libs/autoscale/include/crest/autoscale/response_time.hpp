#pragma once
// Autoscaling response time from the event log (event_log.hpp): for each scale-up episode of a
// service, breach -> decision -> serving.
//  - breach: the first decision of the episode in which a metric was above its target (as the
//    controller sampled it; with a 5 s sync period that is within 5 s of the real crossing);
//  - decision: the first decision of the episode that raised the replica count;
//  - serving: when the last instance that decision added reported "serving" (ready and enabled
//    in the load balancer); empty if they never all did;
//  - node_provisioned: a node was requested between the decision and serving.
// An episode ends at the first later decision with every metric at or below target.
#include <chrono>
#include <istream>
#include <optional>
#include <string>
#include <vector>

#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"

namespace crest::autoscale {

struct ScaleUpResponse {
  std::string service;
  Clock::WallTime breach{};
  Clock::WallTime decision{};
  std::optional<Clock::WallTime> serving;
  int from_replicas = 0;
  int to_replicas = 0;
  bool node_provisioned = false;

  std::chrono::milliseconds breach_to_decision() const;
  std::optional<std::chrono::milliseconds> decision_to_serving() const;
  std::optional<std::chrono::milliseconds> breach_to_serving() const;
};

// Reads JSON lines; an Error names source and line for a malformed line or timestamp.
Result<std::vector<ScaleUpResponse>> autoscaling_response_times(std::istream& log,
                                                                const std::string& source);

// "2026-11-30T09:00:00.123Z" (what format_rfc3339_ms writes; also without fraction).
std::optional<Clock::WallTime> parse_rfc3339(const std::string& text);

}  // namespace crest::autoscale
