#include "crest/core/config.hpp"

#include <cstdlib>

#include <gtest/gtest.h>

namespace crest {
namespace {

Config make_config() {
  return Config({
      {"http.port", ConfigType::integer, "8080", "port"},
      {"http.drain_grace", ConfigType::duration, "10s", "grace"},
      {"log.level", ConfigType::string, "info", "level"},
      {"payment.failure_rate", ConfigType::number, "0", "share of failed payments"},
      {"cache.enabled", ConfigType::boolean, "true", "cache"},
  });
}

TEST(Config, DefaultsApply) {
  Config c = make_config();
  EXPECT_EQ(c.get_int("http.port"), 8080);
  EXPECT_EQ(c.get_duration("http.drain_grace"), std::chrono::seconds(10));
  EXPECT_TRUE(c.get_bool("cache.enabled"));
  EXPECT_EQ(c.source_of("http.port"), "default");
}

TEST(Config, NestedYamlFlattensToDottedKeys) {
  Config c = make_config();
  c.load_yaml("http:\n  port: 9000\n  drain_grace: 250ms\npayment:\n  failure_rate: 0.25\n",
              "a.yaml");
  EXPECT_EQ(c.get_int("http.port"), 9000);
  EXPECT_EQ(c.get_duration("http.drain_grace"), std::chrono::milliseconds(250));
  EXPECT_DOUBLE_EQ(c.get_double("payment.failure_rate"), 0.25);
  EXPECT_EQ(c.source_of("http.port"), "a.yaml:2:3");
}

TEST(Config, UnknownKeyNamesKeyFileAndLine) {
  Config c = make_config();
  try {
    c.load_yaml("http:\n  port: 9000\n  prot: 1\n", "svc.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "svc.yaml:3:3: unknown configuration key 'http.prot'");
  }
}

TEST(Config, UnknownSectionIsAnError) {
  Config c = make_config();
  EXPECT_THROW(c.load_yaml("htp:\n  port: 1\n", "x.yaml"), ConfigError);
}

TEST(Config, WrongTypeNamesKeyAndValue) {
  Config c = make_config();
  try {
    c.load_yaml("http:\n  port: eighty\n", "svc.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "svc.yaml:2:3: 'http.port' must be a integer, got 'eighty'");
  }
  EXPECT_THROW(c.set("http.drain_grace", "10 parsecs", "--set"), ConfigError);
  EXPECT_THROW(c.set("cache.enabled", "maybe", "--set"), ConfigError);
}

TEST(Config, MalformedYamlNamesLine) {
  Config c = make_config();
  try {
    c.load_yaml("http:\n  port: [1, 2\n", "bad.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("bad.yaml:", 0), 0U) << e.what();
  }
}

TEST(Config, ListValueIsRejected) {
  Config c = make_config();
  EXPECT_THROW(c.load_yaml("log:\n  level: [a]\n", "x.yaml"), ConfigError);
}

TEST(Config, EnvironmentOverridesFileAndFlagsOverrideEnvironment) {
  Config c = make_config();
  c.load_yaml("http:\n  port: 9000\n", "a.yaml");
  ::setenv("CRESTTEST_HTTP_PORT", "9100", 1);
  ::setenv("CRESTTEST_HTTP_PROT", "1", 1);
  const auto unknown = c.load_env("CRESTTEST_");
  ::unsetenv("CRESTTEST_HTTP_PORT");
  ::unsetenv("CRESTTEST_HTTP_PROT");
  EXPECT_EQ(unknown, std::vector<std::string>{"CRESTTEST_HTTP_PROT"});
  EXPECT_EQ(c.get_int("http.port"), 9100);
  EXPECT_EQ(c.source_of("http.port"), "environment variable CRESTTEST_HTTP_PORT");
  c.set_from_flag("http.port=9200");
  EXPECT_EQ(c.get_int("http.port"), 9200);
  EXPECT_THROW(c.set_from_flag("nonsense"), ConfigError);
  EXPECT_THROW(c.set_from_flag("no.such=1"), ConfigError);
}

TEST(Config, ChoicesNameTheAllowedValues) {
  Config c = make_config();
  EXPECT_EQ(c.get_choice("log.level", {"debug", "info"}), "info");
  c.set("log.level", "loud", "--set log.level");
  try {
    c.get_choice("log.level", {"debug", "info"});
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "--set log.level: 'log.level' must be one of debug, info, got 'loud'");
  }
}

TEST(Config, EnvNameMapping) {
  EXPECT_EQ(Config::env_name("CREST_", "payment.failure_rate"), "CREST_PAYMENT_FAILURE_RATE");
}

TEST(Config, DurationParsing) {
  EXPECT_EQ(Config::parse_duration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(Config::parse_duration("3m"), std::chrono::minutes(3));
  EXPECT_EQ(Config::parse_duration("1h"), std::chrono::hours(1));
  EXPECT_EQ(Config::parse_duration("40"), std::chrono::milliseconds(40));
  EXPECT_THROW(Config::parse_duration("-1s"), ConfigError);
  EXPECT_THROW(Config::parse_duration("s"), ConfigError);
}

TEST(Config, MissingFileIsNamed) {
  Config c = make_config();
  try {
    c.load_file("/nonexistent/crest.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/crest.yaml: cannot open configuration file");
  }
}

}  // namespace
}  // namespace crest
