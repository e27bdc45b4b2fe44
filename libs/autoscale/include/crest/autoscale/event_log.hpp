#pragma once
// The autoscaler's event log: JSON lines, one object per line, written by the controller
// (decisions) and by the stack (pod and node transitions), so that the response time of an
// autoscaling episode (breach -> decision -> serving) can be computed from one file.
//   {"ts":"2026-11-30T09:00:00.123Z","kind":"decision","service":"catalog","current":3,
//    "desired":6,"reason":"ScaleUpLimit","metrics":[{"metric":"cpu","value":120,"target":60,
//    "proposal":6}]}
//   {"ts":...,"kind":"pod","service":"catalog","instance":"catalog-4","transition":"ready"}
//   {"ts":...,"kind":"node","service":"node-pool","node":"node-2","transition":"requested"}
// Thread-safe: each event is written and flushed as one line.
#include <fstream>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>

#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"

namespace crest::autoscale {

struct Decision;

enum class PodTransition { pending, started, ready, serving, draining, stopped };
enum class NodeTransition { requested, ready, removed };
const char* to_string(PodTransition transition) noexcept;
const char* to_string(NodeTransition transition) noexcept;

class AutoscaleEventLog {
 public:
  // Writes to out (which must outlive the log).
  AutoscaleEventLog(std::ostream& out, const Clock& clock);
  // Appends to the file at path (created if absent); an Error names the path.
  static Result<std::unique_ptr<AutoscaleEventLog>> open(const std::string& path,
                                                         const Clock& clock);

  void decision(const Decision& decision);
  void pod(const std::string& service, const std::string& instance, PodTransition transition);
  void node(const std::string& pool, const std::string& node, NodeTransition transition);

 private:
  void write_line(const std::string& line);

  std::unique_ptr<std::ofstream> file_;
  std::ostream* out_;
  const Clock& clock_;
  std::mutex mutex_;
};

// UTC RFC 3339 with milliseconds: 2026-11-30T09:00:00.123Z.
std::string format_rfc3339_ms(Clock::WallTime time);

}  // namespace crest::autoscale
