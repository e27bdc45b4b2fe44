// The JMeter plans in examples/jmeter/, translated (libs/jmeter) and run briefly by the load engine
// against the embedded storefront (`storefront all` on a free loopback port): their controllers
// (If, Loop, Transaction) become the plan's blocks and run, and their assertions hold.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "crest/jmeter/jmx_translator.hpp"
#include "crest/load/engine.hpp"
#include "crest/load/outputs.hpp"
#include "crest/load/plan.hpp"
#include "crest/load/threshold.hpp"
#include "storefront_process.hpp"

namespace crest::load {
namespace {

using crest::testing::StorefrontProcess;

struct Translated {
  Plan plan;
  std::string yaml;
};

std::optional<Translated> translate(const std::string& file, std::uint16_t port) {
  jmeter::JmxTranslateOptions options;
  options.absolute_paths = true;
  options.header_copy_dir = ::testing::TempDir();
  options.properties = {{"host", "127.0.0.1"}, {"port", std::to_string(port)}, {"threads", "2"}};
  auto translated = jmeter::translate_jmx_file(file, options);
  EXPECT_TRUE(translated.ok()) << (translated.ok() ? "" : translated.error().message);
  if (!translated.ok()) {
    return std::nullopt;
  }
  auto plan = parse_plan(translated->yaml, file);
  if (!plan.ok()) {
    ADD_FAILURE() << plan.error().message << "\n" << translated->yaml;
    return std::nullopt;
  }
  // A few seconds of its shape, every scenario's; start times within the first second.
  const Duration total = std::chrono::seconds(3);
  for (auto& scenario : plan->scenarios) {
    auto& load = scenario.load;
    if (!load.stages.empty()) {
      const auto whole = static_cast<double>(load.total_duration().count());
      for (auto& stage : load.stages) {
        stage.duration =
            Duration(static_cast<std::int64_t>(static_cast<double>(stage.duration.count()) *
                                               static_cast<double>(total.count()) / whole));
      }
    } else {
      load.duration = std::min(load.duration, total);
    }
    scenario.start_time = std::min<Duration>(scenario.start_time, std::chrono::seconds(1));
  }
  plan->load = plan->scenarios.front().load;
  return Translated{std::move(plan.value()), translated->yaml};
}

std::uint64_t requests_of(const Plan& plan, const RunResult& r, const std::string& step) {
  const auto it = std::find(plan.step_names.begin(), plan.step_names.end(), step);
  return it == plan.step_names.end()
             ? 0
             : r.totals.steps[static_cast<std::size_t>(it - plan.step_names.begin())].requests;
}

TEST(TranslatedPlans, Jmeter5StorefrontPlanRunsItsControllersAgainstTheStorefront) {
  StorefrontProcess storefront({"all", "--seed", "--users", "0", "--products", "200", "--set",
                                "auth.argon2_ops=1", "--set", "auth.argon2_memory_kib=64"});
  const auto t = translate(std::string(CREST_JMETER_EXAMPLES_DIR) + "/storefront-jmeter5.jmx",
                           storefront.port());
  ASSERT_TRUE(t.has_value());
  // The controllers became blocks of the plan format, not flattened steps.
  EXPECT_NE(t->yaml.find("group: sign in"), std::string::npos) << t->yaml;
  EXPECT_NE(t->yaml.find("loop:"), std::string::npos) << t->yaml;
  EXPECT_NE(t->yaml.find("if:"), std::string::npos) << t->yaml;
  auto plan = t->plan;
  RunOptions options;
  options.threads = 1;
  const auto r = run_plan(plan, options);
  ASSERT_TRUE(r.error.empty()) << r.error;
  const auto thresholds = evaluate_thresholds(plan, r.totals, r.elapsed_s);
  const auto summary = format_summary(plan, r, thresholds);
  EXPECT_EQ(r.totals.failures(), 0u) << "every assertion held\n" << summary;
  EXPECT_GT(requests_of(plan, r, "checkout"), 0u) << summary;
  // "browse three pages" is a Loop Controller of 3 (a list and a detail each) inside the If.
  const auto lists = requests_of(plan, r, "list products");
  EXPECT_EQ(lists, requests_of(plan, r, "product detail")) << summary;
  EXPECT_EQ(lists % 3, 0u) << summary;
  EXPECT_GT(lists, 0u) << summary;
  ASSERT_FALSE(plan.groups.empty());
  EXPECT_GT(r.totals.groups[0].count(), 0u) << "the transaction recorded its own samples";
  EXPECT_EQ(storefront.stop(), 0) << storefront.log();
}

// Several Thread Groups run at once, each a scenario with its executor; the setUp and tearDown
// Thread Groups are the plan's setup: and teardown:, once each, before and after.
TEST(TranslatedPlans, SeveralThreadGroupsRunAsScenariosWithSetupAndTeardown) {
  StorefrontProcess storefront({"all", "--seed", "--users", "0", "--products", "200", "--set",
                                "auth.argon2_ops=1", "--set", "auth.argon2_memory_kib=64"});
  const auto t = translate(std::string(CREST_JMETER_EXAMPLES_DIR) + "/peak-mix-jmeter5.jmx",
                           storefront.port());
  ASSERT_TRUE(t.has_value());
  const auto& plan = t->plan;
  ASSERT_EQ(plan.scenarios.size(), 3u) << t->yaml;
  EXPECT_EQ(plan.scenarios[0].name, "Browsers");
  EXPECT_EQ(plan.scenarios[0].load.executor, Executor::constant_vus);
  EXPECT_EQ(plan.scenarios[1].load.executor, Executor::per_vu_iterations);
  EXPECT_EQ(plan.scenarios[1].load.iterations, 4);
  EXPECT_EQ(plan.scenarios[2].load.executor, Executor::constant_vus);
  EXPECT_EQ(plan.scenarios[2].start_time, std::chrono::seconds(1));  // 5 s, compressed
  EXPECT_GE(plan.setup, 0) << t->yaml;
  EXPECT_GE(plan.teardown, 0) << t->yaml;
  RunOptions options;
  options.threads = 1;
  const auto r = run_plan(plan, options);
  ASSERT_TRUE(r.error.empty()) << r.error;
  const auto summary = format_summary(plan, r, evaluate_thresholds(plan, r.totals, r.elapsed_s));
  EXPECT_EQ(r.totals.failures(), 0u) << summary;
  EXPECT_EQ(requests_of(plan, r, "first page"), 1u) << summary;
  EXPECT_EQ(requests_of(plan, r, "last look"), 1u) << summary;
  EXPECT_EQ(requests_of(plan, r, "search"), 8u) << summary;  // 2 threads x 4 loops
  EXPECT_EQ(r.totals.scenarios[1].iterations.iterations, 8u) << summary;
  EXPECT_GT(requests_of(plan, r, "product"), 0u) << "the setup's capture reached the browsers";
  EXPECT_GT(r.totals.scenarios[2].requests.requests, 0u) << summary;
  EXPECT_EQ(storefront.stop(), 0) << storefront.log();
}

TEST(TranslatedPlans, EveryExamplePlanTranslatesToAPlanTheEngineAccepts) {
  for (const auto& entry : std::filesystem::directory_iterator(CREST_JMETER_EXAMPLES_DIR)) {
    if (entry.path().extension() != ".jmx") {
      continue;
    }
    SCOPED_TRACE(entry.path().string());
    EXPECT_TRUE(translate(entry.path().string(), 8080).has_value());
  }
}

}  // namespace
}  // namespace crest::load
