#include "crest/http/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "crest/http/client.hpp"
#include "crest/http/errors.hpp"
#include "crest/metrics/registry.hpp"

namespace crest::http {
namespace {

using namespace std::chrono_literals;

// A server on a free port, run on a background thread for the length of a test.
class TestServer {
 public:
  explicit TestServer(Router router, ServerOptions options = {}) {
    options.port = 0;
    options.event_loops = 2;
    options.blocking_threads = 4;
    server_ = std::make_unique<Server>(
        options, std::move(router), standard_middleware(log::Logger("test"), registry_), registry_);
    const auto listening = server_->listen();
    EXPECT_TRUE(listening.ok()) << listening.error().message;
    done_ = std::async(std::launch::async, [this] { server_->run(); });
  }
  ~TestServer() {
    server_->stop_accepting();
    done_.wait();
  }
  std::uint16_t port() const { return server_->port(); }
  Server& server() { return *server_; }
  std::future<void>& done() { return done_; }
  metrics::Registry& registry() { return registry_; }

 private:
  metrics::Registry registry_;
  std::unique_ptr<Server> server_;
  std::future<void> done_;
};

Router demo_routes() {
  Router router;
  router.add("GET", "/hello", [](Request&) { return Response::json(200, {{"hello", "world"}}); });
  router.add("POST", "/echo", [](Request& r) { return Response::text(200, r.body); });
  router.add("GET", "/conflict",
             [](Request&) -> Response { throw ConflictError("already there"); });
  router.add("GET", "/busy",
             [](Request&) -> Response { throw ServiceUnavailable("try later", 3); });
  router.add("GET", "/bug",
             [](Request&) -> Response { throw std::runtime_error("secret detail"); });
  router.add_blocking("GET", "/slow", [](Request&) {
    std::this_thread::sleep_for(300ms);
    return Response::text(200, "slow done");
  });
  return router;
}

ClientRequest get(std::string target) {
  ClientRequest r;
  r.target = std::move(target);
  return r;
}

// Sends raw bytes and returns whatever the server answers before closing.
std::string raw_exchange(std::uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string out;
  char buffer[4096];
  for (;;) {
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

TEST(Server, ServesAndKeepsConnectionsAlive) {
  TestServer server(demo_routes());
  HttpClient client("127.0.0.1", server.port());
  for (int i = 0; i < 3; ++i) {
    auto response = client.send(get("/hello"));
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, R"({"hello":"world"})");
    EXPECT_EQ(response->headers.get("Content-Type").value_or(""), "application/json");
  }
}

TEST(Server, MapsTypedExceptionsToJsonErrors) {
  TestServer server(demo_routes());
  HttpClient client("127.0.0.1", server.port());
  auto conflict = client.send(get("/conflict"));
  ASSERT_TRUE(conflict.ok());
  EXPECT_EQ(conflict->status, 409);
  EXPECT_EQ(conflict->body, R"({"error":{"code":"conflict","message":"already there"}})");
  auto busy = client.send(get("/busy"));
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->headers.get("Retry-After").value_or(""), "3");
  auto bug = client.send(get("/bug"));
  EXPECT_EQ(bug->status, 500);
  EXPECT_EQ(bug->body.find("secret detail"), std::string::npos);  // details stay in the log
  auto missing = client.send(get("/nope"));
  EXPECT_EQ(missing->status, 404);
}

TEST(Server, RejectsOversizedBodiesWith413) {
  ServerOptions options;
  options.body_limit = 1024;
  TestServer server(demo_routes(), options);
  HttpClient client("127.0.0.1", server.port());
  ClientRequest small{"POST", "/echo", {}, std::string(1000, 'a')};
  EXPECT_EQ(client.send(small)->status, 200);
  ClientRequest big{"POST", "/echo", {}, std::string(5000, 'a')};
  auto response = client.send(big);
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 413);
}

TEST(Server, AnswersMalformedRequestsWith400) {
  TestServer server(demo_routes());
  const auto reply = raw_exchange(server.port(), "GARBAGE\x01 / HTTP/9\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0U) << reply;
  const auto bad_length =
      raw_exchange(server.port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
  EXPECT_EQ(bad_length.rfind("HTTP/1.1 400", 0), 0U) << bad_length;
  // The server is still healthy afterwards.
  HttpClient client("127.0.0.1", server.port());
  EXPECT_EQ(client.send(get("/healthz"))->status, 200);
}

TEST(Server, HealthReadinessAndMetrics) {
  TestServer server(demo_routes());
  HttpClient client("127.0.0.1", server.port());
  EXPECT_EQ(client.send(get("/healthz"))->status, 200);
  EXPECT_EQ(client.send(get("/readyz"))->status, 200);
  server.server().set_readiness_check([] { return std::string("database down"); });
  auto not_ready = client.send(get("/readyz"));
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_NE(not_ready->body.find("database down"), std::string::npos);
  client.send(get("/hello")).value();
  const auto metrics = client.send(get("/metrics"));
  EXPECT_NE(metrics->body.find("http_server_request_duration_seconds_count{http_route=\"/hello\","
                               "http_request_method=\"GET\",http_response_status_code=\"200\"} 1"),
            std::string::npos)
      << metrics->body;
}

TEST(Server, PropagatesRequestIdAndTraceparent) {
  TestServer server(demo_routes());
  HttpClient client("127.0.0.1", server.port());
  ClientRequest request = get("/hello");
  request.headers.set("X-Request-Id", "abc-123");
  request.headers.set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  auto response = client.send(request);
  EXPECT_EQ(response->headers.get("X-Request-Id").value_or(""), "abc-123");
  const std::string trace(response->headers.get("traceparent").value_or(""));
  EXPECT_EQ(trace.substr(0, 36), "00-4bf92f3577b34da6a3ce929d0e0e4736-");
  EXPECT_NE(trace.substr(36, 16), "00f067aa0ba902b7");  // a new span of our own
  request.headers.set("X-Request-Id", "bad id\twith junk");
  request.headers.set("traceparent", "00-zz-00");
  response = client.send(request);
  EXPECT_NE(response->headers.get("X-Request-Id").value_or(""), "bad id\twith junk");
  EXPECT_EQ(response->headers.get("traceparent").value_or("").size(), 55U);
}

TEST(Server, DrainFinishesInFlightRequestsThenStops) {
  ServerOptions options;
  options.drain_grace = 5s;
  options.drain_delay = 0ms;
  auto server = std::make_unique<TestServer>(demo_routes(), options);
  const auto port = server->port();
  std::vector<std::future<Result<Response>>> calls;
  for (int i = 0; i < 3; ++i) {
    calls.push_back(std::async(std::launch::async, [port] {
      HttpClient client("127.0.0.1", port);
      return client.send(get("/slow"));
    }));
  }
  std::this_thread::sleep_for(100ms);  // let the requests reach the handler
  server->server().drain();
  for (auto& call : calls) {
    auto response = call.get();
    ASSERT_TRUE(response.ok()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->headers.get("Connection").value_or(""), "close");
  }
  EXPECT_EQ(server->done().wait_for(3s), std::future_status::ready);
  HttpClient late("127.0.0.1", port);
  EXPECT_FALSE(late.send(get("/hello")).ok());
}

// Opens a connection and returns its descriptor (-1 if refused).
int open_connection(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// How long until the server closes `fd` (reads and drops whatever it sends); `limit` if it does
// not.
std::chrono::milliseconds time_until_closed(int fd, std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  timeval tv{0, 50'000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buffer[4096];
  while (std::chrono::steady_clock::now() - start < limit) {
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) break;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start);
}

TEST(Server, BlockingRoutesRunOnThePoolOthersStayOnTheirLoop) {
  std::mutex mutex;
  std::vector<std::thread::id> loop_threads;
  std::thread::id pool_thread;
  int blocking_calls = 0;
  Router router;
  router.add("GET", "/fast", [&](Request&) {
    std::lock_guard lock(mutex);
    loop_threads.push_back(std::this_thread::get_id());
    return Response::text(200, "fast");
  });
  router.add_blocking("GET", "/db", [&](Request&) {
    std::lock_guard lock(mutex);
    pool_thread = std::this_thread::get_id();
    ++blocking_calls;
    return Response::text(200, "from the database");
  });
  RouteOptions cached;
  cached.blocking = true;
  cached.without_blocking = [&](Request& r) -> std::optional<Response> {
    std::lock_guard lock(mutex);
    loop_threads.push_back(std::this_thread::get_id());
    if (r.path_param("id") == "1") return Response::text(200, "cache hit");
    return std::nullopt;
  };
  router.add(
      "GET", "/cached/{id}",
      [&](Request&) {
        std::lock_guard lock(mutex);
        ++blocking_calls;
        return Response::text(200, "cache miss");
      },
      cached);
  TestServer server(std::move(router));
  HttpClient client("127.0.0.1", server.port());
  EXPECT_EQ(client.send(get("/fast"))->body, "fast");
  EXPECT_EQ(client.send(get("/db"))->body, "from the database");
  EXPECT_EQ(client.send(get("/cached/1"))->body, "cache hit");
  EXPECT_EQ(client.send(get("/fast"))->body, "fast");
  EXPECT_EQ(blocking_calls, 1);
  EXPECT_EQ(client.send(get("/cached/2"))->body, "cache miss");
  EXPECT_EQ(blocking_calls, 2);
  std::lock_guard lock(mutex);
  ASSERT_EQ(loop_threads.size(), 4U);
  // One connection stays on one loop thread; the blocking handler ran elsewhere.
  EXPECT_EQ(std::set<std::thread::id>(loop_threads.begin(), loop_threads.end()).size(), 1U);
  EXPECT_NE(pool_thread, loop_threads.front());
  EXPECT_NE(pool_thread, std::thread::id());
}

TEST(Server, DrainKeepsServingWhileReadyzSays503ThenStopsAccepting) {
  ServerOptions options;
  options.drain_delay = 600ms;
  auto server = std::make_unique<TestServer>(demo_routes(), options);
  const auto port = server->port();
  HttpClient kept("127.0.0.1", port);
  ASSERT_EQ(kept.send(get("/readyz"))->status, 200);
  server->server().drain();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(kept.send(get("/readyz"))->status, 503);
  EXPECT_EQ(kept.send(get("/hello"))->status, 200);  // keep-alive clients are still served
  HttpClient fresh("127.0.0.1", port);               // and new ones are still accepted
  auto response = fresh.send(get("/hello"));
  ASSERT_TRUE(response.ok()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_NE(server->done().wait_for(0ms), std::future_status::ready);
  EXPECT_EQ(server->done().wait_for(3s), std::future_status::ready);  // then it stops
  EXPECT_EQ(open_connection(port), -1);
}

TEST(Server, UnknownTransferEncodingIs501AndTheBodyIsNeverARequest) {
  TestServer server(demo_routes());
  for (const char* encoding : {"xchunked", "gzip, chunked", "chunked, identity"}) {
    const auto reply = raw_exchange(server.port(), std::string("POST /echo HTTP/1.1\r\nHost: x\r\n"
                                                               "Transfer-Encoding: ") +
                                                       encoding +
                                                       "\r\n\r\nGET /hello HTTP/1.1\r\nHost: "
                                                       "x\r\n\r\n");
    EXPECT_EQ(reply.rfind("HTTP/1.1 501", 0), 0U) << encoding << ": " << reply;
    EXPECT_EQ(reply.find("world"), std::string::npos) << encoding << ": " << reply;
  }
  const auto two_fields = raw_exchange(server.port(),
                                       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                       "gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(two_fields.rfind("HTTP/1.1 501", 0), 0U) << two_fields;
  const auto chunked = raw_exchange(server.port(),
                                    "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.rfind("HTTP/1.1 200", 0), 0U) << chunked;
  EXPECT_NE(chunked.find("abc"), std::string::npos) << chunked;
}

TEST(Server, ObsoleteLineFoldingIs400) {
  TestServer server(demo_routes());
  const auto reply = raw_exchange(
      server.port(), "GET /hello HTTP/1.1\r\nHost: x\r\nX-Long: first\r\n second\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0U) << reply;
}

TEST(Server, HeaderMustArriveWithinTheHeaderDeadline) {
  ServerOptions options;
  options.header_timeout = 300ms;
  options.idle_timeout = 10s;
  TestServer server(demo_routes(), options);
  const int fd = open_connection(server.port());
  ASSERT_GE(fd, 0);
  const std::string partial = "GET /hello HTTP/1.1\r\nHost: x\r\n";
  (void)::send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
  const auto lived = time_until_closed(fd, 5s);
  ::close(fd);
  EXPECT_LT(lived, 2s);
  EXPECT_GE(lived, 200ms);
  // An idle keep-alive connection (no byte yet) still gets the idle timeout.
  const int idle = open_connection(server.port());
  EXPECT_GE(time_until_closed(idle, 800ms), 800ms);
  ::close(idle);
}

TEST(Server, ConnectionsBeyondTheMaximumAreClosedAtOnceAndCounted) {
  ServerOptions options;
  options.max_connections = 2;
  TestServer server(demo_routes(), options);
  const int first = open_connection(server.port());
  const int second = open_connection(server.port());
  std::this_thread::sleep_for(100ms);
  const int third = open_connection(server.port());
  ASSERT_GE(third, 0);
  EXPECT_LT(time_until_closed(third, 2s), 1s);
  ::close(third);
  ::close(first);
  std::this_thread::sleep_for(100ms);
  HttpClient client("127.0.0.1", server.port());
  EXPECT_EQ(client.send(get("/hello"))->status, 200);
  const auto metrics = server.registry().render();
  EXPECT_NE(metrics.find("http_server_rejected_connections_total{reason=\"max_connections\"} 1"),
            std::string::npos)
      << metrics;
  ::close(second);
}

TEST(Server, HeadWorksWhereverGetDoes) {
  TestServer server(demo_routes());
  const auto reply =
      raw_exchange(server.port(), "HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0U) << reply;
  EXPECT_NE(reply.find("Content-Length: 17"), std::string::npos) << reply;  // {"hello":"world"}
  EXPECT_EQ(reply.find("world"), std::string::npos) << reply;
  const auto healthz =
      raw_exchange(server.port(), "HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(healthz.rfind("HTTP/1.1 200", 0), 0U) << healthz;
  const auto post = raw_exchange(server.port(),
                                 "POST /hello HTTP/1.1\r\nHost: x\r\n"
                                 "Content-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_NE(post.find("Allow: GET, HEAD"), std::string::npos) << post;
}

TEST(Server, CountsCpusFromTheCgroupQuota) {
  EXPECT_EQ(parse_cgroup_v2_cpu_max("200000 100000\n"), 2.0);
  EXPECT_EQ(parse_cgroup_v2_cpu_max("150000 100000"), 1.5);
  EXPECT_EQ(parse_cgroup_v2_cpu_max("max 100000\n"), std::nullopt);
  EXPECT_EQ(parse_cgroup_v2_cpu_max(""), std::nullopt);
  EXPECT_GE(available_cpus(), 1);
  EXPECT_LE(available_cpus(), static_cast<int>(std::thread::hardware_concurrency()));
}

TEST(Client, ReportsConnectRefusedAndTimeouts) {
  HttpClient refused("127.0.0.1", 1);
  auto r = refused.send(get("/"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::unavailable);

  // A listener that accepts (via the backlog) but never answers.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ClientOptions options;
  options.request_timeout = 200ms;
  HttpClient silent("127.0.0.1", ntohs(addr.sin_port), options);
  const auto start = std::chrono::steady_clock::now();
  auto t = silent.send(get("/"));
  ::close(fd);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().kind, ErrorKind::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(Client, RetriesOnceWhenTheServerClosedAnIdleConnection) {
  ServerOptions options;
  options.idle_timeout = 100ms;
  TestServer server(demo_routes(), options);
  HttpClient client("127.0.0.1", server.port());
  ASSERT_TRUE(client.send(get("/hello")).ok());
  std::this_thread::sleep_for(300ms);  // the server closes the idle connection
  auto again = client.send(get("/hello"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->status, 200);
}

TEST(Client, ParsesHostPort) {
  auto parsed = parse_base_url("http://127.0.0.1:8082/");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->host, "127.0.0.1");
  EXPECT_EQ(parsed->port, 8082);
  EXPECT_FALSE(parse_base_url("127.0.0.1").ok());
  EXPECT_FALSE(parse_base_url("host:99999").ok());
  EXPECT_FALSE(parse_base_url("host:12a").ok());
}

}  // namespace
}  // namespace crest::http
