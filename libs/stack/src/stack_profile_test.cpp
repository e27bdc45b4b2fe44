#include "crest/stack/stack_profile.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "crest/stack/dynalite_server.hpp"
#include "crest/stack/local_platform.hpp"

namespace crest::stack {
namespace {

std::string write_profile(const std::string& name, const std::string& text) {
  const auto path =
      std::filesystem::temp_directory_path() / ("crest_profile_test_" + name + ".yaml");
  std::ofstream(path) << text;
  return path.string();
}

TEST(StackProfile, ShippedProfilesLoadAndDifferInArchitectureNotInstanceLimits) {
  const auto baseline_file = find_profile(default_repo_root(), "baseline");
  const auto scaled_file = find_profile(default_repo_root(), "scaled");
  ASSERT_TRUE(baseline_file.ok()) << baseline_file.error().message;
  ASSERT_TRUE(scaled_file.ok()) << scaled_file.error().message;
  const auto baseline = load_stack_profile(*baseline_file, {});
  const auto scaled = load_stack_profile(*scaled_file, {});
  EXPECT_EQ(baseline.storefront.at("reads"), "primary");
  EXPECT_EQ(baseline.storefront.at("cache"), "off");
  EXPECT_EQ(baseline.storefront.at("checkout"), "sync");
  EXPECT_FALSE(baseline.autoscaler);
  EXPECT_EQ(scaled.storefront.at("reads"), "replicas");
  EXPECT_EQ(scaled.storefront.at("cache"), "redis");
  EXPECT_TRUE(scaled.autoscaler);
  // DynamoDB calls are retried as AWS SDKs retry them, in both profiles.
  EXPECT_EQ(scaled.storefront.at("dynamodb.max_attempts"), "8");
  EXPECT_EQ(baseline.storefront.at("dynamodb.retry_base"), "25ms");
  // The same component gets the same limits in both profiles.
  EXPECT_EQ(baseline.mariadb_limits.cpu_cores, scaled.mariadb_limits.cpu_cores);
  for (const auto& service : storefront_services()) {
    EXPECT_EQ(baseline.service(service)->limits.cpu_cores,
              scaled.service(service)->limits.cpu_cores)
        << service;
    EXPECT_EQ(baseline.service(service)->limits.memory_bytes,
              scaled.service(service)->limits.memory_bytes)
        << service;
  }
}

TEST(StackProfile, SetOverridesTheFile) {
  const auto file = write_profile("set", "name: t\nservices:\n  catalog: {instances: 2, max: 3}\n");
  const auto p =
      load_stack_profile(file, {"services.catalog.instances=3", "storefront.cache=memory"});
  EXPECT_EQ(p.service("catalog")->instances, 3);
  EXPECT_EQ(p.storefront.at("cache"), "memory");
  EXPECT_DOUBLE_EQ(p.service("catalog")->limits.cpu_cores, 0.5);
  EXPECT_EQ(p.service("catalog")->limits.memory_bytes, 256LL << 20);
}

TEST(StackProfile, UnknownKeyIsAnErrorNamingFileLineAndKey) {
  const auto file = write_profile("unknown", "name: t\nservices:\n  catalog: {instancs: 2}\n");
  try {
    (void)load_stack_profile(file, {});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("services.catalog.instancs"), std::string::npos) << message;
    EXPECT_NE(message.find(file), std::string::npos) << message;
    EXPECT_NE(message.find(":3"), std::string::npos) << message;
  }
}

TEST(StackProfile, InconsistentValuesAreErrors) {
  EXPECT_THROW((void)load_stack_profile(
                   write_profile("minmax", "services:\n  catalog: {min: 3, max: 2}\n"), {}),
               ConfigError);
  EXPECT_THROW(
      (void)load_stack_profile(write_profile("cpu", "services:\n  catalog: {cpu: lots}\n"), {}),
      ConfigError);
  EXPECT_THROW(
      (void)load_stack_profile(
          write_profile("redis", "redis: {enabled: false}\nstorefront: {cache: redis}\n"), {}),
      ConfigError);
  EXPECT_THROW(
      (void)load_stack_profile(
          write_profile("slots", "haproxy: {slots: 2}\nservices:\n  catalog: {max: 3}\n"), {}),
      ConfigError);
}

TEST(StackProfile, UnknownProfileNameListsTheKnownOnes) {
  const auto found = find_profile(default_repo_root(), "nonesuch");
  ASSERT_FALSE(found.ok());
  EXPECT_NE(found.error().message.find("baseline"), std::string::npos) << found.error().message;
}

// Which wins: a key the profile sets (file or --set) over the Deployment's resources, and those
// over the schema's defaults.
TEST(StackProfile, ManifestResourcesFillWhatTheProfileLeavesUnset) {
  auto profile =
      load_stack_profile(write_profile("resources", "services:\n  catalog: {cpu: 250m}\n"),
                         {"services.cart.memory=1Gi"});
  std::map<std::string, autoscale::WorkloadResources> workloads;
  workloads["catalog"] = {0.5, 256.0 * (1 << 20), 2.0, 512.0 * (1 << 20), 3};
  workloads["cart"] = {0.25, 0, 1.0, 512.0 * (1 << 20), 1};  // no memory request in the manifest
  const double default_memory_request =
      static_cast<double>(profile.service("cart")->memory_request_bytes);
  const auto lines = apply_workload_resources(profile, workloads);
  const auto* catalog = profile.service("catalog");
  EXPECT_DOUBLE_EQ(catalog->limits.cpu_cores, 0.25);     // the profile's
  EXPECT_EQ(catalog->limits.memory_bytes, 512LL << 20);  // the manifest's
  EXPECT_DOUBLE_EQ(catalog->cpu_request, 0.5);
  EXPECT_EQ(catalog->memory_request_bytes, 256LL << 20);
  const auto* cart = profile.service("cart");
  EXPECT_EQ(cart->limits.memory_bytes, 1LL << 30);  // --set
  EXPECT_DOUBLE_EQ(cart->limits.cpu_cores, 1.0);
  EXPECT_DOUBLE_EQ(static_cast<double>(cart->memory_request_bytes), default_memory_request);
  const auto* users = profile.service("users");  // no Deployment given: the defaults
  EXPECT_DOUBLE_EQ(users->limits.cpu_cores, 0.5);
  ASSERT_EQ(lines.size(), storefront_services().size());
  EXPECT_NE(lines[1].find("catalog: requests 500m cpu, 256Mi; limits 250m cpu, 512Mi"),
            std::string::npos)
      << lines[1];
  EXPECT_NE(lines[1].find("; from the profile: cpu limit)"), std::string::npos) << lines[1];
}

// The shipped profiles take their shapes from the local overlay, the same for both.
TEST(StackProfile, LocalOverlayGivesTheShippedProfilesTheirShapes) {
  if (!require_program("kubectl").ok()) GTEST_SKIP() << "kubectl missing";
  auto manifests = autoscale::read_kustomize_overlay(
      (std::filesystem::path(default_repo_root()) / "deploy/k8s/overlays/local").string());
  ASSERT_TRUE(manifests.ok()) << manifests.error().message;
  for (const char* name : {"baseline", "scaled"}) {
    auto profile = load_stack_profile(*find_profile(default_repo_root(), name), {});
    (void)apply_workload_resources(profile, manifests->workloads);
    for (const auto& service : storefront_services()) {
      const auto* s = profile.service(service);
      EXPECT_DOUBLE_EQ(s->cpu_request, 0.125) << name << " " << service;
      EXPECT_DOUBLE_EQ(s->limits.cpu_cores, 0.5) << name << " " << service;
      EXPECT_EQ(s->limits.memory_bytes, 256LL << 20) << name << " " << service;
      EXPECT_EQ(s->memory_request_bytes, 128LL << 20) << name << " " << service;
    }
  }
}

}  // namespace
}  // namespace crest::stack
