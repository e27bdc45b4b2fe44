#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "crest/load/plan.hpp"
#include "crest/profile/access_log.hpp"
#include "crest/profile/traffic_profile.hpp"

namespace crest::profile {
namespace {

using ::testing::HasSubstr;
const std::string kLogs = CREST_PROFILE_EXAMPLES_DIR;

ParsedLog parse_file(const std::string& name, LogFormat format) {
  std::ifstream in(kLogs + "/" + name);
  auto log = parse_access_log(in, name, format);
  EXPECT_TRUE(log.ok()) << (log.ok() ? "" : log.error().message);
  return log.ok() ? *log : ParsedLog{};
}

TEST(RouteTemplate, FoldsIdsKeepsWords) {
  EXPECT_EQ(route_template("/api/products/123"), "/api/products/{id}");
  EXPECT_EQ(route_template("/api/orders/550e8400-e29b-41d4-a716-446655440000/items/7"),
            "/api/orders/{id}/items/{id}");
  EXPECT_EQ(route_template("/api/orders/o-17"), "/api/orders/{id}");
  EXPECT_EQ(route_template("/t/0123456789abcdef0123"), "/t/{id}");
  EXPECT_EQ(route_template("/api/v2/products"), "/api/{id}/products")
      << "v2 is id-shaped: documented";
  EXPECT_EQ(route_template("/api/products/mugs"), "/api/products/mugs");
  EXPECT_EQ(route_template("/"), "/");
  EXPECT_EQ(percent_decode("/caf%C3%A9%20x/100%25/%zz/%2"), "/café x/100%/%zz/%2");
}

TEST(AccessLog, EdgeCasesParseAsDocumented) {
  const auto log = parse_file("edge-cases.nginx.log", LogFormat::automatic);
  EXPECT_EQ(log.format, LogFormat::nginx_combined);
  EXPECT_EQ(log.lines, 12u);
  EXPECT_EQ(log.records.size(), 7u);
  EXPECT_EQ(log.malformed, 5u);
  ASSERT_EQ(log.examples.size(), 5u);
  EXPECT_EQ(log.examples[0].line_number, 6u);
  EXPECT_THAT(log.examples[1].reason, HasSubstr("request line '-'"));
  EXPECT_THAT(log.examples[2].reason, HasSubstr("31/Foo/2026"));
  EXPECT_THAT(log.examples[3].reason, HasSubstr("status '999'"));
  EXPECT_THAT(log.examples[4].reason, HasSubstr("unterminated"));
  // IPv6 client, time zone +0100 (10:00:02 UTC), percent-encoded path, no cookie field.
  const auto ipv6 = std::find_if(log.records.begin(), log.records.end(),
                                 [](const AccessRecord& r) { return r.client == "2001:db8::7"; });
  ASSERT_NE(ipv6, log.records.end());
  EXPECT_DOUBLE_EQ(ipv6->time_s - log.records.front().time_s, 2.0);
  EXPECT_EQ(ipv6->path, "/api/products/café crème");
  EXPECT_EQ(ipv6->raw_path, "/api/products/caf%C3%A9%20cr%C3%A8me");
  EXPECT_EQ(ipv6->user_agent, "Mozilla/5.0 (X11; Linux x86_64)");
  EXPECT_EQ(ipv6->session, "");
  const auto& third = log.records[2];  // "theme=dark; session=s1"
  EXPECT_EQ(third.session, "s1");
  EXPECT_EQ(log.records[0].session, "") << "a '-' cookie field is no cookie";

  const auto p = analyse_traffic(log.records);
  EXPECT_EQ(p.session_key, "cookie");
  // s1 (with the cookie-less login of its client before it) and three cookie-less requests.
  EXPECT_EQ(p.sessions, 4u);
  const auto s1 = std::find_if(p.journeys.begin(), p.journeys.end(),
                               [](const JourneyShape& j) { return j.steps.size() == 4; });
  ASSERT_NE(s1, p.journeys.end());
  EXPECT_EQ(s1->steps,
            (std::vector<std::string>{"POST /api/login", "GET /api/products",
                                      "GET /api/products/{id}", "GET /api/orders/{id}"}));
  EXPECT_EQ(p.per_second.size(), 6u);
}

TEST(AccessLog, HaproxyAlbSpringBoot) {
  auto log = parse_file("sample.haproxy.log", LogFormat::automatic);
  EXPECT_EQ(log.format, LogFormat::haproxy);
  ASSERT_EQ(log.records.size(), 4u);
  EXPECT_EQ(log.malformed, 1u);
  EXPECT_EQ(log.records[0].client, "127.0.0.1");
  EXPECT_NEAR(log.records[1].time_s - log.records[0].time_s, 0.405, 1e-6);
  EXPECT_EQ(log.records[1].session, "s9");
  EXPECT_EQ(log.records[2].client, "::1");
  EXPECT_EQ(log.records[2].path, "/api/products/103");
  EXPECT_EQ(log.records[3].status, 503) << "a line without the syslog prefix";

  log = parse_file("sample.alb.log", LogFormat::automatic);
  EXPECT_EQ(log.format, LogFormat::alb);
  ASSERT_EQ(log.records.size(), 3u);
  EXPECT_EQ(log.malformed, 0u);
  EXPECT_EQ(log.records[0].path, "/api/products");
  EXPECT_EQ(log.records[1].client, "2001:db8::1");
  EXPECT_EQ(log.records[1].method, "POST");
  EXPECT_EQ(log.records[2].status, 460);
  EXPECT_NEAR(log.records[1].time_s - log.records[0].time_s, 1.376544, 1e-6);

  log = parse_file("sample.spring-boot.log", LogFormat::automatic);
  EXPECT_EQ(log.format, LogFormat::spring_boot_access);
  ASSERT_EQ(log.records.size(), 4u);
  EXPECT_EQ(log.records[2].session, "abc");
  EXPECT_EQ(log.records[3].client, "0:0:0:0:0:0:0:1");

  // A forced format that fits no line is an error that shows why.
  std::ifstream in(kLogs + "/sample.alb.log");
  auto wrong = parse_access_log(in, "sample.alb.log", LogFormat::haproxy);
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.error().message, HasSubstr("no line parses as haproxy"));
  EXPECT_THAT(wrong.error().message, HasSubstr("line 1:"));
  EXPECT_FALSE(parse_log_format("apache").ok());
}

// 10 sessions a second for 60 s with a spike to 50 between 30 s and 40 s; each session is
// "GET /a" then, 2 s later, "GET /b/<n>" (two thirds) or "POST /c" (one third).
std::vector<AccessRecord> synthetic() {
  std::vector<AccessRecord> out;
  int id = 0;
  for (int s = 0; s < 60; ++s) {
    const int sessions = (s >= 30 && s < 40) ? 50 : 10;
    for (int k = 0; k < sessions; ++k) {
      const double t = 1'800'000'000.0 + s + k / static_cast<double>(sessions);
      const std::string sid = "s" + std::to_string(++id);
      out.push_back({t, "GET", "/a", "/a", 200, "10.0.0.1", "ua", sid});
      if (id % 3 == 0) {
        out.push_back({t + 2, "POST", "/c", "/c", 201, "10.0.0.1", "ua", sid});
      } else {
        const auto path = "/b/" + std::to_string(id % 4);
        out.push_back({t + 2, "GET", path, path, 200, "10.0.0.1", "ua", sid});
      }
    }
  }
  std::sort(out.begin(), out.end(),
            [](const AccessRecord& a, const AccessRecord& b) { return a.time_s < b.time_s; });
  return out;
}

TEST(TrafficProfile, CurveSpikeMixJourneysAndPlan) {
  const auto records = synthetic();
  const auto p = analyse_traffic(records);
  EXPECT_EQ(p.sessions, 1000u);           // 50 s x 10 + 10 s x 50
  EXPECT_NEAR(p.sustained_rps, 20, 0.5);  // two requests per session
  EXPECT_NEAR(p.peak_rps, 100, 1);
  ASSERT_EQ(p.spikes.size(), 1u);
  EXPECT_NEAR(p.spikes[0].peak_rps, 100, 1);
  EXPECT_NEAR(p.spikes[0].start_s, 30, 3);
  EXPECT_NEAR(p.spikes[0].duration_s, 12, 3);  // 30..42 with the second requests
  ASSERT_GE(p.routes.size(), 3u);
  EXPECT_EQ(p.routes[0].route, "/a");
  EXPECT_NEAR(p.routes[0].share, 0.5, 1e-9);
  EXPECT_EQ(p.routes[1].route, "/b/{id}");
  EXPECT_NEAR(p.routes[1].share, 1.0 / 3, 0.01);
  ASSERT_EQ(p.journeys.size(), 2u);
  EXPECT_NEAR(p.journeys[0].share, 2.0 / 3, 0.01);
  EXPECT_NEAR(p.journeys[0].think_after[0].mean_s, 2, 1e-6);
  const auto start =
      std::find_if(p.transitions.begin(), p.transitions.end(),
                   [](const Transition& t) { return t.from == "GET /a" && t.to == "POST /c"; });
  ASSERT_NE(start, p.transitions.end());
  EXPECT_NEAR(start->probability, 1.0 / 3, 0.01);

  PlanOptions o;
  o.scale = 3;
  o.compress = 2;
  const auto yaml = plan_yaml(p, o, "synthetic");
  const auto plan = YAML::Load(yaml);
  EXPECT_EQ(plan["journeys"].size(), 2u);
  EXPECT_THAT(plan["journeys"][0]["steps"][1]["request"]["path"].as<std::string>(),
              ::testing::MatchesRegex(R"(/b/\{\{ pick\([0-3], [0-3], [0-3], [0-3]\) \}\})"));
  EXPECT_EQ(plan["journeys"][0]["steps"][0]["think"].as<std::string>(), "2s");
  const auto load = plan["load"];
  EXPECT_EQ(load["executor"].as<std::string>(), "ramping-arrival-rate");
  EXPECT_NEAR(load["start_rate"].as<double>(), 30, 0.01);  // 10 sessions/s x scale 3
  double peak = 0;
  double total = 0;
  for (const auto& s : load["stages"]) {
    peak = std::max(peak, s["target"].as<double>());
    total += load::parse_duration(s["duration"].as<std::string>())->count() / 1e9;
  }
  EXPECT_NEAR(peak, 150, 0.01);  // 50 x 3
  EXPECT_NEAR(total, 31, 0.01);  // 62 s of log (with the last bucket) / 2
  EXPECT_LE(load["stages"].size(), 41u);
  // The load engine accepts it.
  auto parsed = load::parse_plan(yaml, "profile.yaml");
  EXPECT_TRUE(parsed.ok()) << (parsed.ok() ? "" : parsed.error().message) << "\n" << yaml;
}

}  // namespace
}  // namespace crest::profile
