#pragma once
// The stack's side of the local autoscaler (libs/autoscale): each storefront service of a
// LocalPlatform as a ScaleTarget, and the controller driven from the supervisor's loop with the
// HPAs of a deploy/k8s overlay, the Prometheus Adapter's queries against the stack's Prometheus,
// and `crest scale` overrides passed on.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "crest/autoscale/autoscaler_metrics.hpp"
#include "crest/autoscale/controller.hpp"
#include "crest/autoscale/event_log.hpp"
#include "crest/autoscale/hpa_manifest.hpp"
#include "crest/autoscale/prometheus_reader.hpp"
#include "crest/metrics/registry.hpp"
#include "crest/stack/local_platform.hpp"

namespace crest::stack {

class PlatformScaleTarget final : public autoscale::ScaleTarget {
 public:
  PlatformScaleTarget(LocalPlatform& platform, std::string service, double memory_request_bytes)
      : platform_(platform),
        service_(std::move(service)),
        memory_request_bytes_(memory_request_bytes) {}
  int replicas() const override { return platform_.desired(service_); }
  std::vector<autoscale::Instance> instances() const override;
  void scale_to(int replicas) override;

 private:
  LocalPlatform& platform_;
  std::string service_;
  double memory_request_bytes_;
};

// The HPAs and Deployments of the profile's overlay (`kubectl kustomize`, a second or two, so
// `crest up` reads them while the platform starts). Without an autoscaler in the profile a
// failure to read it gives empty manifests (the profile's requests and limits apply).
Result<autoscale::HpaManifests> read_autoscaler_manifests(const StackProfile& profile,
                                                          const std::string& repo_root);

class PlatformAutoscaler {
 public:
  // Reads `kubectl kustomize deploy/k8s/overlays/<profile's overlay>` and the adapter rules;
  // the profile's min/max per service replace the overlay's bounds. `warnings` receives the
  // manifest fields the local autoscaler does not implement.
  static Result<std::unique_ptr<PlatformAutoscaler>> create(LocalPlatform& platform,
                                                            const std::string& repo_root,
                                                            std::vector<std::string>& warnings);
  // The same with the overlay already read (read_autoscaler_manifests, run beside start-up).
  static Result<std::unique_ptr<PlatformAutoscaler>> create(
      LocalPlatform& platform, const std::string& repo_root, std::vector<std::string>& warnings,
      Result<autoscale::HpaManifests> manifests);
  // Syncs once the sync period has passed; passes `crest scale` overrides on first.
  void tick();
  std::string describe() const;

 private:
  explicit PlatformAutoscaler(LocalPlatform& platform) : platform_(platform) {}
  void apply_overrides();

  LocalPlatform& platform_;
  std::vector<std::unique_ptr<PlatformScaleTarget>> targets_;
  std::unique_ptr<autoscale::PrometheusMetricsReader> reader_;
  std::unique_ptr<autoscale::AutoscaleEventLog> events_;
  std::unique_ptr<autoscale::LocalAutoscaler> autoscaler_;
  metrics::Registry registry_;
  std::unique_ptr<autoscale::AutoscalerMetrics> metrics_;
  std::chrono::steady_clock::time_point last_sync_{};
  std::map<std::string, ScaleOverride> applied_;
  std::string description_;
};

}  // namespace crest::stack
