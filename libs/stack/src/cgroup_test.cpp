#include "crest/stack/cgroup.hpp"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace crest::stack {
namespace {

TEST(Quantities, KubernetesMemoryAndCpu) {
  EXPECT_EQ(*parse_memory_quantity("512Mi"), 512LL << 20);
  EXPECT_EQ(*parse_memory_quantity("1Gi"), 1LL << 30);
  EXPECT_EQ(*parse_memory_quantity("100M"), 100'000'000);
  EXPECT_EQ(*parse_memory_quantity("4096"), 4096);
  EXPECT_FALSE(parse_memory_quantity("lots").ok());
  EXPECT_FALSE(parse_memory_quantity("Mi").ok());
  EXPECT_DOUBLE_EQ(*parse_cpu_quantity("500m"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_cpu_quantity("2"), 2.0);
  EXPECT_DOUBLE_EQ(*parse_cpu_quantity("0.25"), 0.25);
  EXPECT_FALSE(parse_cpu_quantity("-1").ok());
  EXPECT_FALSE(parse_cpu_quantity("m").ok());
}

TEST(CgroupTree, MissingHierarchyDisablesWithAReason) {
  const auto root = std::filesystem::temp_directory_path() / "crest_no_cgroups";
  std::filesystem::create_directories(root);
  auto tree = CgroupTree::create("t", root);
  EXPECT_FALSE(tree.available());
  EXPECT_FALSE(tree.reason().empty());
  EXPECT_TRUE(tree.make_group("x", {0.5, 1 << 20}).ok());  // a no-op
  EXPECT_TRUE(tree.procs_files("x").empty());
}

// The real hierarchy where this machine has it (root, cgroup v1): a group limits and accounts.
TEST(CgroupTree, LimitsAndAccountsARealGroup) {
  auto tree = CgroupTree::create("crest-cgroup-test-" + std::to_string(::getpid()));
  if (!tree.available()) GTEST_SKIP() << tree.reason();
  ASSERT_TRUE(tree.make_group("node-1", {0.5, 0}).ok());
  ASSERT_TRUE(tree.make_group("node-1/pod", {0.25, 64LL << 20}).ok());
  EXPECT_EQ(tree.procs_files("node-1/pod").size(), 3u);
  const auto usage = tree.usage("node-1/pod");
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->cpu_seconds, 0);
  tree.remove_all();
  EXPECT_FALSE(std::filesystem::exists(tree.cpu_path()));
}

}  // namespace
}  // namespace crest::stack
