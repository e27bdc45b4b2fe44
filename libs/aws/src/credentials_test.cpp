// The credential chain's order and refresh against local stand-ins. The answers copy the
// response shapes the AWS documentation shows:
//  - STS AssumeRoleWithWebIdentity, "Example" response of the STS API Reference
//    (AssumeRoleWithWebIdentityResponse/AssumeRoleWithWebIdentityResult/Credentials with
//    SessionToken, SecretAccessKey, Expiration, AccessKeyId) and the Query API ErrorResponse;
//  - the EKS Pod Identity agent / ECS container endpoint JSON (AccessKeyId, SecretAccessKey,
//    Token, AccountId, Expiration), "Authorization" header from the token file;
//  - IMDSv2 (EC2 User Guide, "Retrieve security credentials from instance metadata"): PUT
//    /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds, then
//    /latest/meta-data/iam/security-credentials/ (role name) and .../<role> (Code, LastUpdated,
//    Type, AccessKeyId, SecretAccessKey, Token, Expiration), 401 without a token.
#include "crest/aws/credentials.hpp"

#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "crest/aws/json_client.hpp"
#include "stand_in_server.hpp"

namespace crest::aws {
namespace {

using testing::StandInRequest;
using testing::StandInServer;
using namespace std::chrono_literals;

std::string iso(Clock::WallTime t) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}Z",
                     std::chrono::time_point_cast<std::chrono::seconds>(t));
}

std::string sts_answer(const std::string& key, Clock::WallTime expiration) {
  return fmt::format(
      R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:crest:cart</SubjectFromWebIdentityToken>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/crest-staging-cart/app1</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>token-{0}</SessionToken>
      <SecretAccessKey>secret-{0}</SecretAccessKey>
      <Expiration>{1}</Expiration>
      <AccessKeyId>{0}</AccessKeyId>
    </Credentials>
    <SourceIdentity>SourceIdentityValue</SourceIdentity>
    <Provider>oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>)",
      key, iso(expiration));
}

const char* kStsError = R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>InvalidIdentityToken</Code>
    <Message>No OpenIDConnect provider found in your account</Message>
  </Error>
  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
</ErrorResponse>)";

std::string credentials_json(const std::string& key, Clock::WallTime expiration, bool imds) {
  return fmt::format(
      R"({{{}"AccessKeyId":"{}","SecretAccessKey":"secret-{}","Token":"token-{}",{}"Expiration":"{}"}})",
      imds ? R"("Code":"Success","LastUpdated":"2026-11-30T08:00:00Z","Type":"AWS-HMAC",)" : "",
      key, key, key, imds ? "" : R"("AccountId":"123456789012",)", iso(expiration));
}

// A form body into its decoded fields.
std::map<std::string, std::string> form(const std::string& body) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= body.size()) {
    auto end = body.find('&', start);
    if (end == std::string::npos) end = body.size();
    const std::string pair = body.substr(start, end - start);
    const auto eq = pair.find('=');
    std::string value;
    const std::string raw = eq == std::string::npos ? "" : pair.substr(eq + 1);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '%' && i + 2 < raw.size() + 1) {
        value += static_cast<char>(std::stoi(raw.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        value += raw[i];
      }
    }
    out[pair.substr(0, eq)] = value;
    start = end + 1;
  }
  return out;
}

class TempDir {
 public:
  TempDir()
      : path_(std::filesystem::temp_directory_path() /
              fmt::format("crest-aws-credentials-{}-{}", ::getpid(), counter()++)) {
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

// The three stand-ins, each counting what it served.
struct StandIns {
  ManualClock clock;
  int sts_calls = 0;
  std::string imds_token = "imds-session-token";
  StandInServer sts{[this](const StandInRequest& r) -> std::pair<int, std::string> {
    if (r.method != "POST") return {405, ""};
    const auto f = form(r.body);
    if (f.count("Action") == 0 || f.at("Action") != "AssumeRoleWithWebIdentity" ||
        f.count("Version") == 0 || f.at("Version") != "2011-06-15") {
      return {400, kStsError};
    }
    if (f.count("WebIdentityToken") == 0 || f.at("WebIdentityToken") != "eyJ.projected.token") {
      return {400, kStsError};
    }
    ++sts_calls;
    return {200, sts_answer(fmt::format("ASIASTS{}", sts_calls), clock.wall_now() + 15min)};
  }};
  StandInServer container{[this](const StandInRequest& r) -> std::pair<int, std::string> {
    if (r.header("Authorization") != "pod-identity-token") return {401, ""};
    return {200, credentials_json("ASIAPOD", clock.wall_now() + 6h, false)};
  }};
  StandInServer imds{[this](const StandInRequest& r) -> std::pair<int, std::string> {
    if (r.method == "PUT" && r.target == "/latest/api/token") {
      if (r.header("X-aws-ec2-metadata-token-ttl-seconds").empty()) return {400, ""};
      return {200, imds_token};
    }
    if (r.header("X-aws-ec2-metadata-token") != imds_token) return {401, ""};
    if (r.target == "/latest/meta-data/iam/security-credentials/") return {200, "crest-ec2-role"};
    if (r.target == "/latest/meta-data/iam/security-credentials/crest-ec2-role") {
      return {200, credentials_json("ASIAIMDS", clock.wall_now() + 6h, true)};
    }
    return {404, ""};
  }};
};

EnvLookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    const auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(CredentialChain, TakesTheSourcesInTheSdkOrder) {
  StandIns s;
  TempDir dir;
  const auto token_file = dir.write("token", "eyJ.projected.token\n");
  const auto pod_token = dir.write("pod-token", "pod-identity-token");
  const auto shared = dir.write("credentials",
                                "[default]\naws_access_key_id = AKIAFILE\n"
                                "aws_secret_access_key = file-secret\n");
  std::map<std::string, std::string> vars{
      {"AWS_ACCESS_KEY_ID", "AKIAENV"},
      {"AWS_SECRET_ACCESS_KEY", "env-secret"},
      {"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/crest-staging-cart"},
      {"AWS_WEB_IDENTITY_TOKEN_FILE", token_file},
      {"AWS_ENDPOINT_URL_STS", s.sts.url()},
      {"AWS_SHARED_CREDENTIALS_FILE", shared},
      {"AWS_CONTAINER_CREDENTIALS_FULL_URI", s.container.url() + "/v1/credentials"},
      {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", pod_token},
      {"AWS_EC2_METADATA_SERVICE_ENDPOINT", s.imds.url()},
      {"HOME", "/nonexistent"},
  };
  const auto chain = [&] {
    ChainOptions o;
    o.env = env_of(vars);
    o.clock = &s.clock;
    o.region = "eu-west-1";
    auto p = default_credentials_chain(o);
    EXPECT_TRUE(p.ok()) << p.error().message;
    return p.ok() ? *p : nullptr;
  };
  struct Step {
    std::vector<std::string> remove;
    std::string source;
    std::string key;
  };
  const Step steps[] = {
      {{}, "environment", "AKIAENV"},
      {{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, "web-identity", "ASIASTS1"},
      {{"AWS_ROLE_ARN"}, "shared-file", "AKIAFILE"},
      {{"AWS_SHARED_CREDENTIALS_FILE"}, "container", "ASIAPOD"},
      {{"AWS_CONTAINER_CREDENTIALS_FULL_URI"}, "imds", "ASIAIMDS"},
  };
  for (const auto& step : steps) {
    for (const auto& v : step.remove) vars.erase(v);
    auto provider = chain();
    ASSERT_NE(provider, nullptr);
    EXPECT_EQ(provider->source(), step.source);
    auto creds = provider->credentials();
    ASSERT_TRUE(creds.ok()) << creds.error().message;
    EXPECT_EQ(creds->access_key_id, step.key) << step.source;
    if (step.source != "environment" && step.source != "shared-file") {
      EXPECT_EQ(creds->session_token, "token-" + step.key);
    }
  }
  // Nothing left: not_found naming every source tried.
  vars["AWS_EC2_METADATA_DISABLED"] = "true";
  ChainOptions o;
  o.env = env_of(vars);
  auto none = default_credentials_chain(o);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::not_found);
  for (const char* named : {"environment", "web identity", "shared file", "container", "IMDS"}) {
    EXPECT_NE(none.error().message.find(named), std::string::npos) << none.error().message;
  }
}

TEST(CredentialChain, SendsTheDocumentedRequests) {
  StandIns s;
  TempDir dir;
  ChainOptions o;
  o.clock = &s.clock;
  o.env = env_of({{"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/crest-staging-cart"},
                  {"AWS_WEB_IDENTITY_TOKEN_FILE", dir.write("token", "eyJ.projected.token")},
                  {"AWS_ROLE_SESSION_NAME", "cart-pod-1"},
                  {"AWS_ENDPOINT_URL_STS", s.sts.url()}});
  auto web = web_identity_credentials(o);
  ASSERT_TRUE(web.ok()) << web.error().message;
  EXPECT_EQ(web->expiration,
            std::chrono::time_point_cast<std::chrono::seconds>(s.clock.wall_now() + 15min));
  const auto sts = s.sts.requests();
  ASSERT_EQ(sts.size(), 1u);
  EXPECT_EQ(sts[0].header("Content-Type").rfind("application/x-www-form-urlencoded", 0), 0u);
  EXPECT_TRUE(sts[0].header("Authorization").empty()) << "AssumeRoleWithWebIdentity is unsigned";
  const auto f = form(sts[0].body);
  EXPECT_EQ(f.at("RoleArn"), "arn:aws:iam::123456789012:role/crest-staging-cart");
  EXPECT_EQ(f.at("RoleSessionName"), "cart-pod-1");
  EXPECT_NE(sts[0].body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fcrest"),
            std::string::npos)
      << "form-encoded: " << sts[0].body;

  // IMDSv2: the token first, every metadata GET carries it.
  o.env = env_of({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", s.imds.url()}});
  auto imds = imds_credentials(o);
  ASSERT_TRUE(imds.ok()) << imds.error().message;
  const auto seen = s.imds.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[1].header("X-aws-ec2-metadata-token"), "imds-session-token");
  EXPECT_EQ(seen[2].target, "/latest/meta-data/iam/security-credentials/crest-ec2-role");
}

TEST(CredentialChain, AConfiguredSourceThatFailsIsAnErrorNotAFallThrough) {
  StandIns s;
  TempDir dir;
  ChainOptions o;
  o.clock = &s.clock;
  o.env = env_of({{"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"},
                  {"AWS_WEB_IDENTITY_TOKEN_FILE", dir.write("token", "a-token-sts-refuses")},
                  {"AWS_ENDPOINT_URL_STS", s.sts.url()},
                  {"AWS_EC2_METADATA_SERVICE_ENDPOINT", s.imds.url()}});
  auto chain = default_credentials_chain(o);
  ASSERT_FALSE(chain.ok());
  EXPECT_NE(chain.error().message.find("InvalidIdentityToken"), std::string::npos)
      << chain.error().message;
  EXPECT_TRUE(s.imds.requests().empty());

  o.env = env_of({{"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"},
                  {"AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent/token"}});
  auto missing = default_credentials_chain(o);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/token"), std::string::npos);
}

TEST(CredentialRefresh, RefreshesBeforeExpiryAndNoRequestSeesExpiredCredentials) {
  StandIns s;
  TempDir dir;
  ChainOptions o;
  o.clock = &s.clock;
  o.env = env_of({{"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/r"},
                  {"AWS_WEB_IDENTITY_TOKEN_FILE", dir.write("token", "eyJ.projected.token")},
                  {"AWS_ENDPOINT_URL_STS", s.sts.url()}});
  auto chain = default_credentials_chain(o);
  ASSERT_TRUE(chain.ok()) << chain.error().message;
  auto provider = *chain;
  EXPECT_EQ(provider->credentials()->access_key_id, "ASIASTS1");  // valid 15 min
  s.clock.advance(9min);
  EXPECT_EQ(provider->credentials()->access_key_id, "ASIASTS1");
  EXPECT_EQ(s.sts_calls, 1) << "no refresh while far from expiry";
  s.clock.advance(1min + 1s);  // 4:59 left: inside the 5-minute window
  EXPECT_EQ(provider->credentials()->access_key_id, "ASIASTS2");
  EXPECT_EQ(s.sts_calls, 2);

  // STS fails during the window: the current credentials (still valid) keep being served, and
  // the refresh is retried only after retry_after_failure, not on every request.
  s.clock.advance(10min + 30s);  // ASIASTS2 has 4:30 left
  s.sts.set_handler([](const StandInRequest&) { return std::pair{503, std::string()}; });
  for (int i = 0; i < 5; ++i) {
    auto c = provider->credentials();
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->access_key_id, "ASIASTS2");
  }
  EXPECT_EQ(s.sts.requests().size(), 3u) << "one failed refresh attempt, not five";
  // Past the expiry with STS still down: an error, never the expired key.
  s.clock.advance(5min);
  auto expired = provider->credentials();
  ASSERT_FALSE(expired.ok());
  EXPECT_NE(expired.error().message.find("expired"), std::string::npos);
  // STS back: the next request gets fresh credentials.
  s.sts.set_handler([&s](const StandInRequest&) {
    return std::pair{200, sts_answer("ASIASTS9", s.clock.wall_now() + 15min)};
  });
  EXPECT_EQ(provider->credentials()->access_key_id, "ASIASTS9");
}

TEST(CredentialRefresh, JsonClientSignsWithTheCurrentSessionToken) {
  ManualClock clock;
  int generation = 1;
  auto provider = std::make_shared<RefreshingCredentials>(
      [&] {
        ++generation;
        return Result<SourcedCredentials>(SourcedCredentials{
            {fmt::format("ASIA{}", generation), "secret", fmt::format("session-{}", generation)},
            clock.wall_now() + 15min,
            "test"});
      },
      SourcedCredentials{{"ASIA1", "secret", "session-1"}, clock.wall_now() + 15min, "test"},
      clock);
  std::vector<http::ClientRequest> sent;
  ClientConfig config;
  config.service_name = "DynamoDB";
  config.signing_name = "dynamodb";
  config.target_prefix = "DynamoDB_20120810";
  config.region = "eu-west-1";
  config.credentials_provider = provider;
  ClientHooks hooks;
  hooks.clock = &clock;
  hooks.env = env_of({});
  hooks.transport = [&](const http::ClientRequest& r, bool) -> Result<http::Response> {
    sent.push_back(r);
    http::Response ok;
    ok.status = 200;
    ok.body = "{}";
    return ok;
  };
  auto client = JsonClient::create(config, hooks);
  ASSERT_TRUE(client.ok()) << client.error().message;
  EXPECT_EQ((*client)->endpoint().url(), "https://dynamodb.eu-west-1.amazonaws.com:443");
  EXPECT_EQ((*client)->endpoint().host_header, "dynamodb.eu-west-1.amazonaws.com");
  ASSERT_TRUE((*client)->call("ListTables", nlohmann::json::object()).ok());
  clock.advance(11min);
  ASSERT_TRUE((*client)->call("ListTables", nlohmann::json::object()).ok());
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[0].headers.get("X-Amz-Security-Token").value_or(""), "session-1");
  EXPECT_NE(sent[0].headers.get("Authorization")->find("Credential=ASIA1/"), std::string::npos);
  EXPECT_EQ(sent[1].headers.get("X-Amz-Security-Token").value_or(""), "session-2");
  EXPECT_NE(sent[1].headers.get("Authorization")->find("Credential=ASIA2/"), std::string::npos);
  EXPECT_NE(sent[1].headers.get("Authorization")->find("x-amz-security-token"), std::string::npos)
      << "the session token header is signed";
}

TEST(CredentialParsing, DocumentedShapesAndErrors) {
  auto ok = parse_assume_role_with_web_identity(
      sts_answer("ASIAX", Clock::WallTime(std::chrono::hours(24 * 365 * 50))));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->credentials.session_token, "token-ASIAX");
  auto err = parse_assume_role_with_web_identity(kStsError);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.error().message.find("InvalidIdentityToken: No OpenIDConnect provider"),
            std::string::npos);
  EXPECT_FALSE(parse_assume_role_with_web_identity("<notxml").ok());
  EXPECT_FALSE(parse_credentials_json(R"({"Code":"Failure","Message":"no role"})", "imds").ok());
  EXPECT_FALSE(parse_credentials_json(R"({"AccessKeyId":"A"})", "container").ok());
  EXPECT_FALSE(parse_credentials_json(
                   R"({"AccessKeyId":"A","SecretAccessKey":"S","Expiration":"soon"})", "container")
                   .ok());
  const auto t = parse_iso8601("2026-11-30T10:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count(),
            1796032800);
  EXPECT_TRUE(parse_iso8601("2026-11-30T10:00:00.123Z"));
  EXPECT_FALSE(parse_iso8601("2026-11-30 10:00"));
  EXPECT_EQ(form_encode("a b/c=d&e~"), "a%20b%2Fc%3Dd%26e~");
}

}  // namespace
}  // namespace crest::aws
