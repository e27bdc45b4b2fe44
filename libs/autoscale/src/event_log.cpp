#include "crest/autoscale/event_log.hpp"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "crest/autoscale/controller.hpp"
#include "crest/core/rfc3339.hpp"

namespace crest::autoscale {

const char* to_string(PodTransition transition) noexcept {
  switch (transition) {
    case PodTransition::pending:
      return "pending";
    case PodTransition::started:
      return "started";
    case PodTransition::ready:
      return "ready";
    case PodTransition::serving:
      return "serving";
    case PodTransition::draining:
      return "draining";
    case PodTransition::stopped:
      return "stopped";
  }
  return "?";
}

const char* to_string(NodeTransition transition) noexcept {
  switch (transition) {
    case NodeTransition::requested:
      return "requested";
    case NodeTransition::ready:
      return "ready";
    case NodeTransition::removed:
      return "removed";
  }
  return "?";
}

std::string format_rfc3339_ms(Clock::WallTime time) {
  return crest::format_rfc3339_ms(std::chrono::duration<double>(time.time_since_epoch()).count());
}

AutoscaleEventLog::AutoscaleEventLog(std::ostream& out, const Clock& clock)
    : out_(&out), clock_(clock) {}

Result<std::unique_ptr<AutoscaleEventLog>> AutoscaleEventLog::open(const std::string& path,
                                                                   const Clock& clock) {
  auto file = std::make_unique<std::ofstream>(path, std::ios::app);
  if (!*file) {
    return Error{ErrorKind::unavailable,
                 "cannot open autoscaler event log '" + path + "': " + std::strerror(errno)};
  }
  auto log = std::make_unique<AutoscaleEventLog>(*file, clock);
  log->file_ = std::move(file);
  return log;
}

void AutoscaleEventLog::write_line(const std::string& line) {
  std::lock_guard lock(mutex_);
  *out_ << line << '\n';
  out_->flush();
}

void AutoscaleEventLog::decision(const Decision& decision) {
  nlohmann::json j;
  j["ts"] = format_rfc3339_ms(decision.at);
  j["kind"] = "decision";
  j["service"] = decision.service;
  j["current"] = decision.current;
  j["desired"] = decision.desired;
  j["reason"] = decision.reason;
  auto metrics = nlohmann::json::array();
  for (const auto& m : decision.metrics) {
    nlohmann::json r;
    r["metric"] = m.metric;
    r["target"] = m.target;
    r["value"] = m.value ? nlohmann::json(*m.value) : nlohmann::json(nullptr);
    if (m.proposal) {
      r["proposal"] = *m.proposal;
    }
    if (!m.error.empty()) {
      r["error"] = m.error;
    }
    metrics.push_back(std::move(r));
  }
  j["metrics"] = std::move(metrics);
  write_line(j.dump());
}

void AutoscaleEventLog::pod(const std::string& service, const std::string& instance,
                            PodTransition transition) {
  nlohmann::json j;
  j["ts"] = format_rfc3339_ms(clock_.wall_now());
  j["kind"] = "pod";
  j["service"] = service;
  j["instance"] = instance;
  j["transition"] = to_string(transition);
  write_line(j.dump());
}

void AutoscaleEventLog::node(const std::string& pool, const std::string& node,
                             NodeTransition transition) {
  nlohmann::json j;
  j["ts"] = format_rfc3339_ms(clock_.wall_now());
  j["kind"] = "node";
  j["service"] = pool;
  j["node"] = node;
  j["transition"] = to_string(transition);
  write_line(j.dump());
}

}  // namespace crest::autoscale
