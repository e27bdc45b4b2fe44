// Translated plans run by the load engine against the embedded test target: each supported
// element does what JMeter would make it do on the wire.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <utility>

#include "crest/jmeter/jmx_translator.hpp"
#include "crest/load/engine.hpp"
#include "crest/load/plan.hpp"
#include "load_target.hpp"

namespace crest::jmeter {
namespace {

using crest::testing::LoadTarget;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kExamples = CREST_JMETER_EXAMPLES_DIR;

load::RunResult run_jmx(const std::string& file, const LoadTarget& target,
                        const std::string& duration) {
  JmxTranslateOptions options;
  options.absolute_paths = true;
  options.properties = {{"port", std::to_string(target.port())}, {"threads", "2"}};
  auto translated = translate_jmx_file(kExamples + "/" + file, options);
  EXPECT_TRUE(translated.ok()) << (translated.ok() ? "" : translated.error().message);
  load::PlanOverrides overrides;
  overrides.duration = load::parse_duration(duration).value();
  auto plan = load::parse_plan(translated->yaml, file, overrides);
  EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message) << "\n" << translated->yaml;
  load::RunOptions run;
  run.threads = 1;
  return load::run_plan(*plan, run);
}

TEST(JmxEndToEnd, Jmeter213StorefrontPlanDrivesTheTarget) {
  LoadTarget target({});
  const auto r = run_jmx("storefront-jmeter2.jmx", target, "400ms");
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_GT(r.totals.requests(), 12u);
  EXPECT_EQ(r.totals.failures(), 0u) << "every ResponseAssertion (status) held";
  // CSVDataSet: the login bodies carry the feed's e-mails (raw body with ${email}).
  EXPECT_THAT(
      target.seen("body:/api/login"),
      Each(AllOf(StartsWith("{\"email\":\"shopper00"), HasSubstr("\"password\":\"Peak-Season-"))));
  // RegexExtractor -> the token in the HeaderManager's Authorization header.
  EXPECT_THAT(target.seen("authorization"), Each(StartsWith("Bearer tok-shopper00")));
  // ${__UUID()} in a header: a v4 UUID per request.
  const auto keys = target.seen("idempotency-key");
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(keys.front().size(), 36u);
  // The order id extracted by a RegexExtractor is the next path.
  EXPECT_THAT(target.seen("order"), Contains(StartsWith("o-")));
  // CookieManager: the session cookie set by login is sent back.
  EXPECT_THAT(target.seen("cookie"), Contains(StartsWith("session=s")));
  EXPECT_EQ(target.count("/api/login"), target.count("/api/checkout"));
}

}  // namespace
}  // namespace crest::jmeter
