// The live Prometheus reader against a stand-in Prometheus API on loopback (libs/http's server):
// the queries it sends, and the bundle it returns, which the offline parser reads.
#include <future>
#include <memory>
#include <mutex>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "crest/diagnose/command.hpp"
#include "crest/diagnose/parsers.hpp"
#include "crest/http/server.hpp"
#include "crest/metrics/registry.hpp"

namespace crest::diagnose {
namespace {

using ::testing::HasSubstr;

class FakePrometheus {
 public:
  FakePrometheus() {
    http::Router router;
    router.add("GET", "/api/v1/query_range", [this](http::Request& r) {
      std::lock_guard lock(mutex_);
      queries_.push_back(r.query("query").value_or(""));
      if (r.query("start").value_or("") != "1796025600.000" ||
          r.query("step").value_or("") != "1") {
        return http::Response::json(400, {{"status", "error"}, {"error", "bad range"}});
      }
      nlohmann::json series = nlohmann::json::array();
      series.push_back({{"metric", {{"job", "catalog"}}},
                        {"values", {{1796025600, "0.5"}, {1796025601, "0.7"}}}});
      return http::Response::json(
          200, {{"status", "success"}, {"data", {{"resultType", "matrix"}, {"result", series}}}});
    });
    http::ServerOptions options;
    options.port = 0;
    options.event_loops = 1;
    server_ = std::make_unique<http::Server>(options, std::move(router),
                                             std::vector<http::Middleware>{}, registry_);
    EXPECT_TRUE(server_->listen().ok());
    done_ = std::async(std::launch::async, [this] { server_->run(); });
  }
  ~FakePrometheus() {
    server_->drain();
    done_.wait();
  }
  std::uint16_t port() const { return server_->port(); }
  std::vector<std::string> queries() {
    std::lock_guard lock(mutex_);
    return queries_;
  }

 private:
  metrics::Registry registry_;
  std::unique_ptr<http::Server> server_;
  std::future<void> done_;
  std::mutex mutex_;
  std::vector<std::string> queries_;
};

TEST(PrometheusReader, FetchesEveryQueryIntoABundle) {
  FakePrometheus prometheus;
  const auto queries = default_prometheus_queries();
  auto bundle = fetch_prometheus_bundle("http://127.0.0.1:" + std::to_string(prometheus.port()),
                                        queries, 1796025600, 1796025660, 1);
  ASSERT_TRUE(bundle.ok()) << bundle.error().message;
  const auto seen = prometheus.queries();
  ASSERT_EQ(seen.size(), queries.size());
  EXPECT_EQ(seen[0], queries[0].promql);  // percent-encoded on the way, decoded by the server
  EXPECT_THAT(seen.back(), HasSubstr("container_cpu_cfs_throttled_periods_total"));
  auto series = parse_prometheus_query_range(*bundle, "live");
  ASSERT_TRUE(series.ok()) << series.error().message;
  ASSERT_EQ(series->size(), queries.size());
  EXPECT_EQ((*series)[0].name, "http_server_request_duration_seconds_p99");
  EXPECT_EQ((*series)[0].v, (std::vector<double>{0.5, 0.7}));
}

TEST(PrometheusReader, AnErrorAnswerIsAnError) {
  FakePrometheus prometheus;
  auto bundle = fetch_prometheus_bundle("127.0.0.1:" + std::to_string(prometheus.port()),
                                        default_prometheus_queries(), 1796025601, 1796025660, 1);
  ASSERT_FALSE(bundle.ok());
  EXPECT_THAT(bundle.error().message, HasSubstr("answered 400"));
  EXPECT_THAT(bundle.error().message, HasSubstr("bad range"));
}

TEST(PrometheusReader, NobodyListeningIsUnavailable) {
  auto bundle =
      fetch_prometheus_bundle("http://127.0.0.1:1", default_prometheus_queries(), 0, 60, 1);
  ASSERT_FALSE(bundle.ok());
  EXPECT_EQ(bundle.error().kind, ErrorKind::unavailable);
}

}  // namespace
}  // namespace crest::diagnose
