#include "crest/stack/platform_autoscaling.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "crest/autoscale/hpa_manifest.hpp"

namespace crest::stack {
namespace fs = std::filesystem;

std::vector<autoscale::Instance> PlatformScaleTarget::instances() const {
  std::vector<autoscale::Instance> out;
  for (const auto& v : platform_.instances(service_)) {
    autoscale::Instance i;
    i.name = v.name;
    i.cpu_request_cores = v.cpu_request;
    i.memory_request_bytes = memory_request_bytes_;
    switch (v.phase) {
      case InstancePhase::pending:
        i.phase = autoscale::InstancePhase::pending;
        break;
      case InstancePhase::starting:
      case InstancePhase::backoff:
        i.phase = autoscale::InstancePhase::started;
        break;
      case InstancePhase::ready:
        i.phase = v.ready ? autoscale::InstancePhase::ready : autoscale::InstancePhase::started;
        break;
      default:
        i.phase = autoscale::InstancePhase::draining;
        break;
    }
    out.push_back(i);
  }
  return out;
}

void PlatformScaleTarget::scale_to(int replicas) {
  (void)platform_.scale(service_, replicas, "autoscaler");
}

Result<autoscale::HpaManifests> read_autoscaler_manifests(const StackProfile& profile,
                                                          const std::string& repo_root) {
  const fs::path overlay = fs::path(repo_root) / "deploy/k8s/overlays" / profile.autoscaler_overlay;
  auto manifests = autoscale::read_kustomize_overlay(overlay.string());
  // Without an autoscaler the overlay only supplies requests and limits: not fatal.
  if (!manifests.ok() && !profile.autoscaler) return autoscale::HpaManifests{};
  return manifests;
}

Result<std::unique_ptr<PlatformAutoscaler>> PlatformAutoscaler::create(
    LocalPlatform& platform, const std::string& repo_root, std::vector<std::string>& warnings) {
  return create(platform, repo_root, warnings,
                read_autoscaler_manifests(platform.profile(), repo_root));
}

Result<std::unique_ptr<PlatformAutoscaler>> PlatformAutoscaler::create(
    LocalPlatform& platform, const std::string& repo_root, std::vector<std::string>& warnings,
    Result<autoscale::HpaManifests> manifests) {
  std::unique_ptr<PlatformAutoscaler> a(new PlatformAutoscaler(platform));
  const auto& profile = platform.profile();
  if (!profile.autoscaler) {
    a->description_ = "off (the profile's fixed instance counts)";
    return a;
  }
  const fs::path overlay = fs::path(repo_root) / "deploy/k8s/overlays" / profile.autoscaler_overlay;
  if (!manifests.ok()) {
    return Error{manifests.error().kind,
                 "reading the HPAs of " + overlay.string() + ": " + manifests.error().message};
  }
  warnings = manifests->warnings;
  auto rules = autoscale::read_adapter_rules(
      (fs::path(repo_root) / "deploy/k8s/monitoring/prometheus-adapter-values.yaml").string());
  if (!rules.ok()) return rules.error();
  autoscale::PrometheusReaderOptions reader_options;
  const std::string url = platform.prometheus_url();
  reader_options.port = static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
  reader_options.rate_window = "20s";  // the cluster's 2 m windows are too slow for one machine
  a->reader_ = std::make_unique<autoscale::PrometheusMetricsReader>(*rules, reader_options);
  auto events = autoscale::AutoscaleEventLog::open((platform.run_dir() / "events.jsonl").string(),
                                                   Clock::system());
  if (!events.ok()) return events.error();
  a->events_ = std::move(events).value();

  std::vector<autoscale::HpaSpec> specs;
  std::map<std::string, autoscale::ScaleTarget*> targets;
  std::string names;
  for (auto spec : manifests->hpas) {
    const ServiceProfile* service = profile.service(spec.target_name);
    if (service == nullptr || !service->autoscale) continue;
    spec.min_replicas = std::max(1, service->min_instances);
    spec.max_replicas = std::max(spec.min_replicas, service->max_instances);
    a->targets_.push_back(std::make_unique<PlatformScaleTarget>(
        platform, spec.target_name, static_cast<double>(service->memory_request_bytes)));
    targets[spec.target_name] = a->targets_.back().get();
    names += fmt::format("{}{} {}..{}", names.empty() ? "" : ", ", spec.target_name,
                         spec.min_replicas, spec.max_replicas);
    specs.push_back(std::move(spec));
  }
  autoscale::AutoscalerOptions options;
  options.sync_period = profile.autoscaler_sync_period;
  try {
    a->autoscaler_ = std::make_unique<autoscale::LocalAutoscaler>(
        std::move(specs), *a->reader_, std::move(targets), Clock::system(), options,
        a->events_.get());
  } catch (const std::invalid_argument& e) {
    return Error{ErrorKind::invalid_argument, e.what()};
  }
  a->metrics_ = std::make_unique<autoscale::AutoscalerMetrics>(a->registry_);
  a->description_ = fmt::format("HPAs of {} every {} ms: {}", overlay.string(),
                                options.sync_period.count(), names);
  return a;
}

void PlatformAutoscaler::apply_overrides() {
  for (const auto& service : autoscaler_->services()) {
    const ScaleOverride wanted = platform_.override_for(service);
    ScaleOverride& applied = applied_[service];
    if (wanted.min == applied.min && wanted.max == applied.max &&
        wanted.autoscaling_off == applied.autoscaling_off && wanted.replicas == applied.replicas) {
      continue;
    }
    (void)autoscaler_->clear_overrides(service);
    if (wanted.min) (void)autoscaler_->set_min_replicas(service, *wanted.min);
    if (wanted.max) (void)autoscaler_->set_max_replicas(service, *wanted.max);
    if (wanted.autoscaling_off || wanted.replicas) (void)autoscaler_->set_enabled(service, false);
    applied = wanted;
  }
}

void PlatformAutoscaler::tick() {
  if (!autoscaler_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_sync_ < autoscaler_->sync_period()) return;
  last_sync_ = now;
  apply_overrides();
  autoscaler_->sync_once();
  metrics_->update(autoscaler_->status());
  platform_.set_extra_metrics(registry_.render());
}

std::string PlatformAutoscaler::describe() const {
  return description_;
}

}  // namespace crest::stack
