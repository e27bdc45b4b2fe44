#include "request_writer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace crest::load {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Plan plan_for(const std::string& yaml) {
  auto plan = parse_plan(yaml, "test.yaml");
  EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message);
  return plan.ok() ? std::move(plan.value()) : Plan{};
}

struct Rendered {
  bool sendable = false;
  std::string request;
  std::string_view bad_header;
};

Rendered render(const Plan& plan, const Step& step, const std::vector<std::string>& vars) {
  Rng rng(1);
  const RenderContext context{vars, rng, 1, 1};
  Rendered out;
  std::string body;
  out.sendable = write_request(plan, step, context, nullptr, out.request, body, &out.bad_header);
  return out;
}

TEST(RequestWriter, BodilessPostPutPatchSayContentLengthZero) {
  const auto plan = plan_for(R"(target: http://127.0.0.1:1
journeys:
  - steps:
      - request: {method: POST, path: /a}
      - request: {method: PATCH, path: /a}
      - request: {method: GET, path: /a}
      - request: {method: POST, path: /a, body: xyz}
load: {executor: constant-vus, vus: 1, duration: 1s}
)");
  const auto& steps = plan.journeys[0].steps;
  const std::vector<std::string> vars(plan.vars.size());
  EXPECT_THAT(render(plan, steps[0], vars).request, HasSubstr("\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_THAT(render(plan, steps[1], vars).request, HasSubstr("\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_THAT(render(plan, steps[2], vars).request, Not(HasSubstr("Content-Length")));
  EXPECT_THAT(render(plan, steps[3], vars).request, HasSubstr("Content-Length: 3\r\n\r\nxyz"));
}

TEST(RequestWriter, HeaderValueWithCrOrLfIsNotSendable) {
  const auto plan = plan_for(R"(target: http://127.0.0.1:1
variables: {who: ann}
journeys:
  - steps:
      - request: {path: /a, headers: {X-User: "{{ who }}"}}
load: {executor: constant-vus, vus: 1, duration: 1s}
)");
  const auto& step = plan.journeys[0].steps[0];
  std::vector<std::string> vars = plan.initial_values;
  EXPECT_TRUE(render(plan, step, vars).sendable);
  vars[static_cast<std::size_t>(plan.vars.find("who"))] = "ann\r\nX-Admin: true";
  const auto injected = render(plan, step, vars);
  EXPECT_FALSE(injected.sendable);
  EXPECT_EQ(injected.bad_header, "X-User");
  vars[static_cast<std::size_t>(plan.vars.find("who"))] = "ann\nX-Admin: true";
  EXPECT_FALSE(render(plan, step, vars).sendable);
}

}  // namespace
}  // namespace crest::load
