#include <gtest/gtest.h>

#include "crest/store/mysql.hpp"

namespace crest::store {
namespace {

TEST(MysqlUrl, ReadsEveryPartAndDefaultsThePort) {
  auto full = parse_mysql_url("mysql://app:s%40cret@db.internal:3307/shop");
  ASSERT_TRUE(full.ok()) << full.error().message;
  EXPECT_EQ(full->user, "app");
  EXPECT_EQ(full->password, "s@cret");
  EXPECT_EQ(full->host, "db.internal");
  EXPECT_EQ(full->port, 3307);
  EXPECT_EQ(full->database, "shop");

  auto bare = parse_mysql_url("mysql://127.0.0.1/crest");
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  EXPECT_EQ(bare->host, "127.0.0.1");
  EXPECT_EQ(bare->port, 3306);
  EXPECT_EQ(bare->user, "");

  auto v6 = parse_mysql_url("mysql://u:p@[::1]:3310/crest");
  ASSERT_TRUE(v6.ok()) << v6.error().message;
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 3310);
}

TEST(MysqlUrl, NamesThePartAtFaultAndNeverThePassword) {
  const auto message = [](std::string_view url) {
    auto parsed = parse_mysql_url(url);
    EXPECT_FALSE(parsed.ok()) << url;
    EXPECT_EQ(parsed.ok() ? ErrorKind::internal : parsed.error().kind, ErrorKind::invalid_argument);
    return parsed.ok() ? std::string() : parsed.error().message;
  };
  EXPECT_NE(message("postgres://h/db").find("mysql://"), std::string::npos);
  EXPECT_NE(message("mysql://h").find("names no database"), std::string::npos);
  EXPECT_NE(message("mysql://u:%zz@h/db").find("percent-encoding"), std::string::npos);
  const std::string bad_port = message("mysql://u:hunter2@h:99999/db");
  EXPECT_NE(bad_port.find("host:port"), std::string::npos) << bad_port;
  EXPECT_NE(bad_port.find("h:99999"), std::string::npos) << bad_port;
  EXPECT_EQ(bad_port.find("hunter2"), std::string::npos) << bad_port;
  EXPECT_NE(message("mysql://u:p@:3306/db").find("no host"), std::string::npos);
  EXPECT_NE(message("mysql://u:p@::1:3306/db").find("IPv6"), std::string::npos);
}

}  // namespace
}  // namespace crest::store
