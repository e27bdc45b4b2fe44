#include "crest/jmeter/jmx_translator.hpp"

#include "crest/load/plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

namespace crest::jmeter {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kExamples = CREST_JMETER_EXAMPLES_DIR;

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l + "\n";
  }
  return out;
}

// A plan of one thread group whose tree is `body` (elements and their hashTrees).
std::string plan_with(const std::string& body, const std::string& thread_group_props = "") {
  return R"(<?xml version="1.0"?><jmeterTestPlan version="1.2"><hashTree>
<TestPlan testclass="TestPlan" testname="P" enabled="true"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="TG" enabled="true">
  <stringProp name="ThreadGroup.num_threads">4</stringProp>
  <boolProp name="ThreadGroup.scheduler">true</boolProp>
  <stringProp name="ThreadGroup.duration">30</stringProp>)" +
         thread_group_props + R"(</ThreadGroup><hashTree>)" + body +
         "</hashTree></hashTree></hashTree></jmeterTestPlan>";
}

std::string sampler(const std::string& name, const std::string& path,
                    const std::string& children = "", const std::string& extra = "") {
  return R"(<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname=")" + name +
         R"(" enabled="true"><stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
<stringProp name="HTTPSampler.port">9000</stringProp><stringProp name="HTTPSampler.path">)" +
         path + "</stringProp>" + extra + "</HTTPSamplerProxy><hashTree>" + children +
         "</hashTree>";
}

YAML::Node translate_ok(const std::string& xml, std::vector<std::string>* warnings = nullptr) {
  auto t = translate_jmx(xml, "test.jmx");
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
  if (!t.ok()) {
    return {};
  }
  if (warnings != nullptr) {
    *warnings = t->warnings;
  }
  return YAML::Load(t->yaml);
}

TEST(JmeterExpression, VariablesPropertiesAndFunctions) {
  JmeterVariables vars;
  vars.names = {{"email", "users.email"}, {"token", "token"}};
  std::vector<std::string> problems;
  EXPECT_EQ(translate_expression("a ${email} b ${token}", vars, problems),
            "a {{ users.email }} b {{ token }}");
  EXPECT_EQ(translate_expression("${__P(host,localhost)}:${__property(port,,81)}", vars, problems),
            "{{ host }}:{{ port }}");
  ASSERT_EQ(vars.properties.size(), 2u);
  EXPECT_EQ(vars.properties[0], (std::pair<std::string, std::string>{"host", "localhost"}));
  EXPECT_EQ(vars.properties[1], (std::pair<std::string, std::string>{"port", "81"}));
  EXPECT_EQ(translate_expression("${__Random(1,10)}${__UUID()}${__UUID}${__time()}${__time(,)}",
                                 vars, problems),
            "{{ randint(1, 10) }}{{ uuid() }}{{ uuid() }}{{ timestamp() }}{{ timestamp() }}");
  EXPECT_TRUE(problems.empty()) << joined(problems);
  // Unknown names and functions stay literal, as JMeter sends them, and are reported.
  EXPECT_EQ(translate_expression("${nope}/${__digest(MD5,x)}/${__Random(1,${max})}/${open", vars,
                                 problems),
            "${nope}/${__digest(MD5,x)}/${__Random(1,${max})}/${open");
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_THAT(problems[0], HasSubstr("variable 'nope'"));
  EXPECT_THAT(problems[1], HasSubstr("__digest"));
  EXPECT_THAT(problems[2], HasSubstr("__Random"));
}

TEST(JmxTranslator, StorefrontExampleTranslatesEveryElement) {
  auto t = translate_jmx_file(kExamples + "/storefront-jmeter5.jmx");
  ASSERT_TRUE(t.ok()) << t.error().message;
  const auto plan = YAML::Load(t->yaml);
  EXPECT_EQ(plan["target"]["base_url"].as<std::string>(), "http://127.0.0.1:8080");
  EXPECT_EQ(plan["target"]["timeouts"]["connect"].as<std::string>(), "2s");
  EXPECT_EQ(plan["target"]["timeouts"]["request"].as<std::string>(), "5s");
  EXPECT_TRUE(plan["target"]["cookies"].as<bool>());
  EXPECT_EQ(plan["data"]["users"]["file"].as<std::string>(), "users.csv");
  EXPECT_EQ(plan["variables"]["threads"].as<std::string>(), "10");
  // 10 threads, ramp 5 s, 60 s scheduler duration.
  EXPECT_EQ(plan["load"]["executor"].as<std::string>(), "ramping-vus");
  ASSERT_EQ(plan["load"]["stages"].size(), 2u);
  EXPECT_EQ(plan["load"]["stages"][0]["duration"].as<std::string>(), "5s");
  EXPECT_EQ(plan["load"]["stages"][0]["target"].as<int>(), 10);
  EXPECT_EQ(plan["load"]["stages"][1]["duration"].as<std::string>(), "55s");

  const auto steps = plan["journeys"][0]["steps"];
  ASSERT_EQ(steps.size(), 2u) << t->yaml;
  // Transaction "sign in": register and login; the disabled sampler is gone.
  EXPECT_EQ(steps[0]["group"].as<std::string>(), "sign in");
  const auto sign_in = steps[0]["steps"];
  ASSERT_EQ(sign_in.size(), 2u);
  EXPECT_EQ(sign_in[0]["name"].as<std::string>(), "register");
  EXPECT_EQ(
      sign_in[0]["request"]["body"].as<std::string>(),
      R"({"email":"{{ users.email }}","password":"{{ users.password }}","name":"{{ users.name }}"})");
  EXPECT_EQ(sign_in[0]["request"]["headers"]["Content-Type"].as<std::string>(), "application/json");
  EXPECT_EQ(sign_in[0]["check"]["status"][0].as<int>(), 201);
  EXPECT_EQ(sign_in[0]["check"]["status"][1].as<int>(), 409);
  EXPECT_EQ(sign_in[1]["capture"][0]["json"].as<std::string>(), "$.token");
  EXPECT_EQ(sign_in[1]["check"]["status"][0].as<int>(), 200);
  // If controller: the loop of three and the "buy" transaction under it.
  EXPECT_EQ(steps[1]["if"].as<std::string>(), "{{ token }} != 'NOTFOUND'");
  const auto guarded = steps[1]["steps"];
  ASSERT_EQ(guarded.size(), 2u);
  EXPECT_EQ(guarded[0]["loop"].as<int>(), 3);
  const auto browse = guarded[0]["steps"];
  ASSERT_EQ(browse.size(), 2u);
  EXPECT_EQ(browse[0]["request"]["query"]["page"].as<std::string>(), "{{ randint(1, 5) }}");
  EXPECT_EQ(browse[0]["capture"][0]["regex"].as<std::string>(), R"("id":([\s\S]*?),)");
  EXPECT_EQ(browse[0]["capture"][0]["default"].as<std::string>(), "0");  // the extractor's
  EXPECT_EQ(browse[0]["check"]["body_contains"].as<std::string>(), R"("items")");
  EXPECT_EQ(browse[0]["think"]["uniform"][0].as<std::string>(), "500ms");
  EXPECT_EQ(browse[0]["think"]["uniform"][1].as<std::string>(), "1500ms");
  EXPECT_EQ(browse[1]["request"]["path"].as<std::string>(), "/api/products/{{ product_id }}");
  EXPECT_EQ(browse[1]["check"]["latency_below"].as<std::string>(), "300ms");
  EXPECT_EQ(guarded[1]["group"].as<std::string>(), "buy");
  const auto buy = guarded[1]["steps"];
  ASSERT_EQ(buy.size(), 2u) << "the disabled controller and its sampler are skipped";
  EXPECT_EQ(buy[0]["request"]["headers"]["Authorization"].as<std::string>(), "Bearer {{ token }}");
  EXPECT_EQ(buy[1]["request"]["headers"]["Idempotency-Key"].as<std::string>(), "{{ uuid() }}");
  EXPECT_EQ(buy[1]["capture"][0]["regex"].as<std::string>(), R"("order_id":"?([^",}]+))");
  // Redirects are reported once; nothing else in this plan is unsupported.
  EXPECT_EQ(t->warnings.size(), 1u) << joined(t->warnings);
  EXPECT_THAT(joined(t->warnings), HasSubstr("Storefront/Shoppers/sign in/login: redirects"));
}

TEST(JmxTranslator, CatalogExampleWarnsWithPathsAndStrictFails) {
  const auto copies = fs::temp_directory_path() / "crest_jmx_test_copies";
  fs::create_directories(copies);
  JmxTranslateOptions options;
  options.header_copy_dir = copies.string();
  auto t = translate_jmx_file(kExamples + "/catalog-throughput-jmeter5.jmx", options);
  ASSERT_TRUE(t.ok()) << t.error().message;
  const auto all = joined(t->warnings);
  EXPECT_THAT(all, HasSubstr("Catalogue/Browsers/category page/log ids: unsupported element "
                             "JSR223PostProcessor"));
  EXPECT_THAT(all,
              HasSubstr("Catalogue/Browsers/page through: unsupported element WhileController"));
  const auto plan = YAML::Load(t->yaml);
  // 6000 samples an hour = 100 a minute; two samplers per iteration = 50 iterations a minute.
  EXPECT_EQ(plan["load"]["executor"].as<std::string>(), "constant-arrival-rate");
  EXPECT_DOUBLE_EQ(plan["load"]["rate"].as<double>(), 50);
  EXPECT_EQ(plan["load"]["time_unit"].as<std::string>(), "1m");
  EXPECT_EQ(plan["load"]["duration"].as<std::string>(), "120s");
  EXPECT_EQ(plan["load"]["max_vus"].as<int>(), 20);
  const auto steps = plan["journeys"][0]["steps"];
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0]["request"]["query"]["category"].as<std::string>(), "{{ products.category }}");
  EXPECT_EQ(steps[0]["request"]["query"]["sort"].as<std::string>(), "{{ sort }}");
  EXPECT_EQ(steps[0]["request"]["query"]["t"].as<std::string>(), "{{ timestamp() }}");
  EXPECT_EQ(steps[0]["capture"].size(), 2u);
  EXPECT_EQ(steps[0]["think"]["normal"]["mean"].as<std::string>(), "300ms");
  EXPECT_EQ(steps[0]["think"]["normal"]["stddev"].as<std::string>(), "100ms");
  EXPECT_EQ(steps[1]["request"]["path"].as<std::string>(), "/api/products/{{ first_id }}");
  // The tab-separated file without a header becomes a CSV copy with one.
  const auto copy = plan["data"]["products"]["file"].as<std::string>();
  std::ifstream in(copy);
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  EXPECT_EQ(header, "category,product");
  EXPECT_EQ(first, "mugs,1");
  fs::remove_all(copies);

  options.strict = true;
  auto strict = translate_jmx_file(kExamples + "/catalog-throughput-jmeter5.jmx", options);
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(strict.error().message, HasSubstr("--strict"));
  EXPECT_THAT(strict.error().message, HasSubstr("JSR223PostProcessor"));
}

TEST(JmxTranslator, ResponseAssertionBitmask) {
  auto assertion = [](int type, const std::string& field, const std::string& strings) {
    return R"(<ResponseAssertion testclass="ResponseAssertion" testname="A" enabled="true">
<collectionProp name="Asserion.test_strings">)" +
           strings + R"(</collectionProp><stringProp name="Assertion.test_field">)" + field +
           R"(</stringProp><intProp name="Assertion.test_type">)" + std::to_string(type) +
           "</intProp></ResponseAssertion><hashTree/>";
  };
  const std::string code200 = R"(<stringProp name="1">200</stringProp>)";
  const std::string codes = code200 + R"(<stringProp name="2">302</stringProp>)";
  std::vector<std::string> warnings;
  // EQUALS|OR over two codes: either passes.
  auto plan = translate_ok(
      plan_with(sampler("s", "/", assertion(40, "Assertion.response_code", codes))), &warnings);
  EXPECT_EQ(plan["journeys"][0]["steps"][0]["check"]["status"].size(), 2u);
  // EQUALS (AND) over two different codes can never pass: skipped with a warning.
  plan = translate_ok(plan_with(sampler("s", "/", assertion(8, "Assertion.response_code", codes))),
                      &warnings);
  EXPECT_FALSE(plan["journeys"][0]["steps"][0]["check"]);
  EXPECT_THAT(joined(warnings), HasSubstr("P/TG/s/A: several status codes"));
  // NOT (4) is not supported.
  plan = translate_ok(
      plan_with(sampler("s", "/", assertion(20, "Assertion.response_data", code200))), &warnings);
  EXPECT_FALSE(plan["journeys"][0]["steps"][0]["check"]);
  EXPECT_THAT(joined(warnings), HasSubstr("NOT"));
  // CONTAINS (2) with a regular expression is not a plain substring.
  plan = translate_ok(plan_with(sampler("s", "/",
                                        assertion(2, "Assertion.response_data",
                                                  R"(<stringProp name="1">a.*b</stringProp>)"))),
                      &warnings);
  EXPECT_FALSE(plan["journeys"][0]["steps"][0]["check"]);
  // SUBSTRING (16) of the body.
  plan = translate_ok(plan_with(sampler(
      "s", "/",
      assertion(16, "Assertion.response_data", R"(<stringProp name="1">a.*b</stringProp>)"))));
  EXPECT_EQ(plan["journeys"][0]["steps"][0]["check"]["body_contains"].as<std::string>(), "a.*b");
  // Headers are not supported.
  plan = translate_ok(
      plan_with(sampler("s", "/", assertion(16, "Assertion.response_headers", code200))),
      &warnings);
  EXPECT_THAT(joined(warnings), HasSubstr("Assertion.response_headers are not supported"));
}

TEST(JmxTranslator, ScopingTimersHeadersAndOrigins) {
  const std::string timer = R"(<ConstantTimer testclass="ConstantTimer" testname="T" enabled="true">
<stringProp name="ConstantTimer.delay">250</stringProp></ConstantTimer><hashTree/>)";
  const std::string headers =
      R"(<HeaderManager testclass="HeaderManager" testname="H" enabled="true">
<collectionProp name="HeaderManager.headers"><elementProp name="" elementType="Header">
<stringProp name="Header.name">X-A</stringProp><stringProp name="Header.value">outer</stringProp>
</elementProp></collectionProp></HeaderManager><hashTree/>)";
  const std::string inner_headers =
      R"(<HeaderManager testclass="HeaderManager" testname="H2" enabled="true">
<collectionProp name="HeaderManager.headers"><elementProp name="" elementType="Header">
<stringProp name="Header.name">X-A</stringProp><stringProp name="Header.value">inner</stringProp>
</elementProp></collectionProp></HeaderManager><hashTree/>)";
  const std::string other_host =
      R"(<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="other" enabled="true">
<stringProp name="HTTPSampler.domain">127.0.0.2</stringProp><stringProp name="HTTPSampler.port">81</stringProp>
<stringProp name="HTTPSampler.path">/x</stringProp></HTTPSamplerProxy><hashTree/>)";
  const auto plan = translate_ok(plan_with(
      timer + headers + sampler("a", "/a") + sampler("b", "b", inner_headers) + other_host,
      R"(<stringProp name="ThreadGroup.ramp_time">0</stringProp>)"));
  EXPECT_EQ(plan["target"]["base_url"].as<std::string>(), "http://127.0.0.1:9000");
  EXPECT_FALSE(plan["target"]["cookies"].as<bool>()) << "no cookie manager: no cookies";
  EXPECT_EQ(plan["load"]["executor"].as<std::string>(), "constant-vus");
  EXPECT_EQ(plan["load"]["vus"].as<int>(), 4);
  EXPECT_EQ(plan["load"]["duration"].as<std::string>(), "30s");
  const auto steps = plan["journeys"][0]["steps"];
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0]["think"].as<std::string>(), "250ms");
  EXPECT_EQ(steps[0]["request"]["headers"]["X-A"].as<std::string>(), "outer");
  EXPECT_EQ(steps[1]["request"]["path"].as<std::string>(), "/b");
  EXPECT_EQ(steps[1]["request"]["headers"]["X-A"].as<std::string>(), "inner");
  EXPECT_EQ(steps[2]["request"]["url"].as<std::string>(), "http://127.0.0.2:81/x");
}

TEST(JmxTranslator, FormBodiesDelayAndDisabledThreadGroups) {
  const std::string form_args =
      R"(<elementProp name="HTTPsampler.Arguments" elementType="Arguments">
<collectionProp name="Arguments.arguments"><elementProp name="q" elementType="HTTPArgument">
<stringProp name="Argument.name">q</stringProp><stringProp name="Argument.value">a b</stringProp>
</elementProp></collectionProp></elementProp><stringProp name="HTTPSampler.method">POST</stringProp>)";
  auto xml = plan_with(sampler("post", "/f", "", form_args),
                       R"(<stringProp name="ThreadGroup.ramp_time">10</stringProp>
<stringProp name="ThreadGroup.delay">5</stringProp>)");
  // A second, disabled thread group is not translated.
  xml.insert(xml.rfind("</hashTree></hashTree></jmeterTestPlan>"),
             R"(<ThreadGroup testclass="ThreadGroup" testname="off" enabled="false"/><hashTree>)" +
                 sampler("never", "/never") + "</hashTree>");
  const auto plan = translate_ok(xml);
  EXPECT_EQ(plan["journeys"].size(), 1u);
  EXPECT_EQ(plan["journeys"][0]["steps"][0]["request"]["form"]["q"].as<std::string>(), "a b");
  // delay 5 s (no VUs), ramp 10 s, then the rest of the 30 s.
  const auto stages = plan["load"]["stages"];
  ASSERT_EQ(stages.size(), 3u);
  EXPECT_EQ(stages[0]["duration"].as<std::string>(), "5s");
  EXPECT_EQ(stages[0]["target"].as<int>(), 0);
  EXPECT_EQ(stages[1]["duration"].as<std::string>(), "10s");
  EXPECT_EQ(stages[2]["duration"].as<std::string>(), "20s");
}

TEST(JmxTranslator, LoopCountsThreadGroupsAndConditions) {
  const auto loops = [](const std::string& count) {
    return R"(<elementProp name="ThreadGroup.main_controller" elementType="LoopController">
<stringProp name="LoopController.loops">)" +
           count + "</stringProp></elementProp>";
  };
  const auto without_scheduler = [](std::string xml) {
    const std::string on = R"(<boolProp name="ThreadGroup.scheduler">true</boolProp>)";
    return xml.replace(xml.find(on), on.size(), "");
  };
  // A loop count and no scheduler: each thread runs that many iterations.
  auto plan = translate_ok(without_scheduler(plan_with(sampler("s", "/"), loops("5"))));
  EXPECT_EQ(plan["load"]["executor"].as<std::string>(), "per-vu-iterations");
  EXPECT_EQ(plan["load"]["vus"].as<int>(), 4);
  EXPECT_EQ(plan["load"]["iterations"].as<int>(), 5);
  // Two thread groups: two scenarios at once, each with its journey; the delay is start_time.
  auto xml = plan_with(sampler("a", "/a"));
  xml.insert(xml.rfind("</hashTree></hashTree></jmeterTestPlan>"),
             R"(<ThreadGroup testclass="ThreadGroup" testname="Second group" enabled="true">
<stringProp name="ThreadGroup.num_threads">2</stringProp><boolProp name="ThreadGroup.scheduler">true</boolProp>
<stringProp name="ThreadGroup.duration">10</stringProp><stringProp name="ThreadGroup.delay">3</stringProp>
</ThreadGroup><hashTree>)" +
                 sampler("b", "/b") + "</hashTree>");
  plan = translate_ok(xml);
  EXPECT_FALSE(plan["load"]);
  ASSERT_EQ(plan["scenarios"].size(), 2u);
  EXPECT_EQ(plan["scenarios"]["TG"]["executor"].as<std::string>(), "constant-vus");
  EXPECT_EQ(plan["scenarios"]["TG"]["journeys"][0].as<std::string>(), "TG");
  EXPECT_EQ(plan["scenarios"]["Second_group"]["vus"].as<int>(), 2);
  EXPECT_EQ(plan["scenarios"]["Second_group"]["start_time"].as<std::string>(), "3s");
  EXPECT_EQ(plan["scenarios"]["Second_group"]["journeys"][0].as<std::string>(), "Second group");
  // If conditions: comparisons, a literal on the left, numbers bare; a loop count property.
  const auto extractor = R"(<RegexExtractor testclass="RegexExtractor" testname="x" enabled="true">
<stringProp name="RegexExtractor.refname">n</stringProp><stringProp name="RegexExtractor.regex">(\d+)</stringProp>
</RegexExtractor><hashTree/>)";
  const auto if_controller = [](const std::string& condition) {
    return R"(<IfController testclass="IfController" testname="if" enabled="true">
<stringProp name="IfController.condition">)" +
           condition + "</stringProp></IfController><hashTree>" + sampler("inner", "/i") +
           "</hashTree>";
  };
  const std::string loop_controller =
      R"(<LoopController testclass="LoopController" testname="L" enabled="true">
<stringProp name="LoopController.loops">${__P(pages,2)}</stringProp></LoopController><hashTree>)" +
      sampler("page", "/p") + "</hashTree>";
  std::vector<std::string> warnings;
  plan = translate_ok(
      plan_with(sampler("first", "/", extractor) + if_controller("${__jexl3(${n} &gt; 3)}") +
                if_controller("10 &lt;= ${n}") + if_controller("${__groovy(vars.get('n'))}") +
                loop_controller),
      &warnings);
  const auto steps = plan["journeys"][0]["steps"];
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_EQ(steps[1]["if"].as<std::string>(), "{{ n }} > 3");
  EXPECT_EQ(steps[2]["if"].as<std::string>(), "{{ n }} >= 10");
  EXPECT_FALSE(steps[3]["if"]) << "not a simple condition: the step runs, with a warning";
  EXPECT_THAT(joined(warnings), HasSubstr("P/TG/if: condition"));
  EXPECT_EQ(steps[4]["loop"].as<std::string>(), "{{ pages }}");
  EXPECT_EQ(plan["variables"]["pages"].as<std::string>(), "2");
}

// setUp and tearDown Thread Groups become the plan's setup: and teardown: (one VU, once),
// with a warning when their threads or loops say more.
TEST(JmxTranslator, SetupAndTeardownThreadGroups) {
  auto xml = plan_with(sampler("load", "/l"));
  const auto phase = [](const std::string& tag, const std::string& threads,
                        const std::string& body) {
    return "<" + tag + R"( testclass=")" + tag + R"(" testname="phase" enabled="true">
<stringProp name="ThreadGroup.num_threads">)" +
           threads + "</stringProp></" + tag + "><hashTree>" + body + "</hashTree>";
  };
  const auto at = xml.rfind("</hashTree></hashTree></jmeterTestPlan>");
  xml.insert(at, phase("PostThreadGroup", "1", sampler("bye", "/bye")));
  xml.insert(at, phase("SetupThreadGroup", "3", sampler("hello", "/hello")));
  std::vector<std::string> warnings;
  const auto plan = translate_ok(xml, &warnings);
  ASSERT_TRUE(plan["setup"]) << YAML::Dump(plan);
  EXPECT_EQ(plan["setup"]["steps"][0]["name"].as<std::string>(), "hello");
  EXPECT_EQ(plan["teardown"]["steps"][0]["name"].as<std::string>(), "bye");
  EXPECT_EQ(plan["journeys"].size(), 1u);  // the load's thread group only
  EXPECT_TRUE(plan["load"]);
  EXPECT_THAT(warnings, ::testing::Contains(::testing::HasSubstr(
                            "setUp Thread Group: crest runs it once, by one VU")));
  auto parsed = crest::load::parse_plan(YAML::Dump(plan), "translated.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_GE(parsed->setup, 0);
  EXPECT_GE(parsed->teardown, 0);
}

TEST(JmxTranslator, BadInputIsAClearError) {
  auto t = translate_jmx("<jmeterTestPlan><hashTree>", "broken.jmx");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.error().message, HasSubstr("broken.jmx: not a JMeter test plan: XML error"));
  t = translate_jmx("<html/>", "page.jmx");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.error().message, HasSubstr("no <jmeterTestPlan> root"));
  t = translate_jmx(plan_with(""), "empty.jmx");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.error().message, HasSubstr("no enabled ThreadGroup"));
  t = translate_jmx_file("/nonexistent/plan.jmx");
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.error().message, HasSubstr("cannot read /nonexistent/plan.jmx"));
}

}  // namespace
}  // namespace crest::jmeter
