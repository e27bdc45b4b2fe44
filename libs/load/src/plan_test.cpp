#include "crest/load/plan.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

namespace crest::load {
namespace {

using ::testing::HasSubstr;

const char* kMinimal = R"(target: http://127.0.0.1:8080
journeys:
  - name: browse
    steps:
      - request: {method: GET, path: /hello}
load: {executor: constant-vus, vus: 2, duration: 1s}
)";

Plan parse_ok(const std::string& yaml, const PlanOverrides& o = {}) {
  auto p = parse_plan(yaml, "plan.yaml", o);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? std::move(p.value()) : Plan{};
}

// Every error names file:line:column and what was expected.
void expect_error(const std::string& yaml, const std::string& where, const std::string& what,
                  const PlanOverrides& o = {}) {
  auto p = parse_plan(yaml, "plan.yaml", o);
  ASSERT_FALSE(p.ok()) << "expected an error containing: " << what;
  EXPECT_THAT(p.error().message, HasSubstr(where));
  EXPECT_THAT(p.error().message, HasSubstr(what));
}

std::string with_load(const std::string& load) {
  return std::string(R"(target: http://127.0.0.1:8080
journeys:
  - steps:
      - request: {path: /}
load: )") +
         load + "\n";
}

TEST(Plan, MinimalPlan) {
  const auto p = parse_ok(kMinimal);
  EXPECT_EQ(p.target.host, "127.0.0.1");
  EXPECT_EQ(p.target.port, 8080);
  ASSERT_EQ(p.journeys.size(), 1u);
  EXPECT_EQ(p.journeys[0].steps[0].name, "GET /hello");
  EXPECT_EQ(p.load.executor, Executor::constant_vus);
  EXPECT_EQ(p.load.vus, 2);
  EXPECT_EQ(p.load.duration, std::chrono::seconds(1));
}

TEST(Plan, FullPlanParses) {
  const char* yaml = R"(target:
  base_url: https://shop.local:8443
  headers: {Accept: application/json}
  timeouts: {connect: 2s, request: 500ms}
  tls: {insecure: true}
  cookies: false
variables:
  category: mugs
journeys:
  - name: shopper
    weight: 3
    steps:
      - name: login
        request:
          method: POST
          path: /api/login
          json: {email: "u{{ vu }}@x.test", password: secret, remember: true, tries: 3, note: null}
        capture:
          - {name: token, json: $.token}
          - {name: sid, cookie: session}
          - {name: where, header: Location}
          - {name: id, regex: 'id=(\d+)'}
        check:
          status: [200, 201]
          body_contains: token
          json: {path: $.user.active, equals: true}
          latency_below: 250ms
        think: {uniform: [1s, 2s]}
      - group: browse
        steps:
          - request: {path: "/api/products", query: {page: "{{ randint(1, 5) }}", q: "a b"}}
            think: 500ms
          - request:
              method: POST
              path: /api/cart/items
              headers: {Authorization: "Bearer {{ token }}"}
              json: {product_id: "{{{ id }}}", quantity: 1}
            think: {normal: {mean: 1s, stddev: 200ms}}
  - name: visitor
    steps:
      - request: {url: "http://127.0.0.2:9000/other?x=1", form: {a: "{{ category }}"}}
load:
  executor: ramping-arrival-rate
  start_rate: 5
  time_unit: 1s
  stages: [{duration: 10s, target: 50}, {duration: 5s, target: 0}]
  pre_allocated_vus: 5
  max_vus: 100
thresholds:
  "http_req_duration{step:login}": ["p(99) < 500ms", "avg < 200"]
  http_req_failed: {conditions: "rate < 0.01", abort_on_fail: true}
  checks: ["rate > 0.99"]
  "group_duration{group:browse}": ["max < 5s"]
)";
  const auto p = parse_ok(yaml);
  EXPECT_TRUE(p.target.tls);
  EXPECT_EQ(p.target.port, 8443);
  EXPECT_TRUE(p.tls_insecure);
  EXPECT_FALSE(p.cookies);
  EXPECT_EQ(p.request_timeout, std::chrono::milliseconds(500));
  ASSERT_EQ(p.journeys.size(), 2u);
  const auto& login = p.journeys[0].steps[0];
  EXPECT_EQ(login.captures.size(), 4u);
  EXPECT_EQ(login.checks.size(), 4u);
  EXPECT_TRUE(login.needs_body);
  EXPECT_EQ(login.think.kind, ThinkTime::Kind::uniform);
  EXPECT_EQ(p.groups.size(), 1u);
  EXPECT_EQ(p.journeys[0].steps[1].group, 0);
  EXPECT_EQ(p.journeys[0].steps[2].group, 0);
  EXPECT_EQ(p.journeys[1].steps[0].origin, 1);
  EXPECT_EQ(p.origins.size(), 2u);
  EXPECT_EQ(p.load.executor, Executor::ramping_arrival_rate);
  EXPECT_EQ(p.load.max_vus, 100);
  EXPECT_EQ(p.load.total_duration(), std::chrono::seconds(15));
  ASSERT_EQ(p.thresholds.size(), 4u);
  EXPECT_TRUE(p.thresholds[1].abort_on_fail);
  EXPECT_EQ(p.thresholds[0].tag_value, "login");
  EXPECT_DOUBLE_EQ(p.thresholds[0].conditions[1].value, 200);  // bare numbers are milliseconds

  // The JSON body keeps numbers, booleans and null, escapes templated strings, and emits
  // "{{{ id }}}" raw.
  Rng rng(1);
  std::vector<std::string> vars = p.initial_values;
  vars[static_cast<std::size_t>(p.vars.find("id"))] = "42";
  RenderContext ctx{vars, rng, 7, 1};
  EXPECT_EQ(login.body.render(ctx),
            R"({"email":"u7@x.test","password":"secret","remember":true,"tries":3,"note":null})");
  EXPECT_EQ(p.journeys[0].steps[2].body.render(ctx), R"({"product_id":42,"quantity":1})");
  const auto target = p.journeys[0].steps[1].target.render(ctx);
  EXPECT_THAT(target, ::testing::MatchesRegex("/api/products\\?page=[1-5]&q=a%20b"));
  EXPECT_EQ(p.journeys[1].steps[0].body.render(ctx), "a=mugs");
}

TEST(Plan, OverridesApply) {
  PlanOverrides o;
  o.vus = 7;
  o.duration = std::chrono::seconds(3);
  o.target = "http://127.0.0.3:1234";
  o.vars = {{"who", "me"}};
  const auto p = parse_ok(R"(target: http://127.0.0.1:8080
journeys:
  - steps: [{request: {path: "/{{ who }}"}}]
load: {executor: constant-vus, vus: 2, duration: 1s}
)",
                          o);
  EXPECT_EQ(p.load.vus, 7);
  EXPECT_EQ(p.load.duration, std::chrono::seconds(3));
  EXPECT_EQ(p.target.host, "127.0.0.3");
  EXPECT_EQ(p.target.port, 1234);
}

TEST(Plan, InvalidYaml) {
  expect_error("target: [1, 2\n", "plan.yaml:2:1", "invalid YAML");
}
TEST(Plan, NotAMapping) {
  expect_error("- a\n", "plan.yaml:1:1", "expected the plan to be a mapping");
}
TEST(Plan, UnknownTopLevelKey) {
  expect_error(std::string(kMinimal) + "extra: 1\n", "plan.yaml:7:1",
               "unknown key 'extra' in the plan");
}
TEST(Plan, MissingTarget) {
  expect_error("journeys: []\n", "plan.yaml:1:1", "missing 'target'");
}
TEST(Plan, BadTargetUrl) {
  expect_error("target: ftp://x\n", "plan.yaml:1:9", "expected a URL starting with http://");
}
TEST(Plan, BadPort) {
  expect_error("target: http://h:99999\n", "plan.yaml:1:9", "has no valid port");
}
TEST(Plan, UnknownTargetKey) {
  expect_error("target:\n  base_url: http://h\n  retries: 3\n", "plan.yaml:3:3",
               "unknown key 'retries' in target");
}
TEST(Plan, MissingBaseUrl) {
  expect_error("target:\n  cookies: true\n", "plan.yaml:2:3", "missing 'base_url'");
}
TEST(Plan, BadTimeout) {
  expect_error("target:\n  base_url: http://h\n  timeouts: {connect: fast}\n", "plan.yaml:3:23",
               "expected a duration");
}
TEST(Plan, BadBoolean) {
  expect_error("target:\n  base_url: http://h\n  cookies: maybe\n", "plan.yaml:3:12",
               "expected target.cookies to be true or false");
}
TEST(Plan, MissingJourneys) {
  expect_error("target: http://h\n", "plan.yaml:1:1", "missing 'journeys'");
}
TEST(Plan, EmptyJourneys) {
  expect_error("target: http://h\njourneys: []\n", "plan.yaml:2:11", "non-empty list");
}
TEST(Plan, DuplicateJourney) {
  expect_error(
      "target: http://h\njourneys:\n  - {name: a, steps: [{request: {path: /}}]}\n  - {name: a, "
      "steps: [{request: {path: /}}]}\n",
      "plan.yaml:4:5", "duplicate journey name 'a'");
}
TEST(Plan, BadWeight) {
  expect_error("target: http://h\njourneys:\n  - {weight: heavy, steps: [{request: {path: /}}]}\n",
               "plan.yaml:3:14", "expected journey weight to be a number");
}
TEST(Plan, StepWithoutRequest) {
  expect_error("target: http://h\njourneys:\n  - steps: [{name: x}]\n", "plan.yaml:3:13",
               "missing 'request'");
}
TEST(Plan, UnknownStepKey) {
  expect_error("target: http://h\njourneys:\n  - steps: [{request: {path: /}, sleep: 1s}]\n",
               "plan.yaml:3:34", "unknown key 'sleep' in a step");
}
TEST(Plan, UnknownMethod) {
  expect_error("target: http://h\njourneys:\n  - steps: [{request: {method: FETCH, path: /}}]\n",
               "plan.yaml:3:32", "unknown method 'FETCH'");
}
TEST(Plan, PathMustStartWithSlash) {
  expect_error("target: http://h\njourneys:\n  - steps: [{request: {path: api}}]\n",
               "plan.yaml:3:30", "start with '/'");
}
TEST(Plan, PathAndUrl) {
  expect_error("target: http://h\njourneys:\n  - steps: [{request: {path: /, url: 'http://h/'}}]\n",
               "plan.yaml:3:23", "either 'path' or 'url'");
}
TEST(Plan, UnknownVariable) {
  expect_error("target: http://h\njourneys:\n  - steps: [{request: {path: '/{{ nope }}'}}]\n",
               "plan.yaml:3:30", "unknown variable 'nope'");
}
TEST(Plan, CaptureUsedBeforeItIsCaptured) {
  expect_error(R"(target: http://h
journeys:
  - steps:
      - request: {path: "/{{ token }}"}
      - request: {path: /login}
        capture: [{name: token, json: $.token}]
)",
               "plan.yaml:4:25", "unknown variable 'token'");
}
TEST(Plan, UnknownFunction) {
  expect_error("target: http://h\njourneys:\n  - steps: [{request: {path: '/{{ rand() }}'}}]\n",
               "plan.yaml:3:30", "unknown function 'rand'");
}
TEST(Plan, BadRandint) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: '/{{ randint(5, 1) }}'}}]\n",
      "plan.yaml:3:30", "randint expects two integers");
}
TEST(Plan, UnclosedTemplate) {
  expect_error("target: http://h\njourneys:\n  - steps: [{request: {path: '/{{ vu'}}]\n",
               "plan.yaml:3:30", "unclosed '{{'");
}
TEST(Plan, TwoBodies) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /, json: {a: 1}, body: x}}]\n",
      "plan.yaml:3:23", "at most one of json, form and body");
}
TEST(Plan, ReservedHeader) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /, headers: {Content-Length: "
      "'3'}}}]\n",
      "plan.yaml:3:42", "set by crest");
}
TEST(Plan, CaptureNeedsOneSource) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /}, capture: [{name: a}]}]\n",
      "plan.yaml:3:44", "exactly one of json, regex, header or cookie");
}
TEST(Plan, BadJsonPath) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /}, capture: [{name: a, json: "
      "token}]}]\n",
      "plan.yaml:3:60", "starting with '$'");
}
TEST(Plan, BadRegex) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /}, capture: [{name: a, regex: "
      "'(a'}]}]\n",
      "plan.yaml:3:61", "invalid regular expression");
}
TEST(Plan, RegexGroupOutOfRange) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /}, capture: [{name: a, regex: "
      "'a(b)', group: 2}]}]\n",
      "plan.yaml:3:76", "has 1 groups, group 2 asked for");
}
TEST(Plan, RecordedCapturesAreListedOncePerStepAndName) {
  const auto plan = parse_ok(R"(target: http://127.0.0.1:8080
journeys:
  - name: a
    steps:
      - name: checkout
        request: {method: POST, path: /api/checkout}
        capture: [{name: order_id, json: $.order_id, record: true}, {name: loc, header: Location}]
  - name: b
    steps:
      - name: checkout
        request: {method: POST, path: /api/checkout}
        capture: [{name: order_id, json: $.id, record: yes}]
      - name: other
        request: {path: /x}
        capture: [{name: token, json: $.t, record: false}]
load: {executor: constant-vus, vus: 1, duration: 1s}
)");
  ASSERT_EQ(plan.recorded.size(), 1u);
  EXPECT_EQ(plan.recorded[0].step, "checkout");
  EXPECT_EQ(plan.recorded[0].capture, "order_id");
  const auto& a = plan.journeys[0].steps[0];
  EXPECT_TRUE(a.records);
  EXPECT_EQ(a.captures[0].recorded, 0);
  EXPECT_EQ(a.captures[1].recorded, -1);
  EXPECT_EQ(plan.journeys[1].steps[0].captures[0].recorded, 0);  // the same list
  EXPECT_FALSE(plan.journeys[1].steps[1].records);
  EXPECT_EQ(plan.journeys[1].steps[1].captures[0].recorded, -1);
}
TEST(Plan, RecordMustBeABoolean) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /}, capture: [{name: a, json: "
      "$.a, record: 1}]}]\n",
      "plan.yaml:3:73", "expected capture record to be true or false, got '1'");
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /}, capture: [{name: a, json: "
      "$.a, record: [true]}]}]\n",
      "plan.yaml:3:73", "expected capture record to be a single value");
}
TEST(Plan, BadStatusCheck) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /}, check: {status: [200, "
      "ok]}}]\n",
      "plan.yaml:3:56", "expected status to be an integer");
}
TEST(Plan, UnknownCheck) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /}, check: {colour: x}}]\n",
      "plan.yaml:3:42", "unknown key 'colour' in check");
}
TEST(Plan, JsonCheckNeedsPathAndEquals) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /}, check: {json: {path: "
      "$.a}}}]\n",
      "plan.yaml:3:48", "needs 'equals', or 'op'");
}
TEST(Plan, BadThink) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /}, think: {uniform: [2s]}}]\n",
      "plan.yaml:3:51", "[low, high]");
}
TEST(Plan, ThinkUniformReversed) {
  expect_error(
      "target: http://h\njourneys:\n  - steps: [{request: {path: /}, think: {uniform: [2s, "
      "1s]}}]\n",
      "plan.yaml:3:51", "high must not be below low");
}
TEST(Plan, NestedTransactionsCompileToAFlatProgram) {
  const auto plan = parse_ok(R"(target: http://h
journeys:
  - steps:
      - group: a
        steps:
          - transaction: b
            steps: [{name: inner, request: {path: /}}]
load: {executor: constant-vus, vus: 1, duration: 1s}
)");
  using K = Instruction::Kind;
  const auto& program = plan.journeys[0].program;
  ASSERT_EQ(program.size(), 5u);
  EXPECT_EQ(program[0].kind, K::group_begin);
  EXPECT_EQ(program[1].kind, K::group_begin);
  EXPECT_EQ(program[2].kind, K::request);
  EXPECT_EQ(program[3].kind, K::group_end);
  EXPECT_EQ(program[3].group, 1);
  EXPECT_EQ(program[4].group, 0);
  EXPECT_EQ(plan.journeys[0].steps[0].groups, (std::vector<int>{0, 1}));
  EXPECT_EQ(plan.journeys[0].steps[0].group, 1);
}
TEST(Plan, MissingLoad) {
  expect_error("target: http://h\njourneys: [{steps: [{request: {path: /}}]}]\n", "plan.yaml:1:1",
               "missing 'load'");
}
TEST(Plan, UnknownExecutor) {
  expect_error(with_load("{executor: shared-loops}"), "plan.yaml:5:18",
               "unknown executor 'shared-loops'");
}
TEST(Plan, KeyNotForExecutor) {
  expect_error(with_load("{executor: constant-vus, vus: 1, duration: 1s, rate: 5}"),
               "plan.yaml:5:54", "key 'rate' does not apply to executor constant-vus");
}
TEST(Plan, MissingVus) {
  expect_error(with_load("{executor: constant-vus, duration: 1s}"), "plan.yaml:5:7",
               "missing 'vus' for executor constant-vus");
}
TEST(Plan, ZeroVus) {
  expect_error(with_load("{executor: constant-vus, vus: 0, duration: 1s}"), "plan.yaml:5:37",
               "load.vus to be an integer >= 1");
}
TEST(Plan, MissingMaxVus) {
  expect_error(with_load("{executor: constant-arrival-rate, rate: 10, duration: 1s}"),
               "plan.yaml:5:7", "missing 'max_vus'");
}
TEST(Plan, PreAllocatedAboveMax) {
  expect_error(with_load("{executor: constant-arrival-rate, rate: 10, duration: 1s, max_vus: 2, "
                         "pre_allocated_vus: 3}"),
               "plan.yaml:5:96", "must not exceed max_vus");
}
TEST(Plan, PacingOnOpenModel) {
  expect_error(
      with_load(
          "{executor: constant-arrival-rate, rate: 10, duration: 1s, max_vus: 2, pacing: 1s}"),
      "plan.yaml:5:85", "pacing applies to closed models");
}
TEST(Plan, BadStages) {
  expect_error(with_load("{executor: ramping-vus, stages: [{duration: 1s}]}"), "plan.yaml:5:40",
               "needs 'duration' and 'target'");
}
TEST(Plan, UnknownThresholdMetric) {
  expect_error(with_load("{executor: constant-vus, vus: 1, duration: 1s}") +
                   "thresholds:\n  latency: ['p(99) < 1s']\n",
               "plan.yaml:7:3", "unknown threshold metric 'latency'");
}
TEST(Plan, BadThresholdCondition) {
  expect_error(with_load("{executor: constant-vus, vus: 1, duration: 1s}") +
                   "thresholds:\n  http_req_duration: ['p99 < 1s']\n",
               "plan.yaml:7:23", "unknown aggregate 'p99'");
}
TEST(Plan, RateOnDurationMetric) {
  expect_error(with_load("{executor: constant-vus, vus: 1, duration: 1s}") +
                   "thresholds:\n  http_req_duration: ['rate < 1']\n",
               "plan.yaml:7:23", "takes p(N), avg, min, max or med");
}
TEST(Plan, ThresholdUnknownStep) {
  expect_error(with_load("{executor: constant-vus, vus: 1, duration: 1s}") +
                   "thresholds:\n  'http_req_duration{step:nope}': ['p(99) < 1s']\n",
               "plan.yaml:7:3", "names step 'nope'");
}
TEST(Plan, DataFileMissing) {
  expect_error("target: http://h\ndata:\n  users: {file: /nonexistent/users.csv}\n",
               "plan.yaml:3:17", "cannot read CSV file");
}
TEST(Plan, DataFeedColumnsAndUniqueExhaustion) {
  const std::string dir = ::testing::TempDir();
  {
    std::ofstream f(dir + "/users.csv");
    f << "email,password\na@x.test,pa\n\"b,c@x.test\",pb\n";
  }
  const std::string yaml = "target: http://h\ndata:\n  users: {file: " + dir +
                           "/users.csv, mode: unique}\n" +
                           "journeys:\n  - steps: [{request: {path: '/{{ users.email }}'}}]\n" +
                           "load: {executor: constant-vus, vus: 2, duration: 1s}\n";
  const auto p = parse_ok(yaml);
  ASSERT_EQ(p.feeds.size(), 1u);
  EXPECT_EQ(p.feeds[0].columns, (std::vector<std::string>{"email", "password"}));
  EXPECT_EQ(p.feeds[0].rows[1][0], "b,c@x.test");
  PlanOverrides more;
  more.vus = 3;
  expect_error(yaml, "plan.yaml:3:10", "is unique with 2 rows, but the load uses up to 3", more);
  {
    std::ofstream f(dir + "/bad.csv");
    f << "a,b\n1\n";
  }
  expect_error("target: http://h\ndata:\n  d: {file: " + dir + "/bad.csv}\n", "plan.yaml:3:13",
               "row 2 has 1 fields, expected 2");
  expect_error("target: http://h\ndata:\n  d: {file: " + dir + "/users.csv, mode: shuffled}\n",
               "plan.yaml:3:", "unknown data mode 'shuffled'");
}
TEST(Plan, RampingOverrideRejected) {
  PlanOverrides o;
  o.vus = 5;
  auto p = parse_plan(with_load("{executor: ramping-vus, stages: [{duration: 1s, target: 3}]}"),
                      "plan.yaml", o);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.error().message, HasSubstr("--vus does not apply to ramping-vus"));
}
TEST(Plan, MissingFileNamesIt) {
  auto p = load_plan("/nonexistent/plan.yaml");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.error().message, HasSubstr("/nonexistent/plan.yaml:1:1: cannot open plan file"));
}

TEST(Durations, Parse) {
  EXPECT_EQ(*parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(*parse_duration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(*parse_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(*parse_duration("1h"), std::chrono::hours(1));
  EXPECT_EQ(*parse_duration("300us"), std::chrono::microseconds(300));
  EXPECT_EQ(*parse_duration("7", true), std::chrono::milliseconds(7));
  EXPECT_FALSE(parse_duration("7").ok());
  EXPECT_FALSE(parse_duration("-1s").ok());
  EXPECT_FALSE(parse_duration("1d").ok());
}

}  // namespace
}  // namespace crest::load

#ifdef CREST_EXAMPLES_DIR
namespace crest::load {
namespace {
TEST(Examples, EveryExamplePlanParses) {
  for (const char* name :
       {"storefront.yaml", "smoke.yaml", "step-load.yaml", "constant-rate.yaml"}) {
    auto p = load_plan(std::string(CREST_EXAMPLES_DIR) + "/" + name);
    EXPECT_TRUE(p.ok()) << name << ": " << (p.ok() ? "" : p.error().message);
  }
}
}  // namespace
}  // namespace crest::load
#endif

namespace crest::load {
namespace {

std::string journey_with(const std::string& steps) {
  return "target: http://h\njourneys:\n  - name: j\n    steps:\n" + steps +
         "load: {executor: constant-vus, vus: 1, duration: 1s}\n";
}

TEST(PlanControlFlow, IfElseAndLoopsJumpToTheirEnds) {
  const auto plan = parse_ok(journey_with(R"(      - name: search
        request: {path: /s}
        capture: [{name: id, json: $.id, default: ''}]
      - if: "{{ id }} != ''"
        steps: [{name: view, request: {path: "/p/{{ id }}"}}]
        else: [{name: browse, request: {path: /p}}]
      - loop: 3
        steps: [{name: page, request: {path: /page}}]
      - loop: {while: "{{ id }} == 7", max: 5}
        steps: [{name: poll, request: {path: /poll}}]
)"));
  using K = Instruction::Kind;
  const auto& p = plan.journeys[0].program;
  ASSERT_EQ(p.size(), 11u);
  EXPECT_EQ(p[0].kind, K::request);
  EXPECT_EQ(p[1].kind, K::jump_unless);
  EXPECT_EQ(p[1].target, 4);  // the else branch
  EXPECT_EQ(p[3].kind, K::jump);
  EXPECT_EQ(p[3].target, 5);  // over the else branch
  EXPECT_EQ(p[5].kind, K::loop_begin);
  EXPECT_EQ(p[5].target, 8);  // after its loop_next: zero rounds skip it
  EXPECT_EQ(p[7].kind, K::loop_next);
  EXPECT_EQ(p[7].target, 6);
  EXPECT_EQ(p[8].kind, K::loop_begin);
  EXPECT_EQ(p[8].bound, 5);
  EXPECT_EQ(p[8].condition, 1);  // compiled after its body
  EXPECT_EQ(p[10].condition, 1);
  EXPECT_EQ(plan.journeys[0].conditions[0].op, Condition::Op::ne);
  EXPECT_TRUE(plan.journeys[0].steps[0].captures[0].has_default);
}

TEST(PlanControlFlow, ErrorsNameTheLine) {
  expect_error(
      journey_with("      - if: \"{{ nope }} == 1\"\n        steps: [{request: {path: /}}]\n"),
      "plan.yaml:5:13", "unknown variable 'nope'");
  expect_error(journey_with("      - if: \"1 == 2 == 3\"\n        steps: [{request: {path: /}}]\n"),
               "plan.yaml:5:13", "more than one operator");
  expect_error(journey_with("      - loop: many\n        steps: [{request: {path: /}}]\n"),
               "plan.yaml:5:15", "expected a loop count >= 0");
  expect_error(
      journey_with("      - loop: {while: \"1\"}\n        steps: [{request: {path: /}}]\n"),
      "plan.yaml:5:15", "needs 'max'");
  expect_error(journey_with("      - if: \"1\"\n"), "plan.yaml:5:9", "missing 'steps' in if block");
  expect_error(journey_with("      - switch: 1\n"), "plan.yaml:5:9", "unknown block 'switch'");
}

TEST(PlanChecks, ListFormNamesAndOperators) {
  const auto plan = parse_ok(journey_with(R"(      - name: s
        request: {path: /}
        check:
          - {status: 200}
          - {name: has json, header: {name: Content-Type, matches: json}}
          - {header: {name: X-A, equals: b}}
          - {body_matches: 'o-\d+'}
          - {name: positive total, json: {path: $.total, op: '>', value: 0}}
          - {json: {path: $.token, op: exists}}
          - {json: {path: $.a, equals: [1, 2]}}
)"));
  const auto& checks = plan.journeys[0].steps[0].checks;
  ASSERT_EQ(checks.size(), 7u);
  EXPECT_EQ(checks[1].name, "has json");
  EXPECT_EQ(checks[1].kind, Check::Kind::header_matches);
  EXPECT_EQ(checks[2].name, "s: header X-A == \"b\"");
  EXPECT_EQ(checks[3].kind, Check::Kind::body_matches);
  EXPECT_EQ(checks[4].name, "positive total");
  EXPECT_EQ(checks[4].op, Check::Op::gt);
  EXPECT_EQ(checks[5].op, Check::Op::exists);
  EXPECT_EQ(checks[6].expected_json, "[1,2]");
  EXPECT_EQ(plan.check_names.size(), 7u);
  expect_error(journey_with("      - request: {path: /}\n        check: [{json: {path: $.a, op: "
                            "'<', value: x}}]\n"),
               "plan.yaml:6:52", "compares numbers");
  expect_error(journey_with("      - request: {path: /}\n        check: [{status: 200, "
                            "body_contains: x}]\n"),
               "plan.yaml:6:17", "exactly one of");
}

TEST(PlanTemplates, EnvReadsMinusEThenTheProcessEnvironment) {
  ::setenv("CREST_PLAN_TEST_REGION", "eu-west-1", 1);
  ::unsetenv("CREST_PLAN_TEST_UNSET");
  PlanOverrides o;
  o.vars = {{"CLIENT", "partner"}};
  const auto plan = parse_ok(journey_with(R"(      - request:
          path: "/{{ env.CREST_PLAN_TEST_REGION }}/{{ env.CLIENT }}/{{ env.CREST_PLAN_TEST_UNSET }}"
)"),
                             o);
  std::vector<std::string> values = plan.initial_values;
  Rng rng(1);
  EXPECT_EQ(plan.journeys[0].steps[0].target.render(RenderContext{values, rng}),
            "/eu-west-1/partner/");
}

TEST(PlanTags, ThresholdsFilterOnAStepTag) {
  auto yaml =
      journey_with(R"(      - {name: a, request: {path: /a}, tags: {kind: api}, timeout: 250ms}
)");
  const auto plan =
      parse_ok(yaml + "thresholds: {\"http_req_failed{kind:api}\": [\"rate < 0.1\"]}\n");
  EXPECT_EQ(plan.journeys[0].steps[0].timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(plan.thresholds[0].tag_key, "kind");
  expect_error(yaml + "thresholds: {\"http_req_failed{kind:web}\": [\"rate < 0.1\"]}\n",
               "plan.yaml:7:14", "which no step or scenario sets");
  expect_error(journey_with("      - {request: {path: /a}, tags: {step: x}}\n"), "plan.yaml:5:38",
               "set by crest");
}

TEST(PlanSetup, SetupCapturesAreVisibleToJourneys) {
  const auto plan = parse_ok(R"(target: http://h
setup:
  timeout: 5s
  steps: [{request: {path: /admin}, capture: [{name: admin_token, json: $.token}]}]
journeys:
  - steps: [{request: {path: /x, headers: {Authorization: "Bearer {{ admin_token }}"}}}]
teardown:
  steps: [{request: {method: DELETE, path: "/data/{{ admin_token }}"}}]
load: {executor: constant-vus, vus: 1, duration: 1s}
)");
  EXPECT_EQ(plan.setup, 0);
  EXPECT_EQ(plan.teardown, 2);
  EXPECT_EQ(plan.journeys[0].weight, 0);
  EXPECT_EQ(plan.setup_timeout, std::chrono::seconds(5));
}

TEST(PlanExecutors, IterationExecutorsAndTheIterationsFlag) {
  auto plan = parse_ok(with_load("{executor: shared-iterations, vus: 4, iterations: 10}"));
  EXPECT_EQ(plan.load.executor, Executor::shared_iterations);
  EXPECT_EQ(plan.load.total_duration(), std::chrono::minutes(10));
  EXPECT_EQ(plan.load.peak_vus(), 4);
  plan =
      parse_ok(with_load("{executor: per-vu-iterations, vus: 2, iterations: 3, max_duration: 5s}"));
  EXPECT_EQ(plan.load.iterations, 3);
  EXPECT_EQ(plan.load.total_duration(), std::chrono::seconds(5));
  PlanOverrides o;
  o.iterations = 7;
  plan = parse_ok(with_load("{executor: constant-vus, vus: 2, duration: 30s}"), o);
  EXPECT_EQ(plan.load.executor, Executor::shared_iterations);
  EXPECT_EQ(plan.load.iterations, 7);
  expect_error(with_load("{executor: shared-iterations, vus: 1, iterations: 1, rate: 3}"),
               "plan.yaml:5:60", "does not apply to executor shared-iterations");
  auto bad = parse_plan(with_load("{executor: ramping-vus, stages: [{duration: 1s, target: 1}]}"),
                        "plan.yaml", o);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("--iterations does not apply to ramping-vus"));
}

}  // namespace
}  // namespace crest::load
