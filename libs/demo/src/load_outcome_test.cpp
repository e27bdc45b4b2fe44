// What the demo reads of a crest run JSON output: here, the recorded order ids.
#include "crest/demo/load_outcome.hpp"

#include <gtest/gtest.h>

namespace crest::demo {
namespace {

using nlohmann::json;

json run_with(const json& recorded) {
  json run = {{"http_reqs", 3},
              {"timeline", json::array()},
              {"steps", {{{"name", "checkout"}, {"status_classes", {{"2xx", 3}}}}}}};
  if (!recorded.is_null()) run["recorded"] = recorded;
  return run;
}

TEST(LoadOutcome, ReadsTheRecordedValuesOfAStep) {
  auto outcome = LoadOutcome::from_json(
      run_with({{"checkout",
                 {{"order_id", {{"values", {"11", "12", "13"}}, {"count", 3}, {"not_kept", 2}}}}}}),
      "peak.json");
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->step_2xx("checkout"), 3u);
  const auto* ids = outcome->recorded("checkout", "order_id");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->values, (std::vector<std::string>{"11", "12", "13"}));
  EXPECT_EQ(ids->not_kept, 2u);
  EXPECT_EQ(outcome->recorded("checkout", "token"), nullptr);
  EXPECT_EQ(outcome->recorded("login", "order_id"), nullptr);
}

TEST(LoadOutcome, AnOutputWithoutRecordedValuesHasNone) {
  auto outcome = LoadOutcome::from_json(run_with(nullptr), "old.json");
  ASSERT_TRUE(outcome.ok()) << outcome.error().message;
  EXPECT_EQ(outcome->recorded("checkout", "order_id"), nullptr);
}

TEST(LoadOutcome, AMalformedRecordedObjectIsAnErrorNamingTheField) {
  for (const auto& [recorded, field] : std::vector<std::pair<json, std::string>>{
           {json::array(), "'recorded' is not an object"},
           {{{"checkout", 3}}, "'recorded.checkout' is not an object"},
           {{{"checkout", {{"order_id", {"1"}}}}}, "'recorded.checkout.order_id' has no 'values'"},
           {{{"checkout", {{"order_id", {{"values", {1, 2}}}}}}},
            "'recorded.checkout.order_id' holds a value that is not a string"}}) {
    auto outcome = LoadOutcome::from_json(run_with(recorded), "bad.json");
    ASSERT_FALSE(outcome.ok()) << recorded.dump();
    EXPECT_NE(outcome.error().message.find("bad.json: " + field), std::string::npos)
        << outcome.error().message;
  }
}

}  // namespace
}  // namespace crest::demo
