#include "crest/stack/haproxy.hpp"

#include <gtest/gtest.h>

namespace crest::stack {
namespace {

TEST(HaproxyConfig, RoutesStickinessHealthChecksAndSlots) {
  HaproxyConfig config;
  config.port = 18080;
  config.metrics_port = 18081;
  config.socket_path = "/tmp/x.sock";
  config.backends = {{"catalog", {"/api/categories", "/api/products"}, 6},
                     {"cart", {"/api/cart"}, 4}};
  const std::string text = render_haproxy_config(config);
  EXPECT_NE(text.find("bind 127.0.0.1:18080"), std::string::npos);
  EXPECT_NE(text.find("use_backend catalog if { path_beg /api/categories /api/products }"),
            std::string::npos);
  // Template slots are only sticky with `dynamic` cookies and a key.
  EXPECT_NE(text.find("cookie crest_catalog insert indirect nocache dynamic"), std::string::npos);
  EXPECT_NE(text.find("dynamic-cookie-key crest-catalog"), std::string::npos);
  EXPECT_NE(text.find("option httpchk GET /readyz"), std::string::npos);
  EXPECT_NE(text.find("server-template srv 1-6 127.0.0.1:1 check disabled"), std::string::npos);
  EXPECT_NE(text.find("server-template srv 1-4 127.0.0.1:1 check disabled"), std::string::npos);
  EXPECT_NE(text.find("stats socket /tmp/x.sock"), std::string::npos);
  EXPECT_NE(text.find("prometheus-exporter"), std::string::npos);
  EXPECT_EQ(text.find("0.0.0.0"), std::string::npos);
}

TEST(HaproxyRuntime, AMissingSocketIsAnErrorNamingIt) {
  HaproxyRuntime runtime("/nonexistent/haproxy.sock");
  const auto answer = runtime.command("show info");
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.error().message.find("/nonexistent/haproxy.sock"), std::string::npos);
}

}  // namespace
}  // namespace crest::stack
