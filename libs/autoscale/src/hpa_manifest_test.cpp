#include "crest/autoscale/hpa_manifest.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>

namespace crest::autoscale {
namespace {

using ::testing::HasSubstr;

const HpaSpec* find(const HpaManifests& m, const std::string& name) {
  for (const auto& hpa : m.hpas) {
    if (hpa.name == name) {
      return &hpa;
    }
  }
  return nullptr;
}

TEST(HpaManifest, ReadsTheStagingOverlayAsKustomizeBuildsIt) {
  auto manifests = read_kustomize_overlay(std::string(CREST_K8S_DIR) + "/overlays/staging");
  ASSERT_TRUE(manifests.ok()) << manifests.error().message;
  EXPECT_EQ(manifests->hpas.size(), 5U);
  EXPECT_TRUE(manifests->warnings.empty()) << manifests->warnings.front();

  const HpaSpec* catalog = find(*manifests, "catalog");
  ASSERT_NE(catalog, nullptr);
  EXPECT_EQ(catalog->target_name, "catalog");
  EXPECT_EQ(catalog->min_replicas, 2);  // the overlay's bounds
  EXPECT_EQ(catalog->max_replicas, 6);
  ASSERT_EQ(catalog->metrics.size(), 3U);
  EXPECT_EQ(catalog->metrics[0].name, "cpu");
  EXPECT_EQ(catalog->metrics[0].target_type, MetricTargetType::utilization);
  EXPECT_DOUBLE_EQ(catalog->metrics[0].target, 60);
  EXPECT_EQ(catalog->metrics[2].type, MetricSourceType::pods);
  EXPECT_EQ(catalog->metrics[2].name, "http_server_request_duration_seconds_p95");
  EXPECT_DOUBLE_EQ(catalog->metrics[2].target, 0.25);  // 250m
  EXPECT_EQ(catalog->scale_down.stabilization_window_seconds, 300);
  EXPECT_EQ(catalog->scale_down.select_policy, SelectPolicy::min);
  ASSERT_EQ(catalog->scale_down.policies.size(), 1U);
  EXPECT_EQ(catalog->scale_down.policies[0].type, ScalingPolicyType::percent);
  EXPECT_EQ(catalog->scale_down.policies[0].value, 10);
  EXPECT_EQ(catalog->scale_down.policies[0].period_seconds, 60);
  EXPECT_EQ(catalog->scale_up.policies.size(), 2U);

  const HpaSpec* worker = find(*manifests, "worker");
  ASSERT_NE(worker, nullptr);
  const auto& queue = worker->metrics.back();
  EXPECT_EQ(queue.type, MetricSourceType::external);
  EXPECT_EQ(queue.name, "crest_queue_approximate_messages");
  EXPECT_EQ(queue.selector.at("queue"), "orders");
  EXPECT_EQ(queue.selector.at("state"), "visible");
  EXPECT_EQ(queue.target_type, MetricTargetType::average_value);
  EXPECT_DOUBLE_EQ(queue.target, 20);

  ASSERT_EQ(manifests->workloads.count("catalog"), 1U);
  EXPECT_GT(manifests->workloads.at("catalog").cpu_request_cores, 0);
  EXPECT_GT(manifests->workloads.at("catalog").memory_request_bytes, 0);
}

TEST(HpaManifest, NamesUnsupportedFieldsInWarnings) {
  const char* yaml = R"(apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  maxReplicas: 5
  metrics:
  - type: Object
    object:
      metric: {name: qps}
      describedObject: {kind: Ingress, name: main}
      target: {type: Value, value: "10"}
  - type: External
    external:
      metric:
        name: backlog
        selector:
          matchExpressions: [{key: queue, operator: In, values: [orders]}]
      target: {type: Value, value: "100"}
  behavior:
    scaleUp:
      tolerance: 0.05
)";
  auto m = parse_hpa_manifests(yaml, "web.yaml");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->hpas.size(), 1U);
  EXPECT_EQ(m->hpas[0].min_replicas, 1);
  ASSERT_EQ(m->hpas[0].metrics.size(), 1U);  // the Object metric is dropped
  ASSERT_EQ(m->warnings.size(), 3U);
  EXPECT_THAT(m->warnings[0], HasSubstr("web.yaml:9: HorizontalPodAutoscaler 'web': "
                                        "spec.metrics[0].type: metric type 'Object'"));
  EXPECT_THAT(m->warnings[1],
              HasSubstr("spec.metrics[1].external.metric.selector.matchExpressions"));
  EXPECT_THAT(m->warnings[2], HasSubstr("web.yaml:23:"));
  EXPECT_THAT(m->warnings[2], HasSubstr("spec.behavior.scaleUp.tolerance"));
}

TEST(HpaManifest, DefaultsToCpuAt80PercentAndKubernetesBehavior) {
  auto m = parse_hpa_manifests(R"(apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {name: web}
  minReplicas: 2
  maxReplicas: 5
)",
                               "web.yaml");
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ(m->hpas[0].metrics.size(), 1U);
  EXPECT_EQ(m->hpas[0].metrics[0].name, "cpu");
  EXPECT_DOUBLE_EQ(m->hpas[0].metrics[0].target, 80);
  EXPECT_EQ(m->hpas[0].scale_down.stabilization_window_seconds, 300);
  EXPECT_EQ(m->hpas[0].scale_up.policies.size(), 2U);
}

struct BadCase {
  std::string name;
  std::string yaml;
  std::string message;
};

TEST(HpaManifest, RejectsInvalidDocumentsNamingLineAndField) {
  const std::string head =
      "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\n";
  const std::vector<BadCase> cases = {
      {"invalid YAML", "a: [1, 2\nb: 3\n", "bad.yaml:"},
      {"missing maxReplicas", head + "spec:\n  scaleTargetRef: {name: web}\n",
       "bad.yaml:5: HorizontalPodAutoscaler 'web': spec.maxReplicas: missing"},
      {"bad quantity",
       head + "spec:\n  scaleTargetRef: {name: web}\n  maxReplicas: 3\n  metrics:\n"
              "  - type: Pods\n    pods:\n      metric: {name: p95}\n"
              "      target: {type: AverageValue, averageValue: 25x}\n",
       "bad.yaml:11: HorizontalPodAutoscaler 'web': "
       "spec.metrics[0].pods.target.averageValue: '25x' is not a Kubernetes quantity"},
      {"max below min",
       head + "spec:\n  scaleTargetRef: {name: web}\n  minReplicas: 4\n"
              "  maxReplicas: 3\n",
       "spec.maxReplicas: is below spec.minReplicas"},
      {"unknown select policy",
       head + "spec:\n  scaleTargetRef: {name: web}\n  maxReplicas: 3\n  behavior:\n"
              "    scaleUp: {selectPolicy: Fastest}\n",
       "spec.behavior.scaleUp.selectPolicy: 'Fastest' is not Max, Min or Disabled"},
      {"v1 API",
       "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\n"
       "metadata: {name: web}\nspec: {maxReplicas: 2}\n",
       "'autoscaling/v1' is not autoscaling/v2"},
  };
  for (const auto& c : cases) {
    auto m = parse_hpa_manifests(c.yaml, "bad.yaml");
    ASSERT_FALSE(m.ok()) << c.name;
    EXPECT_THAT(m.error().message, HasSubstr(c.message)) << c.name;
  }
}

TEST(HpaManifest, ParsesKubernetesQuantities) {
  const std::vector<std::pair<std::string, double>> good = {
      {"250m", 0.25},      {"2", 2},     {"1.5", 1.5},  {"512Mi", 536870912},
      {"1Gi", 1073741824}, {"1k", 1000}, {"1e3", 1000}, {"100M", 1e8}};
  for (const auto& [text, value] : good) {
    auto q = parse_quantity(text);
    ASSERT_TRUE(q.ok()) << text;
    EXPECT_DOUBLE_EQ(*q, value) << text;
  }
  for (const char* bad : {"", "m", "12q", "-1", "1Mb", "abc"}) {
    EXPECT_FALSE(parse_quantity(bad).ok()) << bad;
  }
}

TEST(HpaManifest, AMissingOverlayIsAnError) {
  auto m = read_kustomize_overlay(std::string(CREST_K8S_DIR) + "/overlays/no-such-overlay");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.error().message, HasSubstr("no-such-overlay"));
}

}  // namespace
}  // namespace crest::autoscale
