#include "crest/core/host_port.hpp"

#include <gtest/gtest.h>

namespace crest {
namespace {

TEST(HostPort, ParsesNameAddressAndBracketedIpv6) {
  auto name = parse_host_port("db.internal:3306");
  ASSERT_TRUE(name.ok()) << name.error().message;
  EXPECT_EQ(name->host, "db.internal");
  EXPECT_EQ(name->port, 3306);
  auto v4 = parse_host_port("127.0.0.1:65535");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->port, 65535);
  auto v6 = parse_host_port("[::1]:8080");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8080);
}

TEST(HostPort, DefaultPortOnlyWhenTheRulesGiveOne) {
  EXPECT_FALSE(parse_host_port("example.com").ok());
  auto bare = parse_host_port("example.com", {.default_port = 443});
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 443);
  auto v6 = parse_host_port("[fe80::1]", {.default_port = 80});
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "fe80::1");
  EXPECT_EQ(v6->port, 80);
}

TEST(HostPort, RejectsBadPortsNamingTheText) {
  for (const char* text : {"host:", "host:0", "host:65536", "host:99999", "host:12a", "host:-1",
                           "host: 80", "host:+80"}) {
    auto parsed = parse_host_port(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().kind, ErrorKind::invalid_argument);
    EXPECT_NE(parsed.error().message.find(text), std::string::npos) << parsed.error().message;
    EXPECT_NE(parsed.error().message.find("port"), std::string::npos) << parsed.error().message;
  }
}

TEST(HostPort, ListenAddressRulesAllowPortZeroAndAnEmptyHost) {
  EXPECT_FALSE(parse_host_port(":8080").ok());
  EXPECT_FALSE(parse_host_port("127.0.0.1:0").ok());
  auto any = parse_host_port(
      ":0", {.default_port = std::nullopt, .allow_port_zero = true, .allow_empty_host = true});
  ASSERT_TRUE(any.ok()) << any.error().message;
  EXPECT_EQ(any->host, "");
  EXPECT_EQ(any->port, 0);
}

TEST(HostPort, RejectsMalformedIpv6) {
  EXPECT_FALSE(parse_host_port("[::1:80").ok());  // unclosed
  EXPECT_FALSE(parse_host_port("[::1]80").ok());  // no colon before the port
  EXPECT_FALSE(parse_host_port("::1:80").ok());   // ambiguous without brackets
  EXPECT_FALSE(parse_host_port("[]:80").ok());    // no host
}

}  // namespace
}  // namespace crest
