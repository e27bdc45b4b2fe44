// Journeys with if/loop/transaction blocks, richer checks, setup/teardown and the iteration
// executors, run by the engine against the in-process test target (tests/load/load_target.hpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "crest/load/engine.hpp"
#include "crest/load/plan.hpp"
#include "load_target.hpp"

namespace crest::load {
namespace {

using crest::testing::LoadTarget;

Plan plan_for(const std::string& yaml, const PlanOverrides& o = {}) {
  auto p = parse_plan(yaml, "test.yaml", o, ::testing::TempDir());
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? std::move(p.value()) : Plan{};
}

RunResult run(const Plan& plan, int threads = 1) {
  RunOptions options;
  options.threads = threads;
  options.seed = 7;
  return run_plan(plan, options);
}

std::size_t step_index(const Plan& plan, const std::string& name) {
  const auto it = std::find(plan.step_names.begin(), plan.step_names.end(), name);
  EXPECT_NE(it, plan.step_names.end()) << name;
  return static_cast<std::size_t>(it - plan.step_names.begin());
}

TEST(ControlFlow, IfLoopAndTransactionsRunAsWritten) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys:
  - name: j
    steps:
      - name: list
        request: {path: /api/products}
        capture:
          - {name: first, json: "$.items[0].id"}
          - {name: missing, json: $.nothing, default: ''}
      - if: "{{ first }} == 101"
        steps: [{name: view, request: {path: "/api/products/{{ first }}"}}]
        else: [{name: never, request: {path: /never}}]
      - if: "{{ missing }}"
        steps: [{name: never either, request: {path: /never}}]
      - transaction: buy
        steps:
          - loop: 3
            steps:
              - transaction: inner
                steps: [{name: add, request: {method: POST, path: /api/cart/items}}]
          - loop: "{{ first }}"
            steps: [{name: many, request: {path: /hello}}]
          - loop: 0
            steps: [{name: zero, request: {path: /never}}]
load: {executor: per-vu-iterations, vus: 2, iterations: 2}
)");
  const auto r = run(plan);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.totals.iterations(), 4u);  // per-vu-iterations: 2 VUs x 2, then it ends
  EXPECT_LT(r.elapsed_s, 5.0);
  EXPECT_EQ(r.totals.steps[step_index(plan, "list")].requests, 4u);
  EXPECT_EQ(r.totals.steps[step_index(plan, "view")].requests, 4u);
  EXPECT_EQ(r.totals.steps[step_index(plan, "never")].requests, 0u);
  EXPECT_EQ(r.totals.steps[step_index(plan, "never either")].requests, 0u);
  EXPECT_EQ(r.totals.steps[step_index(plan, "zero")].requests, 0u);
  EXPECT_EQ(r.totals.steps[step_index(plan, "add")].requests, 12u);  // 3 per iteration
  EXPECT_EQ(r.totals.steps[step_index(plan, "many")].requests, 4u * 101);
  EXPECT_EQ(target.count("/never"), 0u);
  // Transactions: one sample per run of the block; nested ones too.
  ASSERT_EQ(plan.groups.size(), 2u);
  EXPECT_EQ(r.totals.groups[0].count(), 4u);   // buy
  EXPECT_EQ(r.totals.groups[1].count(), 12u);  // inner, once per loop round
  EXPECT_GE(r.totals.groups[0].max_us(), r.totals.groups[1].max_us());
}

TEST(ControlFlow, WhileLoopStopsAtItsConditionOrItsBound) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys:
  - steps:
      - loop: {while: "{{ iteration }} > 0", max: 4}
        steps: [{name: bounded, request: {path: /hello}}]
      - loop: {while: "{{ n }} != 103", max: 10}
        steps:
          - name: walk
            request: {path: /api/products}
            capture: [{name: n, json: "$.items[*].id", match: random}]
      - {name: found, request: {path: "/api/products/{{ n }}"}}
load: {executor: shared-iterations, vus: 1, iterations: 3}
)");
  const auto r = run(plan);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.totals.iterations(), 3u);
  EXPECT_EQ(r.totals.steps[0].requests, 12u);  // always true: 4 rounds, the bound, each time
  // A VU's captures live on between its iterations: the first walks until it draws 103, the
  // later ones find n == 103 already and skip the loop.
  const auto walks = r.totals.steps[1].requests;
  EXPECT_GE(walks, 1u);
  EXPECT_LE(walks, 10u);
  EXPECT_EQ(target.count("/api/products/103"), 3u);
}

TEST(ControlFlow, InvalidLoopCountEndsTheIterationWithANote) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
variables: {n: lots}
journeys:
  - steps:
      - loop: "{{ n }}"
        steps: [{request: {path: /hello}}]
load: {executor: shared-iterations, vus: 1, iterations: 2}
)");
  const auto r = run(plan);
  EXPECT_EQ(target.requests(), 0u);
  EXPECT_EQ(r.totals.journeys[0].failed, 2u);
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_THAT(r.notes[0], ::testing::HasSubstr("rendered to 'lots'"));
}

TEST(Checks, HeaderBodyRegexAndJsonOperators) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys:
  - steps:
      - name: login
        request: {method: POST, path: /api/login, json: {email: a@b.c}}
        check:
          - {name: json please, header: {name: content-type, matches: '^application/json'}}
          - {header: {name: Content-Type, equals: text/html}}
          - {body_matches: 'tok-[a-z@.]+'}
          - {json: {path: $.user.email, op: '==', value: a@b.c}}
          - {json: {path: $.user.email, op: '!=', value: x}}
          - {json: {path: $.token, op: exists}}
          - {json: {path: $.nope, op: not_exists}}
          - {json: {path: $.user, op: exists}}
      - name: products
        request: {path: /api/products}
        check:
          - {json: {path: "$.items[1].price", op: '>', value: 1000}}
          - {json: {path: "$.items[1].price", op: '<', value: 1000}}
load: {executor: shared-iterations, vus: 1, iterations: 5}
)");
  const auto r = run(plan);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(plan.check_names.size(), 10u);
  EXPECT_EQ(plan.check_names[0], "json please");
  const std::vector<bool> expected = {true, false, true, true, true, true, true, true, true, false};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.totals.checks[i][expected[i] ? 0 : 1], 5u) << plan.check_names[i];
  }
  EXPECT_EQ(r.totals.steps[0].by_kind[static_cast<std::size_t>(FailureKind::check_failed)], 5u);
}

TEST(Steps, AStepTimeoutOverridesThePlans) {
  LoadTarget target({});
  const auto plan = plan_for("target: {base_url: " + target.url() + R"(, timeouts: {request: 5s}}
journeys:
  - steps:
      - {name: quick, request: {path: /slow, query: {ms: 400}}, timeout: 100ms}
      - {name: patient, request: {path: /slow, query: {ms: 50}}}
load: {executor: shared-iterations, vus: 1, iterations: 2}
)");
  const auto r = run(plan);
  EXPECT_EQ(r.totals.steps[0].by_kind[static_cast<std::size_t>(FailureKind::timeout)], 2u);
  EXPECT_EQ(r.totals.steps[1].requests, 0u) << "a timeout ends the iteration";
  EXPECT_LT(r.elapsed_s, 2.0);
}

TEST(SetupTeardown, SetupCapturesReachEveryVuAndTeardownRunsOnceAfter) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
setup:
  steps:
    - name: admin login
      request: {method: POST, path: /api/login, json: {email: admin}}
      capture: [{name: admin_token, json: $.token}]
journeys:
  - steps:
      - request:
          method: POST
          path: /api/cart/items
          headers: {Authorization: "Bearer {{ admin_token }}"}
teardown:
  steps: [{name: cleanup, request: {path: "/api/orders/{{ admin_token }}"}}]
load: {executor: shared-iterations, vus: 3, iterations: 9}
)");
  const auto r = run(plan, 2);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(target.count("/api/login"), 1u);
  EXPECT_EQ(target.count("/api/cart/items"), 9u);  // shared-iterations: exactly 9
  EXPECT_THAT(target.seen("authorization"), ::testing::Each(std::string("Bearer tok-admin")));
  EXPECT_THAT(target.seen("order"), ::testing::ElementsAre("tok-admin"));
  EXPECT_EQ(r.totals.failures(), 0u);
  EXPECT_EQ(r.totals.journeys[static_cast<std::size_t>(plan.setup)].iterations, 1u);
}

// The setup's and teardown's samples are JTL rows too, labelled by their steps: first the
// setup's, then the load's, then the teardown's, under one header.
TEST(SetupTeardown, TheirSamplesAreInTheJtl) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
setup:
  steps:
    - {name: admin login, request: {method: POST, path: /api/login, json: {email: admin}}}
journeys:
  - steps: [{name: hello, request: {path: /hello}}]
teardown:
  steps: [{name: cleanup, request: {path: /bye}}]
load: {executor: shared-iterations, vus: 2, iterations: 4}
)");
  RunOptions options;
  options.threads = 1;
  options.jtl_path = ::testing::TempDir() + "/setup_teardown.jtl";
  const auto r = run_plan(plan, options);
  ASSERT_TRUE(r.error.empty()) << r.error;
  std::ifstream in(options.jtl_path);
  std::vector<std::string> labels;
  std::string line;
  std::getline(in, line);  // the header
  EXPECT_EQ(line.substr(0, 10), "timeStamp,");
  while (std::getline(in, line)) {
    const auto first = line.find(',');
    const auto second = line.find(',', first + 1);
    labels.push_back(line.substr(second + 1, line.find(',', second + 1) - second - 1));
  }
  EXPECT_THAT(labels,
              ::testing::ElementsAre("admin login", "hello", "hello", "hello", "hello", "cleanup"));
}

TEST(SetupTeardown, AFailedSetupStopsTheRunBeforeTheLoad) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
setup:
  timeout: 2s
  steps: [{request: {path: /status/500}, capture: [{name: t, json: $.token}]}]
journeys:
  - steps: [{request: {path: /hello}}]
load: {executor: constant-vus, vus: 1, duration: 5s}
)");
  const auto r = run(plan);
  EXPECT_THAT(r.error, ::testing::HasSubstr("setup failed"));
  EXPECT_EQ(target.count("/hello"), 0u);
}

TEST(HttpDebug, PrintsTheFirstIterationsExchanges) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys:
  - steps:
      - {name: login, request: {method: POST, path: /api/login, json: {email: debug@x}}}
      - {name: gone, request: {path: /nowhere}}
load: {executor: shared-iterations, vus: 1, iterations: 5}
)");
  for (const auto mode : {HttpDebug::headers, HttpDebug::full}) {
    RunOptions options;
    options.threads = 1;
    options.http_debug = mode;
    options.http_debug_iterations = 2;
    ::testing::internal::CaptureStderr();
    const auto r = run_plan(plan, options);
    const auto text = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.totals.requests(), 10u);
    EXPECT_THAT(text, ::testing::HasSubstr("POST /api/login HTTP/1.1"));
    EXPECT_THAT(text, ::testing::HasSubstr("HTTP/1.1 404 Not Found"));
    EXPECT_THAT(text, ::testing::HasSubstr("iteration 2 step 'gone'"));
    EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("iteration 3")));
    if (mode == HttpDebug::full) {
      EXPECT_THAT(text, ::testing::HasSubstr("{\"email\":\"debug@x\"}"));
      EXPECT_THAT(text, ::testing::HasSubstr("\"token\":\"tok-debug@x\""));
    } else {
      EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("tok-debug@x")));
      EXPECT_THAT(text, ::testing::HasSubstr("[body: "));
    }
  }
}

}  // namespace
}  // namespace crest::load
