// HTTPS against a real TLS endpoint on loopback: HAProxy 2.6 terminating TLS in front of dynalite,
// with certificates made by the openssl command for this run (a test CA, a server certificate for
// localhost/127.0.0.1, and one for another name that must be refused).
#include "crest/aws/https.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "crest/aws/dynamodb.hpp"
#include "crest/stack/child_process.hpp"
#include "crest/stack/dynalite_server.hpp"

namespace crest::aws {
namespace {

namespace fs = std::filesystem;

TEST(Endpoints, ParseAndResolveLikeTheSdks) {
  auto https = parse_endpoint("https://dynamodb.eu-west-1.amazonaws.com");
  ASSERT_TRUE(https.ok());
  EXPECT_TRUE(https->tls);
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(https->host_header, "dynamodb.eu-west-1.amazonaws.com");
  auto local = parse_endpoint("http://127.0.0.1:8000/");
  ASSERT_TRUE(local.ok());
  EXPECT_FALSE(local->tls);
  EXPECT_EQ(local->host_header, "127.0.0.1:8000");
  EXPECT_TRUE(local->is_loopback());
  EXPECT_EQ(parse_endpoint("https://localhost:8443")->host_header, "localhost:8443");
  EXPECT_EQ(parse_endpoint("127.0.0.1:9")->port, 9);
  for (const char* bad :
       {"", "ftp://x:1", "https://:443", "http://h:99999", "http://h:1/path", "h", "https://h:x"}) {
    EXPECT_FALSE(parse_endpoint(bad).ok()) << bad;
  }
  std::map<std::string, std::string> vars;
  EnvLookup env = [&](std::string_view n) -> std::optional<std::string> {
    auto it = vars.find(std::string(n));
    return it == vars.end() ? std::nullopt : std::optional(it->second);
  };
  EXPECT_EQ(resolve_endpoint("sqs", "", "eu-west-1", env)->url(),
            "https://sqs.eu-west-1.amazonaws.com:443");
  vars["AWS_ENDPOINT_URL"] = "http://127.0.0.1:5";
  EXPECT_EQ(resolve_endpoint("sqs", "", "eu-west-1", env)->port, 5);
  vars["AWS_ENDPOINT_URL_SQS"] = "http://127.0.0.1:6";
  EXPECT_EQ(resolve_endpoint("sqs", "", "eu-west-1", env)->port, 6);
  EXPECT_EQ(resolve_endpoint("sqs", "http://127.0.0.1:7", "eu-west-1", env)->port, 7);
  vars["AWS_ENDPOINT_URL_SQS"] = "ftp://nope";
  auto bad = resolve_endpoint("sqs", "", "eu-west-1", env);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("AWS_ENDPOINT_URL_SQS"), std::string::npos);
}

// Certificates and the TLS proxy, made once for the binary.
struct TlsFixture {
  fs::path dir;
  std::optional<Result<stack::DynaliteServer>> dynalite;
  std::optional<stack::ChildProcess> haproxy;
  std::uint16_t good_port = 0;   // certificate for localhost and 127.0.0.1
  std::uint16_t wrong_port = 0;  // certificate for wrong.example.com, same CA
  std::string error;

  std::string ca() const { return (dir / "ca.pem").string(); }

  bool run(const std::string& command) {
    const std::string full =
        fmt::format("cd '{}' && ({}) >>openssl.log 2>&1", dir.string(), command);
    if (std::system(full.c_str()) != 0) {
      error = "failed: " + command;
      return false;
    }
    return true;
  }

  bool leaf(const std::string& name, const std::string& san) {
    std::ofstream(dir / (name + ".ext")) << "subjectAltName=" << san << "\n";
    return run(fmt::format(
               "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "
               "/CN={0} -keyout {0}.key -out {0}.csr",
               name)) &&
           run(fmt::format("openssl x509 -req -in {0}.csr -CA ca.pem -CAkey ca.key "
                           "-CAcreateserial -days 1 -extfile {0}.ext -out {0}.crt",
                           name)) &&
           run(fmt::format("cat {0}.crt {0}.key > {0}.pem", name));
  }

  TlsFixture() {
    dir = fs::temp_directory_path() / fmt::format("crest-aws-https-{}", ::getpid());
    fs::create_directories(dir);
    if (!run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
             "-subj /CN=crest-test-ca -keyout ca.key -out ca.pem") ||
        !leaf("good", "DNS:localhost,IP:127.0.0.1") || !leaf("wrong", "DNS:wrong.example.com")) {
      return;
    }
    dynalite.emplace(stack::DynaliteServer::start((dir / "dynalite").string()));
    if (!dynalite->ok()) {
      error = "dynalite: " + dynalite->error().message;
      return;
    }
    auto p1 = stack::free_loopback_port();
    auto p2 = stack::free_loopback_port();
    for (int i = 0; i < 10 && p1.ok() && p2.ok() && *p1 == *p2; ++i) {
      p2 = stack::free_loopback_port();
    }
    auto haproxy_bin = stack::find_program("haproxy");
    if (!p1.ok() || !p2.ok() || !haproxy_bin.ok()) {
      error = "no free port or no haproxy";
      return;
    }
    good_port = *p1;
    wrong_port = *p2;
    const auto backend_port = parse_endpoint(dynalite->value().endpoint())->port;
    std::ofstream(dir / "haproxy.cfg") << fmt::format(
        "global\n  maxconn 64\n"
        "defaults\n  mode http\n  timeout connect 2s\n  timeout client 10s\n"
        "  timeout server 10s\n  timeout http-keep-alive 10s\n"
        "frontend good\n  bind 127.0.0.1:{} ssl crt {}\n  default_backend dynalite\n"
        "frontend wrong\n  bind 127.0.0.1:{} ssl crt {}\n  default_backend dynalite\n"
        "backend dynalite\n  server d 127.0.0.1:{}\n",
        good_port, (dir / "good.pem").string(), wrong_port, (dir / "wrong.pem").string(),
        backend_port);
    auto started = stack::spawn_and_wait({*haproxy_bin,
                                          {"-db", "-f", (dir / "haproxy.cfg").string()},
                                          {},
                                          "",
                                          (dir / "haproxy.log").string()},
                                         good_port, std::chrono::seconds(5), "haproxy");
    if (!started.ok()) {
      error = started.error().message;
      return;
    }
    haproxy.emplace(std::move(started).value());
  }
  ~TlsFixture() {
    if (haproxy) haproxy->stop(std::chrono::seconds(2));
    dynalite.reset();
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

TlsFixture& fixture() {
  static TlsFixture f;
  return f;
}

std::unique_ptr<DynamoDbClient> client_for(const std::string& endpoint, const std::string& ca) {
  DynamoDbOptions options;
  options.endpoint = endpoint;
  options.credentials = {"AKIDLOCAL", "secret", "session"};
  options.tls.extra_ca_file = ca;
  options.retry.base = std::chrono::milliseconds(1);
  auto client = DynamoDbClient::create(options);
  EXPECT_TRUE(client.ok()) << client.error().message;
  return client.ok() ? std::move(client).value() : nullptr;
}

TEST(Https, DynamoDbThroughTlsWithVerificationAndConnectionReuse) {
  auto& f = fixture();
  ASSERT_TRUE(f.error.empty()) << f.error;
  auto db = client_for(fmt::format("https://localhost:{}", f.good_port), f.ca());
  ASSERT_NE(db, nullptr);
  EXPECT_TRUE(db->client().endpoint().tls);
  ASSERT_TRUE(db->create_table({"tls_items", {"id", "S"}, std::nullopt}).ok());
  ASSERT_TRUE(db->put_item({"tls_items", {{"id", attr::S("a")}, {"n", attr::N(7)}}, {}, ""}).ok());
  auto got = db->get_item({"tls_items", {{"id", attr::S("a")}}, true, "", Json::object()});
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(attr::get_n(got.value(), "n"), 7);

  // The IP address is checked against the certificate's IP SAN.
  Endpoint by_ip = *parse_endpoint(fmt::format("https://127.0.0.1:{}", f.good_port));
  HttpsClientPool pool(by_ip, {}, {f.ca()});
  for (int i = 0; i < 5; ++i) {
    auto r = pool.send({"GET", "/", {}, ""});
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  EXPECT_EQ(pool.connections_opened(), 1u) << "keep-alive connections are reused";
}

TEST(Https, ACertificateForAnotherNameIsRefusedWithoutRetrying) {
  auto& f = fixture();
  ASSERT_TRUE(f.error.empty()) << f.error;
  auto db = client_for(fmt::format("https://localhost:{}", f.wrong_port), f.ca());
  ASSERT_NE(db, nullptr);
  auto refused = db->describe_table("tls_items");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "TlsError");
  EXPECT_EQ(refused.error().attempts, 1);
  EXPECT_NE(refused.error().message.find("hostname mismatch"), std::string::npos)
      << refused.error().message;
}

TEST(Https, AnUntrustedIssuerIsRefused) {
  auto& f = fixture();
  ASSERT_TRUE(f.error.empty()) << f.error;
  // Only the system store: the test CA is not in it.
  auto db = client_for(fmt::format("https://localhost:{}", f.good_port), "");
  ASSERT_NE(db, nullptr);
  auto refused = db->describe_table("tls_items");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, "TlsError");
  EXPECT_NE(refused.error().message.find("unable to get local issuer certificate"),
            std::string::npos)
      << refused.error().message;
}

}  // namespace
}  // namespace crest::aws
