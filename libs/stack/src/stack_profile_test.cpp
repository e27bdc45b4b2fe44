#include "crest/stack/stack_profile.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "crest/stack/dynalite_server.hpp"

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

}  // namespace
}  // namespace crest::stack
