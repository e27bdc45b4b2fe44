// Every shipped plan (examples/plans/*.yaml), run briefly against the embedded storefront
// (`storefront all`, started here on a free loopback port): each must hold its own thresholds.
// The plans' stages are compressed to a few seconds and their rates capped, so the test checks
// what the plans ask of a correct storefront, not the machine's capacity.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "crest/load/engine.hpp"
#include "crest/load/outputs.hpp"
#include "crest/load/plan.hpp"
#include "crest/load/threshold.hpp"
#include "storefront_process.hpp"

namespace crest::load {
namespace {

using crest::testing::StorefrontProcess;
using namespace std::chrono_literals;

const std::vector<std::string> kStorefrontArgs = {
    "all", "--seed", "--users",           "0",     "--products",
    "200", "--set",  "auth.argon2_ops=1", "--set", "auth.argon2_memory_kib=64"};

std::vector<std::string> shipped_plans() {
  std::vector<std::string> plans;
  for (const auto& entry : std::filesystem::directory_iterator(CREST_EXAMPLES_DIR)) {
    if (entry.path().extension() == ".yaml") {
      plans.push_back(entry.path().string());
    }
  }
  std::sort(plans.begin(), plans.end());
  return plans;
}

// A few seconds of the plan's shape: stages scaled to `total`, rates and VUs capped.
void compress(LoadSpec& load, Duration total, double max_rate, int max_vus) {
  if (!load.stages.empty()) {
    const auto whole = load.total_duration();
    for (auto& stage : load.stages) {
      stage.duration = Duration(static_cast<std::int64_t>(
          static_cast<double>(stage.duration.count()) * static_cast<double>(total.count()) /
          static_cast<double>(whole.count())));
      stage.target = std::min(stage.target, load.is_open_model() ? max_rate : max_vus);
    }
  } else {
    load.duration = std::min(load.duration, total);
  }
  load.rate = std::min(load.rate, max_rate);
  load.start_rate = std::min(load.start_rate, max_rate);
  load.vus = std::min(load.vus, max_vus);
  load.max_vus = std::min(load.max_vus, 100);
  load.pre_allocated_vus = std::min(load.pre_allocated_vus, load.max_vus);
  load.threads = 1;
}

struct Outcome {
  RunResult result;
  std::vector<ThresholdResult> thresholds;
  std::string summary;
};

Outcome run_briefly(const std::string& file, std::uint16_t port) {
  PlanOverrides overrides;
  overrides.target = "http://127.0.0.1:" + std::to_string(port);
  auto plan = load_plan(file, overrides);
  EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message);
  if (!plan.ok()) {
    return {};
  }
  for (auto& scenario : plan->scenarios) {
    compress(scenario.load, 3s, 10, 5);
    scenario.start_time = std::min<Duration>(scenario.start_time, 1s);
  }
  plan->load.threads = 1;
  RunOptions options;
  options.threads = 1;
  Outcome out;
  out.result = run_plan(*plan, options);
  out.thresholds = evaluate_thresholds(*plan, out.result.totals, out.result.elapsed_s);
  out.summary = format_summary(*plan, out.result, out.thresholds);
  return out;
}

std::uint64_t requests_of(const Outcome& out, const std::string& file, const std::string& step) {
  auto plan = load_plan(file);
  const auto& names = plan->step_names;
  const auto it = std::find(names.begin(), names.end(), step);
  return it == names.end()
             ? 0
             : out.result.totals.steps[static_cast<std::size_t>(it - names.begin())].requests;
}

void expect_thresholds_hold(const Outcome& out, const std::string& file) {
  ASSERT_TRUE(out.result.error.empty()) << file << ": " << out.result.error;
  EXPECT_GT(out.result.totals.requests(), 0u) << file;
  for (const auto& t : out.thresholds) {
    EXPECT_TRUE(t.passed) << file << ": " << t.threshold->source << " " << t.condition->text << " ("
                          << t.shown << ")\n"
                          << out.summary;
  }
}

TEST(ShippedPlans, EveryPlanHoldsItsThresholdsAgainstTheStorefront) {
  StorefrontProcess storefront(kStorefrontArgs);
  const auto plans = shipped_plans();
  ASSERT_GE(plans.size(), 5u);
  for (const auto& file : plans) {
    SCOPED_TRACE(file);
    const auto out = run_briefly(file, storefront.port());
    expect_thresholds_hold(out, file);
    if (file.find("storefront") != std::string::npos) {
      // The shoppers got as far as paying, and the order they were given exists.
      EXPECT_GT(requests_of(out, file, "checkout"), 0u) << out.summary;
      EXPECT_GT(requests_of(out, file, "order status"), 0u) << out.summary;
    }
  }
  EXPECT_EQ(storefront.stop(), 0) << storefront.log();
}

// `crest up` puts HAProxy in front, which routes the /api/ prefixes only (a /healthz through it is
// HAProxy's 404): every request of a shipped plan to its target must be under /api/.
TEST(ShippedPlans, EveryRequestIsOnARouteTheLoadBalancerServes) {
  for (const auto& file : shipped_plans()) {
    auto plan = load_plan(file);
    ASSERT_TRUE(plan.ok()) << plan.error().message;
    std::vector<std::string> values(plan->vars.size());
    Rng rng(1);
    const RenderContext context{values, rng, 1, 1};
    for (const auto& journey : plan->journeys) {
      for (const auto& step : journey.steps) {
        if (step.origin == 0) {
          EXPECT_EQ(step.target.render(context).rfind("/api/", 0), 0u)
              << file << ": step '" << step.name << "' is not under /api/";
        }
      }
    }
  }
}

TEST(ShippedPlans, TheStorefrontPlanAcceptsSynchronousCheckout) {
  auto args = kStorefrontArgs;
  args.insert(args.end(), {"--set", "checkout=sync"});
  StorefrontProcess storefront(args);
  const std::string file = std::string(CREST_EXAMPLES_DIR) + "/storefront-demo.yaml";
  const auto out = run_briefly(file, storefront.port());
  expect_thresholds_hold(out, file);
  EXPECT_GT(requests_of(out, file, "checkout"), 0u) << out.summary;
  EXPECT_EQ(storefront.stop(), 0) << storefront.log();
}

}  // namespace
}  // namespace crest::load
