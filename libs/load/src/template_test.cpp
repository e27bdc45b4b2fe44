#include "crest/load/template.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace crest::load {
namespace {

struct Fixture {
  VarTable vars;
  std::vector<std::string> values;
  Rng rng{3};
  Fixture() {
    vars.add("name");
    vars.add("users.email");
    values = {"Zoë \"Q\" & co", "a+b@x.test"};
  }
  std::string render(const std::string& text, Escape e = Escape::none) {
    auto t = Template::compile(text, vars, e);
    EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
    RenderContext ctx{values, rng, 12, 3};
    return t.ok() ? t->render(ctx) : "";
  }
};

TEST(Rng, MatchesTheSplitMix64Reference) {
  // Vigna's splitmix64.c from state 0 (the values xoshiro's seeding documents use).
  Rng rng(0);
  EXPECT_EQ(rng(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(rng(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(rng(), 0x06c45d188009454fULL);
}

TEST(Template, LiteralsAndVariables) {
  Fixture f;
  EXPECT_EQ(f.render("plain"), "plain");
  EXPECT_EQ(f.render("hi {{name}}!"), "hi Zoë \"Q\" & co!");
  EXPECT_EQ(f.render("{{ users.email }}"), "a+b@x.test");
  EXPECT_EQ(f.render("vu={{ vu }} it={{ iteration }}"), "vu=12 it=3");
}

TEST(Template, Escaping) {
  Fixture f;
  EXPECT_EQ(f.render("{{ name }}", Escape::json), "Zoë \\\"Q\\\" & co");
  EXPECT_EQ(f.render("{{ users.email }}", Escape::url), "a%2Bb%40x.test");
  EXPECT_EQ(f.render("{{{ name }}}", Escape::json), "Zoë \"Q\" & co");  // triple braces: raw
}

TEST(Template, Functions) {
  Fixture f;
  for (int i = 0; i < 200; ++i) {
    const int v = std::stoi(f.render("{{ randint(3, 5) }}"));
    EXPECT_GE(v, 3);
    EXPECT_LE(v, 5);
    const auto item = f.render("{{ pick(red, 'green', \"blue\") }}");
    EXPECT_TRUE(item == "red" || item == "green" || item == "blue") << item;
  }
  EXPECT_THAT(f.render("{{ uuid() }}"),
              ::testing::MatchesRegex(
                  "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  EXPECT_NE(f.render("{{ uuid() }}"), f.render("{{ uuid() }}"));
  const auto ts = std::stoll(f.render("{{ timestamp() }}"));
  EXPECT_GT(ts, 1'600'000'000'000LL);
}

TEST(Template, Errors) {
  Fixture f;
  EXPECT_FALSE(Template::compile("{{ missing }}", f.vars).ok());
  EXPECT_FALSE(Template::compile("{{ }}", f.vars).ok());
  EXPECT_FALSE(Template::compile("{{ name", f.vars).ok());
  EXPECT_FALSE(Template::compile("{{ randint(1) }}", f.vars).ok());
  EXPECT_FALSE(Template::compile("{{ randint(a, b) }}", f.vars).ok());
  EXPECT_FALSE(Template::compile("{{ pick() }}", f.vars).ok());
  EXPECT_FALSE(Template::compile("{{ uuid(1) }}", f.vars).ok());
  EXPECT_FALSE(Template::compile("{{ nope() }}", f.vars).ok());
  EXPECT_FALSE(Template::compile("{{ bad name }}", f.vars).ok());
  EXPECT_FALSE(Template::compile("{{ randint(1, 2 }}", f.vars).ok());
}

TEST(Template, ConstantDetection) {
  Fixture f;
  EXPECT_TRUE(Template::compile("abc", f.vars)->is_constant());
  EXPECT_FALSE(Template::compile("a{{ vu }}", f.vars)->is_constant());
}

}  // namespace
}  // namespace crest::load
