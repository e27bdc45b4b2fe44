#include "crest/load/condition.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace crest::load {
namespace {

struct Vars {
  VarTable table;
  std::vector<std::string> values;
  Rng rng{1};
  std::string a, b;
  Vars() {
    table.add("id");
    table.add("count");
    table.add("name");
    values = {"42", "9", "zoe"};
  }
  bool eval(const std::string& text) {
    auto c = Condition::compile(text, table);
    EXPECT_TRUE(c.ok()) << text << ": " << (c.ok() ? "" : c.error().message);
    return c.ok() && c->evaluate(RenderContext{values, rng}, a, b);
  }
};

TEST(Condition, NumbersCompareAsNumbersOtherwiseAsBytes) {
  Vars v;
  EXPECT_TRUE(v.eval("{{ id }} == 42"));
  EXPECT_TRUE(v.eval("{{ id }} == 42.0"));        // numerically equal
  EXPECT_TRUE(v.eval("{{ count }} < {{ id }}"));  // 9 < 42 as numbers ("9" > "42" as bytes)
  EXPECT_FALSE(v.eval("{{ count }} >= 10"));
  EXPECT_TRUE(v.eval("{{ name }} != 'zoë'"));
  EXPECT_TRUE(v.eval("{{ name }} > abc"));  // bytes
  EXPECT_TRUE(v.eval("'{{ name }}' == \"zoe\""));
  EXPECT_TRUE(v.eval("{{ id }} <= 42"));
  EXPECT_FALSE(v.eval("{{ id }} != 42"));
}

TEST(Condition, ASingleOperandIsTruthy) {
  Vars v;
  EXPECT_TRUE(v.eval("{{ id }}"));
  v.values[0] = "";
  EXPECT_FALSE(v.eval("{{ id }}"));
  v.values[0] = "0";
  EXPECT_FALSE(v.eval("{{ id }}"));
  v.values[0] = "false";
  EXPECT_FALSE(v.eval("{{ id }}"));
  EXPECT_TRUE(v.eval("{{ id }} == false"));
  EXPECT_TRUE(v.eval("{{ id }} != ''"));
}

TEST(Condition, OperatorsInsideTemplatesAndQuotesDoNotCount) {
  Vars v;
  EXPECT_TRUE(v.eval("'a<b' == 'a<b'"));
  EXPECT_TRUE(v.eval("{{ randint(1, 1) }} == 1"));
}

TEST(Condition, MalformedConditionsAreErrors) {
  VarTable t;
  EXPECT_THAT(Condition::compile("a == b == c", t).error().message,
              ::testing::HasSubstr("more than one operator"));
  EXPECT_THAT(Condition::compile(" == b", t).error().message,
              ::testing::HasSubstr("empty operand"));
  EXPECT_THAT(Condition::compile("{{ missing }} == 1", t).error().message,
              ::testing::HasSubstr("unknown variable 'missing'"));
}

}  // namespace
}  // namespace crest::load
