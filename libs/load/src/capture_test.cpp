#include "crest/load/capture.hpp"

#include <gtest/gtest.h>

namespace crest::load {
namespace {

Plan plan_for(const std::string& yaml) {
  auto p = parse_plan(yaml, "test.yaml", {}, ::testing::TempDir());
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? std::move(p.value()) : Plan{};
}

TEST(Captures, JsonRegexHeaderCookieAndChecks) {
  const auto plan = plan_for(R"(target: http://127.0.0.1:1
journeys:
  - steps:
      - request: {path: /}
        capture:
          - {name: a, json: "$.data.items[1].name"}
          - {name: b, json: $.data.count}
          - {name: c, regex: 'id-(\d+)-(\w+)', group: 2}
          - {name: d, header: X-Req}
          - {name: e, cookie: session}
        check: {status: [200, 201], body_contains: id-, json: {path: $.data.count, equals: 2}, latency_below: 100ms}
load: {executor: constant-vus, vus: 1, duration: 1s}
)");
  const auto& step = plan.journeys[0].steps[0];
  std::vector<std::string> vars(plan.vars.size());
  ResponseView v;
  v.status = 201;
  v.body = R"({"data":{"count":2,"items":[{"name":"x"},{"name":"y"}]},"ref":"id-42-abc"})";
  v.header = [](std::string_view n) {
    return n == "X-Req" ? std::string_view("r1") : std::string_view();
  };
  v.cookie = [](std::string_view n) {
    return n == "session" ? std::string_view("s9") : std::string_view();
  };
  v.duration_ms = 20;
  std::string missing;
  ASSERT_TRUE(apply_captures(step, v, vars, &missing)) << missing;
  EXPECT_EQ(vars[static_cast<std::size_t>(plan.vars.find("a"))], "y");
  EXPECT_EQ(vars[static_cast<std::size_t>(plan.vars.find("b"))], "2");
  EXPECT_EQ(vars[static_cast<std::size_t>(plan.vars.find("c"))], "abc");
  EXPECT_EQ(vars[static_cast<std::size_t>(plan.vars.find("d"))], "r1");
  EXPECT_EQ(vars[static_cast<std::size_t>(plan.vars.find("e"))], "s9");
  std::vector<bool> passed;
  EXPECT_TRUE(evaluate_checks(step, v, passed));
  v.status = 500;
  v.duration_ms = 150;
  v.body = R"({"data":{"count":3}})";
  EXPECT_FALSE(evaluate_checks(step, v, passed));
  EXPECT_EQ(passed, (std::vector<bool>{false, false, false, false}));
  EXPECT_FALSE(apply_captures(step, v, vars, &missing));
  EXPECT_EQ(missing, "a");
}

}  // namespace
}  // namespace crest::load
