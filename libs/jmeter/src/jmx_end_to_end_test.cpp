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

TEST(JmxEndToEnd, JsonBoundaryRegexExtractorsAndAssertions) {
  LoadTarget target({});
  const auto http = [&](const std::string& name, const std::string& method, const std::string& path,
                        const std::string& children, const std::string& body = "") {
    std::string args;
    if (!body.empty()) {
      args = R"(<boolProp name="HTTPSampler.postBodyRaw">true</boolProp>
<elementProp name="HTTPsampler.Arguments" elementType="Arguments"><collectionProp name="Arguments.arguments">
<elementProp name="" elementType="HTTPArgument"><stringProp name="Argument.value">)" +
             body + "</stringProp></elementProp></collectionProp></elementProp>";
    }
    return R"(<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname=")" + name +
           R"(" enabled="true">)" + args + R"(<stringProp name="HTTPSampler.path">)" + path +
           R"(</stringProp><stringProp name="HTTPSampler.method">)" + method +
           "</stringProp></HTTPSamplerProxy><hashTree>" + children + "</hashTree>";
  };
  const std::string json_extractor =
      R"(<JSONPostProcessor testclass="JSONPostProcessor" testname="j" enabled="true">
<stringProp name="JSONPostProcessor.referenceNames">product_id</stringProp>
<stringProp name="JSONPostProcessor.jsonPathExprs">$.items[0].id</stringProp></JSONPostProcessor><hashTree/>)";
  const std::string boundary =
      R"(<BoundaryExtractor testclass="BoundaryExtractor" testname="b" enabled="true">
<stringProp name="BoundaryExtractor.refname">first_name</stringProp>
<stringProp name="BoundaryExtractor.lboundary">"name":"</stringProp>
<stringProp name="BoundaryExtractor.rboundary">"</stringProp></BoundaryExtractor><hashTree/>)";
  const std::string body_assertion =
      R"(<ResponseAssertion testclass="ResponseAssertion" testname="a" enabled="true">
<collectionProp name="Asserion.test_strings"><stringProp name="1">Product 101</stringProp></collectionProp>
<stringProp name="Assertion.test_field">Assertion.response_data</stringProp><intProp name="Assertion.test_type">16</intProp>
</ResponseAssertion><hashTree/><DurationAssertion testclass="DurationAssertion" testname="d" enabled="true">
<stringProp name="DurationAssertion.duration">5000</stringProp></DurationAssertion><hashTree/>)";
  const std::string regex =
      R"x(<RegexExtractor testclass="RegexExtractor" testname="r" enabled="true">
<stringProp name="RegexExtractor.refname">token</stringProp><stringProp name="RegexExtractor.regex">"token":"([^"]+)"</stringProp>
<stringProp name="RegexExtractor.template">$1$</stringProp></RegexExtractor><hashTree/>)x";
  const std::string bearer =
      R"(<HeaderManager testclass="HeaderManager" testname="h" enabled="true">
<collectionProp name="HeaderManager.headers"><elementProp name="" elementType="Header">
<stringProp name="Header.name">Authorization</stringProp><stringProp name="Header.value">Bearer ${token}</stringProp>
</elementProp></collectionProp></HeaderManager><hashTree/>)";
  const std::string cart_assertion =
      R"(<ResponseAssertion testclass="ResponseAssertion" testname="c" enabled="true">
<collectionProp name="Asserion.test_strings"><stringProp name="1">201</stringProp></collectionProp>
<stringProp name="Assertion.test_field">Assertion.response_code</stringProp><intProp name="Assertion.test_type">8</intProp>
</ResponseAssertion><hashTree/>)";
  const std::string xml =
      R"(<?xml version="1.0"?><jmeterTestPlan version="1.2"><hashTree>
<TestPlan testclass="TestPlan" testname="P" enabled="true"/><hashTree>
<ConfigTestElement guiclass="HttpDefaultsGui" testclass="ConfigTestElement" testname="D" enabled="true">
<stringProp name="HTTPSampler.domain">127.0.0.1</stringProp><stringProp name="HTTPSampler.port">)" +
      std::to_string(target.port()) + R"(</stringProp></ConfigTestElement><hashTree/>
<ThreadGroup testclass="ThreadGroup" testname="TG" enabled="true">
<stringProp name="ThreadGroup.num_threads">1</stringProp><boolProp name="ThreadGroup.scheduler">true</boolProp>
<stringProp name="ThreadGroup.duration">1</stringProp></ThreadGroup><hashTree>)" +
      http("list", "GET", "/api/products?page=${__Random(1,3)}", json_extractor + boundary) +
      http("detail", "GET", "/api/products/${product_id}", body_assertion) +
      http("login", "POST", "/api/login", regex, R"({"email":"${first_name}@example.test"})") +
      http("cart", "POST", "/api/cart/items", bearer + cart_assertion,
           R"({"product_id":${product_id}})") +
      "</hashTree></hashTree></hashTree></jmeterTestPlan>";
  auto translated = translate_jmx(xml, "inline.jmx");
  ASSERT_TRUE(translated.ok()) << translated.error().message;
  load::PlanOverrides overrides;
  overrides.duration = std::chrono::milliseconds(300);
  auto plan = load::parse_plan(translated->yaml, "inline.jmx", overrides);
  ASSERT_TRUE(plan.ok()) << plan.error().message << "\n" << translated->yaml;
  load::RunOptions run;
  run.threads = 1;
  const auto r = load::run_plan(*plan, run);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_GT(r.totals.requests(), 4u);
  EXPECT_EQ(r.totals.failures(), 0u) << translated->yaml;
  EXPECT_GT(target.count("/api/products/101"), 0u) << "JSONPostProcessor: $.items[0].id";
  EXPECT_THAT(target.seen("body:/api/login"), Each(std::string(R"({"email":"Mug@example.test"})")))
      << "BoundaryExtractor: the first name";
  EXPECT_THAT(target.seen("authorization"), Each(std::string("Bearer tok-Mug@example.test")))
      << "RegexExtractor into a HeaderManager";
  EXPECT_THAT(target.seen("body:/api/cart/items"), Each(std::string(R"({"product_id":101})")));
}

}  // namespace
}  // namespace crest::jmeter
