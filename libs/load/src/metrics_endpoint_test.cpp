#include "crest/load/metrics_endpoint.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "crest/load/engine.hpp"
#include "crest/load/outputs.hpp"
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

TEST(MetricsEndpoint, ServesPrometheusText) {
  LoadTarget target({});
  const auto plan = plan_for("target: " + target.url() + R"(
journeys: [{steps: [{name: hello, request: {path: /hello}, check: {status: 200}}]}]
load: {executor: constant-vus, vus: 1, duration: 200ms}
)");
  RunOptions options;
  options.threads = 1;
  const auto r = run_plan(plan, options);
  MetricsEndpoint endpoint;
  ASSERT_TRUE(endpoint.start("127.0.0.1:0").ok());
  endpoint.update(format_prometheus(plan, r.totals, 1));
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s(ioc);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), endpoint.port()});
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  boost::asio::write(s, boost::asio::buffer(req));
  std::string response;
  boost::system::error_code ec;
  char buf[4096];
  while (!ec) {
    const auto n = s.read_some(boost::asio::buffer(buf), ec);
    response.append(buf, n);
  }
  endpoint.stop();
  EXPECT_THAT(response, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(response, HasSubstr("crest_load_requests_total{step=\"hello\",status=\"2xx\"} " +
                                  std::to_string(r.totals.steps[0].requests)));
  EXPECT_THAT(response,
              HasSubstr("crest_load_request_duration_seconds_bucket{step=\"hello\",le=\"+Inf\"}"));
  EXPECT_THAT(response, HasSubstr("crest_load_active_vus 1"));
  EXPECT_THAT(response, HasSubstr("crest_load_dropped_iterations_total 0"));
  EXPECT_THAT(response, HasSubstr("crest_load_checks_total{result=\"pass\"}"));
}

TEST(MetricsEndpoint, RejectsAnAddressThatIsNotHostPort) {
  MetricsEndpoint endpoint;
  EXPECT_FALSE(endpoint.start("localhost").ok());
  EXPECT_FALSE(endpoint.start("127.0.0.1:http").ok());
  EXPECT_FALSE(endpoint.start("not-an-ip:9464").ok());
}

}  // namespace
}  // namespace crest::load
