#include "crest/autoscale/controller.hpp"

#include <algorithm>
#include <condition_variable>
#include <stdexcept>

#include "crest/autoscale/event_log.hpp"
#include "crest/autoscale/replica_calculator.hpp"
#include "crest/autoscale/scaling_behavior.hpp"

namespace crest::autoscale {

const char* to_string(InstancePhase phase) noexcept {
  switch (phase) {
    case InstancePhase::pending:
      return "pending";
    case InstancePhase::started:
      return "started";
    case InstancePhase::ready:
      return "ready";
    case InstancePhase::draining:
      return "draining";
  }
  return "?";
}

struct LocalAutoscaler::Workload {
  HpaSpec spec;
  ScaleTarget* target = nullptr;
  ReplicaOverride override_;
  ScalingHistory history;
  std::optional<Decision> last;
};

namespace {

std::string reading_name(const MetricSpec& metric) {
  switch (metric.type) {
    case MetricSourceType::resource:
      return metric.name;
    case MetricSourceType::pods:
      return "pods/" + metric.name;
    case MetricSourceType::external:
      return "external/" + metric.name;
  }
  return metric.name;
}

PodReadiness readiness_of(InstancePhase phase) {
  switch (phase) {
    case InstancePhase::ready:
      return PodReadiness::ready;
    case InstancePhase::started:
      return PodReadiness::started;
    default:
      return PodReadiness::pending;
  }
}

void validate(const HpaSpec& spec) {
  const std::string where = "HorizontalPodAutoscaler '" + spec.name + "': ";
  if (spec.target_name.empty()) {
    throw std::invalid_argument(where + "spec.scaleTargetRef.name is empty");
  }
  if (spec.min_replicas < 1) {
    throw std::invalid_argument(where + "spec.minReplicas must be at least 1");
  }
  if (spec.max_replicas < spec.min_replicas) {
    throw std::invalid_argument(where + "spec.maxReplicas is below spec.minReplicas");
  }
  if (spec.metrics.empty()) {
    throw std::invalid_argument(where + "spec.metrics is empty");
  }
}

}  // namespace

LocalAutoscaler::LocalAutoscaler(std::vector<HpaSpec> specs, MetricsReader& metrics,
                                 std::map<std::string, ScaleTarget*> targets, Clock& clock,
                                 AutoscalerOptions options, AutoscaleEventLog* events)
    : metrics_(metrics), clock_(clock), options_(options), events_(events) {
  for (auto& spec : specs) {
    validate(spec);
    auto it = targets.find(spec.target_name);
    if (it == targets.end() || it->second == nullptr) {
      throw std::invalid_argument("HorizontalPodAutoscaler '" + spec.name + "' scales '" +
                                  spec.target_name + "', which has no scale target");
    }
    auto workload = std::make_unique<Workload>();
    workload->spec = std::move(spec);
    workload->target = it->second;
    workloads_.push_back(std::move(workload));
  }
}

LocalAutoscaler::~LocalAutoscaler() = default;

std::vector<Decision> LocalAutoscaler::sync_once() {
  std::lock_guard sync_lock(sync_mutex_);
  std::vector<Decision> decisions;
  decisions.reserve(workloads_.size());
  for (auto& workload : workloads_) {
    decisions.push_back(sync_workload(*workload));
  }
  return decisions;
}

void LocalAutoscaler::run(std::stop_token stop) {
  std::mutex wait_mutex;
  std::condition_variable_any wake;
  while (!stop.stop_requested()) {
    sync_once();
    std::unique_lock lock(wait_mutex);
    wake.wait_for(lock, stop, options_.sync_period, [] { return false; });
  }
}

Decision LocalAutoscaler::sync_workload(Workload& workload) {
  ReplicaOverride override_;
  {
    std::lock_guard lock(mutex_);
    override_ = workload.override_;
  }
  const HpaSpec& spec = workload.spec;
  const int min_replicas = override_.min_replicas.value_or(spec.min_replicas);
  const int max_replicas =
      std::max(min_replicas, override_.max_replicas.value_or(spec.max_replicas));

  Decision decision;
  decision.service = spec.target_name;
  decision.at = clock_.wall_now();
  const int current = workload.target->replicas();
  decision.current = current;
  decision.desired = current;

  if (override_.disabled) {
    decision.reason = "ScalingDisabled";
  } else if (current > max_replicas) {
    decision.desired = max_replicas;
    decision.reason = "TooManyReplicas";
  } else if (current < min_replicas) {
    decision.desired = min_replicas;
    decision.reason = "TooFewReplicas";
  } else {
    std::vector<Instance> instances = workload.target->instances();
    std::erase_if(instances, [](const Instance& i) { return i.phase == InstancePhase::draining; });
    std::vector<std::string> names;
    int ready = 0;
    for (const auto& instance : instances) {
      names.push_back(instance.name);
      ready += instance.phase == InstancePhase::ready ? 1 : 0;
    }
    const CalculatorOptions calc{options_.tolerance};
    std::optional<int> proposal;
    int unreadable = 0;
    for (const auto& metric : spec.metrics) {
      MetricReading reading;
      reading.metric = reading_name(metric);
      reading.target = metric.target;
      const MetricQuery query{metric.type, metric.name, metric.selector};
      Result<ReplicaProposal> result = Error{ErrorKind::internal, "not computed"};
      if (metric.type == MetricSourceType::external) {
        auto value = metrics_.external_value(query);
        if (!value) {
          result = value.error();
        } else if (metric.target_type == MetricTargetType::average_value) {
          result = external_average_value_replicas(static_cast<int>(instances.size()), *value,
                                                   metric.target, calc);
        } else {
          result = external_value_replicas(current, ready, *value, metric.target, calc);
        }
      } else {
        auto values = metrics_.instance_values(spec.target_name, names, query);
        if (!values) {
          result = values.error();
        } else {
          const bool cpu = metric.type == MetricSourceType::resource && metric.name == "cpu";
          std::vector<PodSample> samples;
          for (const auto& instance : instances) {
            PodSample sample{instance.name, readiness_of(instance.phase), std::nullopt,
                             cpu ? instance.cpu_request_cores : instance.memory_request_bytes};
            if (auto it = values->find(instance.name); it != values->end()) {
              sample.value = it->second;
            }
            samples.push_back(std::move(sample));
          }
          if (metric.type == MetricSourceType::resource &&
              metric.target_type == MetricTargetType::utilization) {
            result = utilization_replicas(current, samples, metric.target, cpu, calc);
          } else {
            result = average_value_replicas(current, samples, metric.target, cpu, calc);
          }
        }
      }
      if (result) {
        reading.value = result->usage;
        reading.proposal = result->replicas;
        proposal = std::max(proposal.value_or(result->replicas), result->replicas);
      } else {
        reading.error = result.error().message;
        ++unreadable;
      }
      decision.metrics.push_back(std::move(reading));
    }
    if (!proposal) {
      decision.reason = "FailedGetMetrics";
    } else if (unreadable > 0 && *proposal < current) {
      // Kubernetes does not scale down on partial information.
      decision.reason = "FailedGetMetrics";
    } else {
      const NormalizedReplicas normalized =
          workload.history.normalize(clock_.now(), current, *proposal, min_replicas, max_replicas,
                                     spec.scale_up, spec.scale_down);
      decision.desired = normalized.replicas;
      decision.reason = normalized.reason;
    }
  }

  decision.scaled = decision.desired != current;
  // Logged before acting, so the pod and node events it causes follow it in the log.
  if (events_ != nullptr) {
    events_->decision(decision);
  }
  if (decision.scaled) {
    workload.target->scale_to(decision.desired);
    workload.history.record_scale(clock_.now(), current, decision.desired);
  }
  {
    std::lock_guard lock(mutex_);
    workload.last = decision;
  }
  return decision;
}

namespace {
Error unknown_service(const std::string& service) {
  return Error{ErrorKind::not_found, "no autoscaler for service '" + service + "'"};
}
}  // namespace

Result<void> LocalAutoscaler::set_min_replicas(const std::string& service, int min_replicas) {
  if (min_replicas < 1) {
    return Error{ErrorKind::invalid_argument, "--min must be at least 1"};
  }
  std::lock_guard lock(mutex_);
  for (auto& w : workloads_) {
    if (w->spec.target_name == service) {
      w->override_.min_replicas = min_replicas;
      return {};
    }
  }
  return unknown_service(service);
}

Result<void> LocalAutoscaler::set_max_replicas(const std::string& service, int max_replicas) {
  if (max_replicas < 1) {
    return Error{ErrorKind::invalid_argument, "--max must be at least 1"};
  }
  std::lock_guard lock(mutex_);
  for (auto& w : workloads_) {
    if (w->spec.target_name == service) {
      w->override_.max_replicas = max_replicas;
      return {};
    }
  }
  return unknown_service(service);
}

Result<void> LocalAutoscaler::set_enabled(const std::string& service, bool enabled) {
  std::lock_guard lock(mutex_);
  for (auto& w : workloads_) {
    if (w->spec.target_name == service) {
      w->override_.disabled = !enabled;
      return {};
    }
  }
  return unknown_service(service);
}

Result<void> LocalAutoscaler::clear_overrides(const std::string& service) {
  std::lock_guard lock(mutex_);
  for (auto& w : workloads_) {
    if (w->spec.target_name == service) {
      w->override_ = {};
      return {};
    }
  }
  return unknown_service(service);
}

std::vector<WorkloadStatus> LocalAutoscaler::status() const {
  std::lock_guard lock(mutex_);
  std::vector<WorkloadStatus> out;
  for (const auto& w : workloads_) {
    WorkloadStatus s;
    s.service = w->spec.target_name;
    s.min_replicas = w->override_.min_replicas.value_or(w->spec.min_replicas);
    s.max_replicas =
        std::max(s.min_replicas, w->override_.max_replicas.value_or(w->spec.max_replicas));
    s.enabled = !w->override_.disabled;
    s.desired = w->target->replicas();
    for (const auto& instance : w->target->instances()) {
      if (instance.phase == InstancePhase::ready) {
        ++s.current;
      } else if (instance.phase != InstancePhase::draining) {
        ++s.pending;
      }
    }
    s.last_decision = w->last;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> LocalAutoscaler::services() const {
  std::vector<std::string> out;
  for (const auto& w : workloads_) {
    out.push_back(w->spec.target_name);
  }
  return out;
}

}  // namespace crest::autoscale
