// End-to-end: crest's engine against the in-process test target (tests/load/load_target.hpp).
#include "crest/load/engine.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "crest/load/outputs.hpp"
#include "crest/load/threshold.hpp"
#include "load_target.hpp"

namespace crest::load {
namespace {

using crest::testing::LoadTarget;
using ::testing::HasSubstr;

Plan plan_for(const std::string& yaml) {
  auto p = parse_plan(yaml, "test.yaml", {}, ::testing::TempDir());
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? std::move(p.value()) : Plan{};
}

RunResult run(const Plan& plan, RunOptions options = {}) {
  if (options.threads == 0) {
    options.threads = 1;
  }
  return run_plan(plan, options);
}

RunOptions with_threads(int n) {
  RunOptions o;
  o.threads = n;
  return o;
}

std::uint64_t kind(const RunResult& r, FailureKind k) {
  std::uint64_t n = 0;
  for (const auto& s : r.totals.steps) {
    n += s.by_kind[static_cast<std::size_t>(k)];
  }
  return n;
}

TEST(Engine, ClosedModelKeepsConnectionsAlive) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys:
  - steps: [{name: hello, request: {path: /hello}, check: {status: 200, body_contains: crest}}]
load: {executor: constant-vus, vus: 3, duration: 700ms}
)");
  const auto r = run(plan, with_threads(2));
  EXPECT_TRUE(r.error.empty()) << r.error;
  const auto& s = r.totals.steps[0];
  EXPECT_GT(s.requests, 50u);
  EXPECT_EQ(s.failures, 0u);
  EXPECT_EQ(s.by_status_class[2], s.requests);
  EXPECT_EQ(target.requests(), s.requests);  // every request counted once, none lost
  EXPECT_EQ(target.connections(), 3u);       // one keep-alive connection per VU
  EXPECT_EQ(s.connects, 3u);
  EXPECT_EQ(r.totals.checks[0][0], s.requests);  // status check, all passed
  EXPECT_EQ(r.totals.checks[1][0], s.requests);  // body check, all passed
  EXPECT_EQ(r.totals.checks[0][1] + r.totals.checks[1][1], 0u);
  EXPECT_EQ(r.totals.iterations(), s.requests);
  EXPECT_GT(s.bytes_received, s.requests * 50);
  EXPECT_EQ(r.peak_vus, 3);
  EXPECT_GE(r.elapsed_s, 0.6);
  EXPECT_LT(r.elapsed_s, 3.0);
}

TEST(Engine, StorefrontJourneyCapturesAndSendsValues) {
  LoadTarget target({});
  {
    std::ofstream f(::testing::TempDir() + "/journey_users.csv");
    f << "email,password\nann@x.test,pw1\nbob@x.test,pw2\n";
  }
  const auto plan = plan_for("target: " + target.url() + R"(
data:
  users: {file: journey_users.csv, mode: unique}
journeys:
  - name: shopper
    steps:
      - name: login
        request: {method: POST, path: /api/login, json: {email: "{{ users.email }}", password: "{{ users.password }}"}}
        capture: [{name: token, json: $.token}, {name: sid, cookie: session}]
        check: {status: 200, json: {path: $.user.email, equals: "ann@x.test"}}
      - group: buy
        steps:
          - name: products
            request: {path: /api/products, query: {page: 1}}
            capture: [{name: pid, json: "$.items[1].id"}]
          - name: add
            request:
              method: POST
              path: /api/cart/items
              headers: {Authorization: "Bearer {{ token }}"}
              json: {product_id: "{{{ pid }}}", quantity: "{{{ randint(1, 3) }}}"}
            check: {status: 201}
          - name: checkout
            request: {method: POST, path: /api/checkout, headers: {Idempotency-Key: "{{ uuid() }}"}}
            capture: [{name: order, json: $.order_id}, {name: loc, header: Location}, {name: n, regex: 'o-(\d+)'}]
            check: {status: 202}
          - name: order
            request: {path: "/api/orders/{{ order }}"}
            check: {status: 200, body_contains: "{{ order }}"}
load: {executor: constant-vus, vus: 2, duration: 600ms}
)");
  const auto r = run(plan);
  ASSERT_TRUE(r.error.empty()) << r.error;
  const auto& t = r.totals;
  ASSERT_EQ(plan.step_names.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_GT(t.steps[i].requests, 0u) << plan.step_names[i];
  }
  EXPECT_EQ(t.steps[3].failures, 0u);
  EXPECT_EQ(t.steps[4].failures,
            t.steps[4].by_kind[static_cast<std::size_t>(FailureKind::check_failed)]);
  // The JSON check expects ann: bob's logins fail that check, ann's pass.
  const auto login_check = 1;  // [0] status 200, [1] $.user.email == "ann@x.test"
  EXPECT_GT(t.checks[login_check][0], 0u);
  EXPECT_GT(t.checks[login_check][1], 0u);
  // Captured tokens went out as Bearer headers, cookies came back, ids made it into paths.
  for (const auto& auth : target.seen("authorization")) {
    EXPECT_TRUE(auth == "Bearer tok-ann@x.test" || auth == "Bearer tok-bob@x.test") << auth;
  }
  EXPECT_FALSE(target.seen("authorization").empty());
  for (const auto& body : target.seen("body:/api/cart/items")) {
    EXPECT_THAT(body, ::testing::MatchesRegex(R"(\{"product_id":102,"quantity":[1-3]\})"));
  }
  for (const auto& cookie : target.seen("cookie")) {
    EXPECT_THAT(cookie, ::testing::MatchesRegex("session=s[0-9]+"));
  }
  EXPECT_FALSE(target.seen("cookie").empty());
  const auto keys = target.seen("idempotency-key");
  ASSERT_FALSE(keys.empty());
  EXPECT_NE(keys.front(), keys.back());
  for (const auto& order : target.seen("order")) {
    EXPECT_THAT(order, ::testing::MatchesRegex("o-[0-9]+"));
  }
  EXPECT_EQ(target.count("/api/orders/o-1"), 1u);
  EXPECT_EQ(t.groups[0].count(), t.journeys[0].iterations);
}

// `record: true`: every value the capture takes on a passed request is kept, none of a failed
// one, and the JSON output carries them by step and capture.
TEST(Engine, RecordedCapturesKeepTheValuesOfPassedRequests) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys:
  - steps:
      - name: checkout
        request: {method: POST, path: /api/checkout, headers: {Idempotency-Key: "{{ uuid() }}"}}
        capture: [{name: order, json: $.order_id, record: true}, {name: loc, header: Location}]
        check: {status: 202}
      - name: status
        request: {path: "/status/{{ pick(200, 500) }}"}
        capture: [{name: code, json: $.status, record: true}]
load: {executor: constant-vus, vus: 3, duration: 500ms}
)");
  const auto r = run(plan, with_threads(2));
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.recorded.size(), 2u);
  const auto& checkout = r.totals.steps[0];
  const auto& orders = r.recorded[0];
  EXPECT_EQ(orders.step, "checkout");
  EXPECT_EQ(orders.capture, "order");
  EXPECT_GT(checkout.requests, 10u);
  EXPECT_EQ(checkout.failures, 0u);
  // Every order the target issued, each once: o-1 .. o-N.
  ASSERT_EQ(orders.values.size(), checkout.requests);
  auto sorted = orders.values;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (std::size_t i = 1; i <= orders.values.size(); ++i) {
    EXPECT_TRUE(std::binary_search(sorted.begin(), sorted.end(), "o-" + std::to_string(i))) << i;
  }
  // The 500s failed (no status check): their captured "500" is not kept.
  const auto& status = r.totals.steps[1];
  const auto& codes = r.recorded[1];
  EXPECT_GT(status.failures, 0u);
  EXPECT_EQ(codes.values.size(), status.requests - status.failures);
  EXPECT_THAT(codes.values, ::testing::Each(std::string("200")));
  EXPECT_EQ(codes.not_kept, 0u);

  const auto json = nlohmann::json::parse(format_json(plan, r, {}));
  EXPECT_EQ(json["recorded"]["checkout"]["order"]["values"].get<std::vector<std::string>>(),
            orders.values);
  EXPECT_EQ(json["recorded"]["checkout"]["order"]["count"], orders.values.size());
  EXPECT_EQ(json["recorded"]["checkout"]["order"]["not_kept"], 0);
  EXPECT_EQ(json["recorded"]["status"]["code"]["count"], codes.values.size());
  EXPECT_FALSE(json["recorded"]["checkout"].contains("loc"));
  EXPECT_EQ(json["recorded_limit"], kDefaultRecordLimit);
  EXPECT_THAT(format_summary(plan, r, {}),
              HasSubstr("checkout: order  " + std::to_string(orders.values.size()) + " values"));
}

// Past the limit the values are counted, not kept, and the output says so.
TEST(Engine, RecordedValuesStopAtTheLimit) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys:
  - steps:
      - name: checkout
        request: {method: POST, path: /api/checkout, headers: {Idempotency-Key: "{{ uuid() }}"}}
        capture: [{name: order, json: $.order_id, record: true}]
load: {executor: shared-iterations, vus: 1, iterations: 12, max_duration: 5s}
)");
  RunOptions options;
  options.record_limit = 5;
  const auto r = run(plan, options);
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.recorded.size(), 1u);
  EXPECT_EQ(r.recorded[0].values, (std::vector<std::string>{"o-1", "o-2", "o-3", "o-4", "o-5"}));
  EXPECT_EQ(r.recorded[0].not_kept, 7u);
  const auto json = nlohmann::json::parse(format_json(plan, r, {}));
  EXPECT_EQ(json["recorded"]["checkout"]["order"]["not_kept"], 7);
  EXPECT_EQ(json["recorded_limit"], 5);
  EXPECT_THAT(json["notes"].dump(), HasSubstr("reached its limit of 5: 7 more were not kept"));
  EXPECT_THAT(format_summary(plan, r, {}), HasSubstr("7 more not kept (limit 5 reached)"));
}

// A plan without `record` writes no "recorded" object (what the demo's fallback reads).
TEST(Engine, NoRecordedObjectWithoutRecord) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{steps: [{name: checkout, request: {method: POST, path: /api/checkout, headers: {Idempotency-Key: k}}, capture: [{name: order, json: $.order_id}]}]}]
load: {executor: shared-iterations, vus: 1, iterations: 2, max_duration: 5s}
)");
  const auto r = run(plan);
  EXPECT_TRUE(r.recorded.empty());
  EXPECT_FALSE(nlohmann::json::parse(format_json(plan, r, {})).contains("recorded"));
}

TEST(Engine, StatusCodesChunkedCloseAndEof) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys:
  - steps:
      - {name: err, request: {path: /status/500}}
      - {name: expected404, request: {path: /status/404}, check: {status: [404]}}
      - {name: chunked, request: {path: /chunked}, check: {body_contains: "hello chunked world"}}
      - {name: close, request: {path: /close}, check: {body_contains: bye}}
      - {name: eof, request: {path: /eof-body}, check: {body_contains: "until close"}}
load: {executor: constant-vus, vus: 1, duration: 300ms}
)");
  const auto r = run(plan);
  const auto& t = r.totals;
  EXPECT_EQ(t.steps[0].failures, t.steps[0].requests);
  EXPECT_EQ(t.steps[0].by_kind[static_cast<std::size_t>(FailureKind::http_status)],
            t.steps[0].requests);
  EXPECT_EQ(t.steps[0].by_status_class[5], t.steps[0].requests);
  for (std::size_t i = 1; i < 5; ++i) {
    EXPECT_GT(t.steps[i].requests, 0u);
    EXPECT_EQ(t.steps[i].failures, 0u) << plan.step_names[i];
  }
  // After /close and /eof-body the next request needs a new connection.
  EXPECT_GE(t.steps[0].connects, t.journeys[0].iterations - 1);
}

TEST(Engine, ResettingServerGivesResetErrors) {
  LoadTarget target({LoadTarget::Mode::reset});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}}, {request: {path: /never}}]}]
load: {executor: constant-vus, vus: 2, duration: 300ms}
)");
  const auto r = run(plan);
  const auto& s = r.totals.steps[0];
  EXPECT_GT(s.requests, 0u);
  EXPECT_EQ(s.failures, s.requests);
  EXPECT_EQ(kind(r, FailureKind::reset), s.requests);
  EXPECT_EQ(r.totals.steps[1].requests, 0u);  // a transport error ends the iteration
  EXPECT_EQ(r.totals.journeys[0].failed, r.totals.journeys[0].iterations);
}

TEST(Engine, SilentServerTimesOut) {
  LoadTarget target({LoadTarget::Mode::silent});
  const auto plan = plan_for("target:\n  base_url: " + target.url() + R"(
  timeouts: {request: 200ms}
journeys: [{steps: [{request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 2, duration: 500ms, graceful_stop: 1s}
)");
  const auto r = run(plan);
  const auto& s = r.totals.steps[0];
  EXPECT_GE(s.requests, 2u);
  EXPECT_LE(s.requests, 12u);
  EXPECT_EQ(kind(r, FailureKind::timeout), s.requests);
  EXPECT_GE(s.service.min_us(), 190'000u);  // nothing times out early
}

// A hostile server: announces a huge body and streams zeros until the client gives up.
class EndlessServer {
 public:
  EndlessServer() : acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] {
      boost::system::error_code ec;
      auto s = acceptor_.accept(ec);
      if (ec) {
        return;
      }
      char req[4096];
      s.read_some(boost::asio::buffer(req), ec);
      const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n";
      boost::asio::write(s, boost::asio::buffer(head), ec);
      const std::string zeros(1 << 16, '0');
      std::size_t sent = 0;
      while (!ec && sent < (256u << 20)) {  // bounded even if the client never stops reading
        sent += boost::asio::write(s, boost::asio::buffer(zeros), ec);
      }
      sent_ = sent;
    });
  }
  ~EndlessServer() { finish(); }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  // Bytes of body it wrote before the client went away (waits for its thread).
  std::size_t finish() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (thread_.joinable()) {
      thread_.join();
    }
    return sent_;
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<std::size_t> sent_{0};
};

TEST(Engine, EndlessResponseIsCutAt64MiB) {
  EndlessServer server;
  // It serves one connection: later iterations wait in its backlog until the request timeout.
  // The timeouts are generous so that a slow machine reaches the 64 MiB cap before either.
  const auto plan = plan_for("target: {base_url: " + server.url() + R"(, timeouts: {request: 8s}}
journeys: [{steps: [{request: {path: /}}]}]
load: {executor: constant-vus, vus: 1, duration: 1s, graceful_stop: 8s}
)");
  const auto r = run(plan);
  EXPECT_EQ(kind(r, FailureKind::protocol), 1u);
  const auto sent = server.finish();
  EXPECT_GE(sent, 60u << 20);   // the client read up to its cap (less what sat in socket buffers)
  EXPECT_LT(sent, 256u << 20);  // and then closed
  EXPECT_LT(r.elapsed_s, 12.0);
}

TEST(Engine, TlsHandshakeFailureIsTls) {
  LoadTarget target({LoadTarget::Mode::reset});  // resets the connection on the ClientHello
  const auto plan = plan_for("target: https://127.0.0.1:" + std::to_string(target.port()) + R"(
journeys: [{steps: [{request: {path: /}}]}]
load: {executor: constant-vus, vus: 1, duration: 200ms}
)");
  const auto r = run(plan);
  EXPECT_GT(r.totals.steps[0].requests, 0u);
  EXPECT_EQ(kind(r, FailureKind::tls), r.totals.steps[0].requests);
}

// A one-route HTTPS server with a self-signed certificate made at start-up.
class TlsTarget {
 public:
  TlsTarget() : ctx_(boost::asio::ssl::context::tls_server), acceptor_(ioc_) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    static const unsigned char kCn[] = "localhost";
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, kCn, -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX_use_certificate(ctx_.native_handle(), cert);
    SSL_CTX_use_PrivateKey(ctx_.native_handle(), key);
    X509_free(cert);
    EVP_PKEY_free(key);
    const boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TlsTarget() {
    ioc_.stop();
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  int handshakes() const { return handshakes_.load(); }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) {
        return;
      }
      boost::asio::co_spawn(ioc_, session(std::move(s)), boost::asio::detached);
      accept();
    });
  }
  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket s) {
    namespace net = boost::asio;
    net::ssl::stream<net::ip::tcp::socket> tls(std::move(s), ctx_);
    boost::system::error_code ec;
    co_await tls.async_handshake(net::ssl::stream_base::server,
                                 net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      co_return;
    }
    ++handshakes_;
    std::string buf;
    for (;;) {
      while (buf.find("\r\n\r\n") == std::string::npos) {
        char tmp[4096];
        const auto n = co_await tls.async_read_some(net::buffer(tmp),
                                                    net::redirect_error(net::use_awaitable, ec));
        if (ec) {
          co_return;
        }
        buf.append(tmp, n);
      }
      buf.erase(0, buf.find("\r\n\r\n") + 4);
      static const std::string kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nover tls\n";
      co_await net::async_write(tls, net::buffer(kResponse),
                                net::redirect_error(net::use_awaitable, ec));
      if (ec) {
        co_return;
      }
    }
  }

  boost::asio::io_context ioc_{1};
  boost::asio::ssl::context ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<int> handshakes_{0};
};

TEST(Engine, HttpsWithKeepAliveAndVerification) {
  TlsTarget target;
  const std::string url = "https://localhost:" + std::to_string(target.port());
  const auto insecure = plan_for("target: {base_url: " + url + R"(, tls: {insecure: true}}
journeys: [{steps: [{request: {path: /}, check: {status: 200, body_contains: over tls}}]}]
load: {executor: constant-vus, vus: 2, duration: 300ms}
)");
  const auto r = run(insecure);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_GT(r.totals.steps[0].requests, 10u);
  EXPECT_EQ(r.totals.failures(), 0u);
  EXPECT_EQ(target.handshakes(), 2);  // one TLS session per VU, kept alive
  // Verification is on by default: a self-signed certificate fails as a TLS error.
  const auto verified = plan_for("target: " + url + R"(
journeys: [{steps: [{request: {path: /}}]}]
load: {executor: constant-vus, vus: 1, duration: 200ms}
)");
  const auto v = run(verified);
  EXPECT_GT(v.totals.steps[0].requests, 0u);
  EXPECT_EQ(kind(v, FailureKind::tls), v.totals.steps[0].requests);
}

TEST(Engine, ConnectionRefused) {
  unsigned short port = 0;
  {
    LoadTarget closed({});
    port = closed.port();
  }  // stopped: nothing listens there now
  const auto plan = plan_for("target: http://127.0.0.1:" + std::to_string(port) + R"(
journeys: [{steps: [{request: {path: /}}]}]
load: {executor: constant-vus, vus: 1, duration: 200ms}
)");
  const auto r = run(plan);
  EXPECT_GT(r.totals.steps[0].requests, 0u);
  EXPECT_EQ(kind(r, FailureKind::connect_refused), r.totals.steps[0].requests);
}

TEST(Engine, ConstantArrivalRateIsOnSchedule) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}}]}]
load: {executor: constant-arrival-rate, rate: 40, duration: 1s, pre_allocated_vus: 2, max_vus: 10}
)");
  const auto r = run(plan, with_threads(2));
  EXPECT_EQ(r.totals.dropped, 0u);
  EXPECT_GE(r.totals.iterations(), 39u);  // 40 due; the last may be cut by the loop's stop
  EXPECT_LE(r.totals.iterations(), 40u);
  EXPECT_EQ(r.totals.failures(), 0u);
}

TEST(Engine, ArrivalsWithoutFreeVuAreDropped) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{steps: [{request: {path: "/slow", query: {ms: 300}}}]}]
load: {executor: constant-arrival-rate, rate: 20, duration: 1s, pre_allocated_vus: 2, max_vus: 2}
)");
  const auto r = run(plan);
  EXPECT_GT(r.totals.dropped, 5u);
  // Every arrival is either run or counted as dropped.
  EXPECT_EQ(r.totals.iterations() + r.totals.dropped, 20u);
}

TEST(Engine, PacingLagIsAddedToCorrectedLatency) {
  LoadTarget target({});
  // One VU, an iteration every 100 ms, but each request takes 250 ms: iterations start late and
  // the lag grows; the corrected duration includes it, the service time does not.
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{steps: [{request: {path: "/slow", query: {ms: 250}}}]}]
load: {executor: constant-vus, vus: 1, duration: 1100ms, pacing: 100ms}
)");
  const auto r = run(plan);
  const auto& s = r.totals.steps[0];
  ASSERT_GE(s.requests, 3u);
  EXPECT_LT(s.service.max_us(), 400'000u);
  EXPECT_GT(s.duration.max_us(), s.service.max_us() + 250'000u);
}

TEST(Engine, RampingVusFollowsStages) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}, think: 20ms}]}]
load: {executor: ramping-vus, start_vus: 0, stages: [{duration: 400ms, target: 4}, {duration: 400ms, target: 4}]}
)");
  const auto r = run(plan, with_threads(2));
  EXPECT_GT(r.totals.requests(), 20u);
  EXPECT_LE(target.connections(), 4u);
  EXPECT_EQ(r.totals.failures(), 0u);
}

TEST(Engine, GracefulStopCutsLongThinkTime) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}, think: 5s}, {request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 2, duration: 200ms, graceful_stop: 200ms}
)");
  const auto r = run(plan);
  EXPECT_LT(r.elapsed_s, 2.0);
  EXPECT_EQ(r.totals.steps[0].requests, 2u);
  EXPECT_EQ(r.totals.interrupted, 2u);
}

TEST(Engine, SpreadsSourceAddressesOverLoopback) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 6, duration: 200ms, source_addresses: 3}
)");
  const auto r = run(plan);
  EXPECT_EQ(r.totals.failures(), 0u);
  EXPECT_EQ(r.source_addresses, 3);
  EXPECT_EQ(target.peer_addresses(),
            (std::set<std::string>{"127.0.0.1", "127.0.0.2", "127.0.0.3"}));
}

TEST(Engine, JtlHasJMeterColumns) {
  LoadTarget target({});
  const std::string path = ::testing::TempDir() + "/run.jtl";
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{name: jm, steps: [{name: "a,b", request: {path: /hello}}, {name: bad, request: {path: /status/503}}]}]
load: {executor: constant-vus, vus: 1, duration: 200ms}
)");
  RunOptions o;
  o.jtl_path = path;
  const auto r = run(plan, o);
  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line,
            "timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,"
            "failureMessage,"
            "bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect");
  std::uint64_t rows = 0;
  bool saw_ok = false;
  bool saw_bad = false;
  while (std::getline(in, line)) {
    ++rows;
    if (line.find(",\"a,b\",200,OK,jm 1-1,text,true,,") != std::string::npos) {
      saw_ok = true;
      EXPECT_THAT(line, HasSubstr(target.url() + "/hello,"));
    }
    if (line.find(",bad,503,Status,jm 1-1,text,false,HTTP error status,") != std::string::npos) {
      saw_bad = true;
    }
  }
  EXPECT_EQ(rows, r.totals.requests());
  EXPECT_TRUE(saw_ok);
  EXPECT_TRUE(saw_bad);
}

TEST(Engine, ThresholdsPassAndFail) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{name: j, steps: [{name: slow, request: {path: /slow, query: {ms: 50}}, check: {status: 200}}, {name: err, request: {path: /status/500}}]}]
load: {executor: constant-vus, vus: 1, duration: 300ms}
thresholds:
  "http_req_duration{step:slow}": ["p(99) < 10s", "p(50) < 5ms"]
  "http_req_failed{step:slow}": ["rate < 0.01"]
  http_req_failed: ["rate < 0.01"]
  checks: ["rate > 0.99"]
  "http_reqs": ["count > 1"]
  "iteration_duration{journey:j}": ["avg > 40ms"]
)");
  const auto r = run(plan);
  const auto results = evaluate_thresholds(plan, r.totals, r.elapsed_s);
  ASSERT_EQ(results.size(), 7u);
  EXPECT_TRUE(results[0].passed);   // p99 < 10s
  EXPECT_FALSE(results[1].passed);  // p50 < 5ms: each takes >= 50ms
  EXPECT_TRUE(results[2].passed);
  EXPECT_FALSE(results[3].passed);  // half the requests are 500s
  EXPECT_NEAR(results[3].measured, 0.5, 0.01);
  EXPECT_TRUE(results[4].passed);
  EXPECT_TRUE(results[5].passed);
  EXPECT_TRUE(results[6].passed);
  const auto summary = format_summary(plan, r, results);
  EXPECT_THAT(summary, HasSubstr("✗ http_req_failed: rate < 0.01"));
  EXPECT_THAT(summary, HasSubstr("✓ http_req_duration{step:slow}: p(99) < 10s"));
  EXPECT_THAT(summary, HasSubstr("http_status="));
  const auto json = format_json(plan, r, results);
  EXPECT_THAT(json, HasSubstr("\"timeline\""));
  EXPECT_THAT(json, HasSubstr("\"histogram\": \"lh1 "));
  const auto csv = format_csv(plan, r);
  EXPECT_THAT(csv, HasSubstr("t_s,vus_busy,vus_allocated,requests,failures,dropped"));
}

TEST(Engine, AbortOnFailStopsEarly) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /status/500}}]}]
load: {executor: constant-vus, vus: 1, duration: 5s}
thresholds:
  http_req_failed: {conditions: ["rate < 0.5"], abort_on_fail: true}
)");
  RunOptions o;
  o.should_abort = [&plan](const MetricSet& t, double elapsed) {
    for (const auto& res : evaluate_thresholds(plan, t, elapsed)) {
      if (!res.passed && res.threshold->abort_on_fail) {
        return true;
      }
    }
    return false;
  };
  const auto r = run(plan, o);
  EXPECT_TRUE(r.aborted);
  EXPECT_LT(r.elapsed_s, 3.0);
}

TEST(Engine, HeaderInjectionIsAFailedSampleNeverSent) {
  LoadTarget target({});
  auto plan = plan_for("target: " + target.url() + R"(
variables: {who: "ann\r\nX-Admin: true"}
journeys: [{steps: [{name: hello, request: {path: /hello, headers: {X-User: "{{ who }}"}}}]}]
load: {executor: constant-vus, vus: 1, duration: 300ms}
)");
  const auto r = run(plan);
  EXPECT_GT(kind(r, FailureKind::invalid_request), 0U);
  EXPECT_EQ(kind(r, FailureKind::invalid_request), r.totals.steps[0].requests);
  EXPECT_EQ(target.requests(), 0U);
  ASSERT_EQ(r.notes.size(), 1U);
  EXPECT_THAT(r.notes[0], HasSubstr("X-User"));
}

TEST(Engine, EachRunHasItsOwnSeedAndASeedReproducesARun) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys:
  - steps:
      - request: {method: POST, path: /api/checkout, headers: {Idempotency-Key: "{{ uuid() }}"}}
load: {executor: constant-vus, vus: 2, duration: 200ms, pacing: 50ms}
)");  // paced: the target keeps only its first 10 000 keys
  auto keys_of_run = [&](std::uint64_t seed) {
    const auto before = target.seen("idempotency-key").size();
    RunOptions options;
    options.seed = seed;
    const auto r = run(plan, options);
    EXPECT_EQ(r.seed, seed);
    auto all = target.seen("idempotency-key");
    return std::vector<std::string>(all.begin() + static_cast<std::ptrdiff_t>(before), all.end());
  };
  const auto first = keys_of_run(11);
  const auto other = keys_of_run(12);
  const auto again = keys_of_run(11);
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(other.empty());
  ASSERT_FALSE(again.empty());
  // Another seed: none of its keys was sent before (a replayed key would replay an order).
  for (const auto& key : other) {
    EXPECT_EQ(std::count(first.begin(), first.end(), key), 0) << key;
  }
  // The same seed: the same keys, VU by VU (each VU's first key is one of the first run's).
  EXPECT_GT(std::count(first.begin(), first.end(), again.front()), 0);
}

}  // namespace
}  // namespace crest::load
