#pragma once
// Reads autoscaling/v2 HorizontalPodAutoscaler documents as `kubectl kustomize <overlay>` emits
// them (one multi-document YAML stream), plus the CPU and memory requests and limits of the
// Deployments they scale, so the local autoscaler and the stack use the manifests' numbers.
// Fields the local autoscaler does not implement are not silently ignored: each is named in a
// warning (Object and ContainerResource metrics, matchExpressions, behavior tolerance, ...).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crest/autoscale/hpa_spec.hpp"
#include "crest/core/error.hpp"

namespace crest::autoscale {

// A pod's resources: the sum over its containers, as Kubernetes computes a pod's request.
struct WorkloadResources {
  double cpu_request_cores = 0;
  double memory_request_bytes = 0;
  double cpu_limit_cores = 0;
  double memory_limit_bytes = 0;
  int replicas = 1;  // spec.replicas (1 when absent)
};

struct HpaManifests {
  std::vector<HpaSpec> hpas;
  std::map<std::string, WorkloadResources> workloads;  // Deployment name -> resources
  std::vector<std::string> warnings;  // "<source>:<line>: catalog: spec.metrics[3]: ..."
};

// A Kubernetes quantity ("250m", "2", "512Mi", "1.5G", "1e3") in base units; an error names it.
Result<double> parse_quantity(std::string_view text);

// Parses a YAML stream; documents of other kinds (except Deployments, read for resources) are
// skipped. An Error names source, line and field for malformed YAML or an invalid HPA.
Result<HpaManifests> parse_hpa_manifests(std::string_view yaml, const std::string& source);

// Runs `kubectl kustomize <overlay_dir>` (offline) and parses its output.
Result<HpaManifests> read_kustomize_overlay(const std::string& overlay_dir);

}  // namespace crest::autoscale
