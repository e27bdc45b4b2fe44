#include "crest/aws/config.hpp"

#include <cstdio>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <unistd.h>

namespace crest::aws {
namespace {

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string temp_file(const std::string& text) {
  char path[] = "/tmp/crest_aws_config_XXXXXX";
  const int fd = mkstemp(path);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(Credentials, EnvironmentFirst) {
  auto c = resolve_credentials(env_of(
      {{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}, {"AWS_SESSION_TOKEN", "TK"}}));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AK");
  EXPECT_EQ(c->secret_access_key, "SK");
  EXPECT_EQ(c->session_token, "TK");
}

TEST(Credentials, SharedFileProfile) {
  const auto path = temp_file(
      "[default]\naws_access_key_id = D1\naws_secret_access_key = D2\n\n"
      "[ci]\naws_access_key_id=C1\naws_secret_access_key=C2\naws_session_token = C3\n");
  auto d = resolve_credentials(env_of({{"AWS_SHARED_CREDENTIALS_FILE", path}}));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->access_key_id, "D1");
  EXPECT_EQ(d->session_token, "");
  auto ci =
      resolve_credentials(env_of({{"AWS_SHARED_CREDENTIALS_FILE", path}, {"AWS_PROFILE", "ci"}}));
  ASSERT_TRUE(ci.ok());
  EXPECT_EQ(ci->secret_access_key, "C2");
  EXPECT_EQ(ci->session_token, "C3");
  auto none =
      resolve_credentials(env_of({{"AWS_SHARED_CREDENTIALS_FILE", path}, {"AWS_PROFILE", "x"}}));
  EXPECT_FALSE(none.ok());
  std::remove(path.c_str());
}

TEST(Region, EnvironmentThenConfigFile) {
  const auto path = temp_file("[default]\nregion = eu-west-1\n[profile ci]\nregion=ap-south-1\n");
  EXPECT_EQ(resolve_region(env_of({{"AWS_REGION", "us-west-2"}, {"AWS_CONFIG_FILE", path}})),
            "us-west-2");
  EXPECT_EQ(resolve_region(env_of({{"AWS_DEFAULT_REGION", "eu-north-1"}})), "eu-north-1");
  EXPECT_EQ(resolve_region(env_of({{"AWS_CONFIG_FILE", path}})), "eu-west-1");
  EXPECT_EQ(resolve_region(env_of({{"AWS_CONFIG_FILE", path}, {"AWS_PROFILE", "ci"}})),
            "ap-south-1");
  EXPECT_EQ(resolve_region(env_of({})), "us-east-1");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace crest::aws
