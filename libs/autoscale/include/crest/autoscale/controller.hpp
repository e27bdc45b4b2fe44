#pragma once
// The local autoscaler: Kubernetes' HPA controller loop over local instances. Each sync reads
// every HPA's metrics through a MetricsReader, computes the desired replica count with the HPA
// algorithm (replica_calculator.hpp, scaling_behavior.hpp) and asks the workload's ScaleTarget
// to scale. The target does the work itself (start, wait for ready, enable in the load balancer;
// or drain and stop) and reports its instances; the controller never blocks on it.
//
// Implementations of MetricsReader and ScaleTarget are called from the thread that calls
// sync_once(); the overrides (set_min_replicas, ...) may be called from any thread.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "crest/autoscale/hpa_spec.hpp"
#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"

namespace crest::autoscale {

class AutoscaleEventLog;

// One metric of one HPA, as the manifest names it.
struct MetricQuery {
  MetricSourceType type = MetricSourceType::resource;
  std::string name;                             // "cpu", "memory", or the adapter's metric name
  std::map<std::string, std::string> selector;  // External: matchLabels
};

// Instance name -> value. An instance absent from the map has no value (a missing metric).
using InstanceValues = std::map<std::string, double>;

class MetricsReader {
 public:
  virtual ~MetricsReader() = default;
  // Per-instance values of a Resource or Pods metric for the named instances of a workload.
  // Resource cpu: usage in cores (a rate over the last few seconds); memory: working set in
  // bytes. An Error means the metric could not be read at all (treated as Kubernetes does: the
  // metric is skipped and no scale-down happens in that sync).
  virtual Result<InstanceValues> instance_values(const std::string& workload,
                                                 const std::vector<std::string>& instances,
                                                 const MetricQuery& metric) = 0;
  // The value of an External metric (e.g. the visible messages of the orders queue).
  virtual Result<double> external_value(const MetricQuery& metric) = 0;
};

enum class InstancePhase {
  pending,   // asked for, not running (no node capacity yet, or starting its process)
  started,   // process running, not yet ready
  ready,     // /readyz answers 200 (serving or about to be)
  draining,  // being scaled in: ignored by the algorithm, as Kubernetes ignores deleted pods
};
const char* to_string(InstancePhase phase) noexcept;

struct Instance {
  std::string name;
  InstancePhase phase = InstancePhase::pending;
  double cpu_request_cores = 0;     // resources.requests.cpu (for cpu utilisation)
  double memory_request_bytes = 0;  // resources.requests.memory (for memory utilisation)
};

// One workload (a Deployment locally): the stack implements it.
class ScaleTarget {
 public:
  virtual ~ScaleTarget() = default;
  // The replica count last asked for (a Deployment's spec.replicas).
  virtual int replicas() const = 0;
  // The instances now, draining ones included (the algorithm skips them).
  virtual std::vector<Instance> instances() const = 0;
  // Ask for n replicas. Returns at once; the target starts/readies or drains/stops instances
  // itself and reports progress through instances(). Scale-in picks instances to drain itself.
  virtual void scale_to(int replicas) = 0;
};

struct AutoscalerOptions {
  std::chrono::milliseconds sync_period{5'000};  // Kubernetes: 15 s; locally 5 s
  double tolerance = 0.1;                        // --horizontal-pod-autoscaler-tolerance
};

// One metric's contribution to a decision.
struct MetricReading {
  std::string metric;           // "cpu", "memory", "pods/<name>", "external/<name>"
  std::optional<double> value;  // utilisation in % of request, or the average/total value
  double target = 0;
  std::optional<int> proposal;  // replicas this metric alone asks for; empty if unreadable
  std::string error;            // why it could not be read
};

struct Decision {
  std::string service;  // the HPA's scaleTargetRef.name
  Clock::WallTime at{};
  std::vector<MetricReading> metrics;
  int current = 0;
  int desired = 0;
  std::string reason;   // "ScaleUpLimit", "DesiredWithinRange", "TooFewReplicas", "Disabled", ...
  bool scaled = false;  // scale_to(desired) was called
};

// What `crest scale SERVICE --min/--max/--off` changes at run time.
struct ReplicaOverride {
  std::optional<int> min_replicas;
  std::optional<int> max_replicas;
  bool disabled = false;
};

struct WorkloadStatus {
  std::string service;
  int min_replicas = 0;  // with overrides applied
  int max_replicas = 0;
  bool enabled = true;
  int desired = 0;  // the target's replicas()
  int current = 0;  // ready instances
  int pending = 0;  // instances asked for but not yet ready (draining ones excluded)
  std::optional<Decision> last_decision;
};

class LocalAutoscaler {
 public:
  // targets: scaleTargetRef.name -> its ScaleTarget; they and metrics (and events, if given)
  // must outlive the autoscaler. Throws std::invalid_argument naming an HPA without a target or
  // an invalid spec (min > max, min < 1, ...).
  LocalAutoscaler(std::vector<HpaSpec> specs, MetricsReader& metrics,
                  std::map<std::string, ScaleTarget*> targets, Clock& clock,
                  AutoscalerOptions options = {}, AutoscaleEventLog* events = nullptr);
  ~LocalAutoscaler();
  LocalAutoscaler(const LocalAutoscaler&) = delete;
  LocalAutoscaler& operator=(const LocalAutoscaler&) = delete;

  // One pass of the controller over every HPA: one Decision per HPA, in spec order.
  std::vector<Decision> sync_once();
  std::chrono::milliseconds sync_period() const { return options_.sync_period; }
  // Calls sync_once() every sync period (real time) until stop is requested; returns promptly
  // then. For a thread of the stack: std::jthread t([&](std::stop_token s) { a.run(s); });
  void run(std::stop_token stop);

  // Run-time overrides; an error (invalid_argument / not_found) names the service or value.
  Result<void> set_min_replicas(const std::string& service, int min_replicas);
  Result<void> set_max_replicas(const std::string& service, int max_replicas);
  Result<void> set_enabled(const std::string& service, bool enabled);
  Result<void> clear_overrides(const std::string& service);

  std::vector<WorkloadStatus> status() const;
  std::vector<std::string> services() const;

 private:
  struct Workload;
  Decision sync_workload(Workload& workload);

  MetricsReader& metrics_;
  Clock& clock_;
  AutoscalerOptions options_;
  AutoscaleEventLog* events_;
  std::mutex sync_mutex_;     // one sync at a time
  mutable std::mutex mutex_;  // overrides and last decisions
  std::vector<std::unique_ptr<Workload>> workloads_;
};

}  // namespace crest::autoscale
