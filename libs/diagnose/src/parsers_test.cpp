#include "crest/diagnose/parsers.hpp"

#include "crest/metrics/latency_histogram.hpp"

#include <algorithm>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace crest::diagnose {
namespace {

using ::testing::HasSubstr;

constexpr const char* kQueryRange = R"({
  "status": "success",
  "data": {
    "resultType": "matrix",
    "result": [
      {"metric": {"__name__": "container_cpu_usage_seconds_total", "container": "catalog", "pod": "catalog-1"},
       "values": [[1700000000, "1.5"], [1700000001, "2.5"], [1700000002, "NaN"]]},
      {"metric": {"job": "orders"},
       "values": [[1700000000.5, "0.25"]]}
    ]
  }
})";

TEST(PrometheusQueryRange, ReadsMatrixAndNamesUnnamedSeries) {
  auto r = parse_prometheus_query_range(kQueryRange, "prom.json", "orders_p99");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "container_cpu_usage_seconds_total");
  EXPECT_EQ((*r)[0].label("container"), "catalog");
  EXPECT_EQ((*r)[0].v, (std::vector<double>{1.5, 2.5}));  // NaN dropped
  EXPECT_EQ((*r)[1].name, "orders_p99");
  EXPECT_DOUBLE_EQ((*r)[1].t[0], 1700000000.5);
}

TEST(PrometheusQueryRange, ReadsCrestBundle) {
  const std::string bundle =
      std::string(R"({"queries":[{"name":"p99","query":"x","response":)") + kQueryRange + "}]}";
  auto r = parse_prometheus_query_range(bundle, "bundle.json");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].name, "p99");
}

TEST(PrometheusQueryRange, MalformedAndTruncatedNameFileAndLine) {
  const std::string text = kQueryRange;
  auto truncated = parse_prometheus_query_range(text.substr(0, text.size() / 2), "prom.json");
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.error().message, HasSubstr("prom.json:"));
  EXPECT_THAT(truncated.error().message, HasSubstr("truncated"));

  auto garbage = parse_prometheus_query_range("{\n\"status\": \"success\",\n  oops }", "prom.json");
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.error().message, HasSubstr("prom.json:3:"));

  auto bad_value = parse_prometheus_query_range(
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"x"]]}]}})",
      "p.json");
  ASSERT_FALSE(bad_value.ok());
  EXPECT_THAT(bad_value.error().message, HasSubstr("result[0].values[0]"));

  auto wrong = parse_prometheus_query_range(R"({"status":"error","error":"bad query"})", "p.json");
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.error().message, HasSubstr("bad query"));
}

TEST(CloudWatch, ReadsGetMetricDataNewestFirst) {
  auto r =
      parse_cloudwatch_metric_data(R"({"MetricDataResults":[{"Id":"m1","Label":"CPUUtilization",
    "Timestamps":["2026-11-30T08:02:00Z","2026-11-30T08:01:00Z"],"Values":[80.5,20.0],"StatusCode":"Complete"}],
    "Messages":[]})",
                                   "cw.json");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].name, "CPUUtilization");
  EXPECT_EQ((*r)[0].v, (std::vector<double>{20.0, 80.5}));
  EXPECT_LT((*r)[0].t[0], (*r)[0].t[1]);

  auto mismatch = parse_cloudwatch_metric_data(
      R"({"MetricDataResults":[{"Id":"m1","Timestamps":["2026-11-30T08:02:00Z"],"Values":[]}]})",
      "cw.json");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_THAT(mismatch.error().message,
              HasSubstr("cw.json: MetricDataResults[0]: 1 Timestamps but 0 Values"));
  EXPECT_FALSE(
      parse_cloudwatch_metric_data(R"({"MetricDataResults":[{"Id":"m1",)", "cw.json").ok());
}

TEST(LoadRun, TimelineBecomesSloSeries) {
  auto r = parse_load_run(R"({"timeline":[
      {"t":1.0,"requests":100,"failures":0,"p50_ms":2,"p99_ms":10,"steps":{"home":{"requests":100,"failures":0}}},
      {"t":2.0,"requests":50,"failures":5,"p50_ms":3,"p99_ms":90,"steps":{"home":{"requests":50,"failures":5}}},
      {"t":3.0,"requests":0,"failures":0,"p50_ms":0,"p99_ms":0,"steps":{}}]})",
                          "run.json", 1000.0);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Series* p99 = nullptr;
  const Series* errors = nullptr;
  const Series* step = nullptr;
  for (const auto& s : *r) {
    if (s.name == "load_p99_ms") p99 = &s;
    if (s.name == "load_error_ratio") errors = &s;
    if (s.name == "load_step_error_ratio") step = &s;
  }
  ASSERT_TRUE(p99 && errors && step);
  EXPECT_EQ(p99->v, (std::vector<double>{10, 90}));  // the empty second has no latency
  EXPECT_DOUBLE_EQ(p99->t[0], 1001.0);
  EXPECT_DOUBLE_EQ(errors->v[1], 0.1);
  EXPECT_EQ(step->label("step"), "home");

  // Per-step p99 from each second's serialised histogram (what `crest run --out json` writes).
  metrics::LatencyHistogram fast, slow;
  fast.record_us(2'000, 99);
  fast.record_us(4'000, 1);
  slow.record_us(250'000, 10);
  const std::string with_histograms =
      R"({"timeline":[{"t":0,"requests":100,"failures":0,"steps":{"search":{"requests":100,"failures":0,"histogram":")" +
      fast.serialise() +
      R"("}}},{"t":1,"requests":10,"failures":0,"steps":{"search":{"requests":10,"failures":0,"histogram":")" +
      slow.serialise() + R"("}}}]})";
  auto steps = parse_load_run(with_histograms, "run.json", 0.0);
  ASSERT_TRUE(steps.ok()) << steps.error().message;
  const Series* step_p99 = nullptr;
  for (const auto& s : *steps) {
    if (s.name == "load_step_p99_ms") step_p99 = &s;
  }
  ASSERT_TRUE(step_p99);
  EXPECT_EQ(step_p99->label("step"), "search");
  ASSERT_EQ(step_p99->v.size(), 2u);
  EXPECT_NEAR(step_p99->v[0], 2.0, 0.01);
  EXPECT_NEAR(step_p99->v[1], 250.0, 0.5);
  auto bad_histogram = parse_load_run(
      R"({"timeline":[{"t":0,"requests":1,"failures":0,"steps":{"s":{"requests":1,"failures":0,"histogram":"lh9 x"}}}]})",
      "run.json");
  ASSERT_FALSE(bad_histogram.ok());
  EXPECT_EQ(bad_histogram.error().message,
            "run.json: timeline[0].steps.s.histogram: not a serialised latency histogram");

  auto missing = parse_load_run(R"({"timeline":[{"t":1}]})", "run.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("run.json: timeline[0]"));
  EXPECT_FALSE(parse_load_run(R"({"plan":"x"})", "run.json").ok());
}

TEST(JsonLogs, ReadsLinesAndReportsTheBadOne) {
  auto r = parse_json_logs(
      "{\"ts\":\"2026-11-30T08:00:00.000Z\",\"level\":\"ERROR\",\"service\":\"catalog\",\"msg\":"
      "\"db timeout\","
      "\"trace_id\":\"abc\"}\n\n"
      "{\"ts\":\"2026-11-30T08:00:01.000Z\",\"level\":\"info\",\"service\":\"cart\",\"msg\":\"ok\"}"
      "\n",
      "svc.log");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].level, "error");
  EXPECT_EQ((*r)[0].trace_id, "abc");
  EXPECT_EQ((*r)[1].line, 3);

  auto bad_ts = parse_json_logs(
      "{\"ts\":\"2026-11-30T08:00:00Z\",\"level\":\"info\"}\n{\"ts\":\"soon\"}\n", "svc.log");
  ASSERT_FALSE(bad_ts.ok());
  EXPECT_EQ(bad_ts.error().message, "svc.log:2: field 'ts' is not an RFC 3339 time");

  auto truncated = parse_json_logs(
      "{\"ts\":\"2026-11-30T08:00:00Z\",\"level\":\"info\"}\n{\"ts\":\"2026-11-30T0", "svc.log");
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.error().message, HasSubstr("svc.log:2: truncated"));

  auto not_object = parse_json_logs("[1,2]\n", "svc.log");
  ASSERT_FALSE(not_object.ok());
  EXPECT_THAT(not_object.error().message, HasSubstr("svc.log:1:"));
}

TEST(LogbackLogs, SpringBoot2And3Patterns) {
  const char* text =
      "2026-11-30 08:00:00.123  INFO 4242 --- [           main] "
      "o.s.b.w.embedded.tomcat.TomcatWebServer  : "
      "Tomcat started\n"
      "2026-11-30T08:00:01.500Z ERROR 4242 --- [catalog] [nio-8080-exec-1] c.e.CatalogController : "
      "query failed\n"
      "java.sql.SQLTransientConnectionException: timeout\n"
      "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)\n"
      "2026-11-30T08:00:02.000+00:00  WARN 4242 --- [nio-8080-exec-2] c.e.Other : slow\n";
  auto r = parse_logback_logs(text, "app.log", "shop");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].service, "shop");
  EXPECT_EQ((*r)[0].message, "Tomcat started");
  EXPECT_EQ((*r)[1].service, "catalog");
  EXPECT_EQ((*r)[1].level, "error");
  EXPECT_THAT((*r)[1].message, HasSubstr("HikariPool"));
  EXPECT_EQ((*r)[2].level, "warn");
  EXPECT_NEAR((*r)[2].t - (*r)[0].t, 1.877, 1e-6);

  auto no_time = parse_logback_logs("hello world\n", "app.log", "shop");
  ASSERT_FALSE(no_time.ok());
  EXPECT_THAT(no_time.error().message, HasSubstr("app.log:1:"));
  auto bad_level =
      parse_logback_logs("2026-11-30 08:00:00.123  LOUD 1 --- [m] x : y\n", "app.log", "shop");
  ASSERT_FALSE(bad_level.ok());
  EXPECT_THAT(bad_level.error().message, HasSubstr("unknown log level 'LOUD'"));
  auto cut = parse_logback_logs("2026-11-30 08:00:00.123  INFO 1 --- [m", "app.log", "shop");
  ASSERT_FALSE(cut.ok());
  EXPECT_THAT(cut.error().message, HasSubstr("app.log:1:"));
}

constexpr const char* kSlowLog =
    "/usr/sbin/mariadbd, Version: 10.11.4-MariaDB-1~deb12u1-log (Debian 12). started with:\n"
    "Tcp port: 3306  Unix socket: /run/mysqld/mysqld.sock\n"
    "Time\t\t    Id Command\tArgument\n"
    "# Time: 261130  8:47:19\n"
    "# User@Host: crest[crest] @ localhost [127.0.0.1]\n"
    "# Thread_id: 8  Schema: crest  QC_hit: No\n"
    "# Query_time: 0.250000  Lock_time: 0.000100  Rows_sent: 3  Rows_examined: 20000\n"
    "# Rows_affected: 0  Bytes_sent: 72\n"
    "use crest;\n"
    "SET timestamp=1796028439;\n"
    "SELECT id, name FROM products\n"
    "  WHERE name LIKE '%red%';\n"
    "# User@Host: crest[crest] @ localhost [127.0.0.1]\n"
    "# Query_time: 0.060000  Lock_time: 0.000000  Rows_sent: 1  Rows_examined: 1\n"
    "SET timestamp=1796028440;\n"
    "SELECT * FROM orders WHERE id = 7;\n";

TEST(SlowLog, ReadsMariaDbEntries) {
  auto r = parse_slow_log(kSlowLog, "slow.log", "primary");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  const auto& q = (*r)[0];
  EXPECT_DOUBLE_EQ(q.t, 1796028439);
  EXPECT_DOUBLE_EQ(q.query_time_s, 0.25);
  EXPECT_EQ(q.rows_examined, 20000u);
  EXPECT_EQ(q.normalized, "SELECT id, name FROM products WHERE name LIKE ?");
  EXPECT_EQ(q.server, "primary");
  EXPECT_EQ(q.line, 7);
  EXPECT_DOUBLE_EQ((*r)[1].t, 1796028440);

  auto series = slow_log_series(*r);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].name, "crest_db_slow_queries");
  EXPECT_EQ(series[0].v, (std::vector<double>{1, 1}));
}

TEST(SlowLog, MalformedAndTruncated) {
  const std::string text = kSlowLog;
  auto truncated = parse_slow_log(text.substr(0, text.find("  WHERE name")), "slow.log", "primary");
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().message,
            "slow.log:7: truncated slow-log entry: the file ends before its statement's ';'");
  auto bad = parse_slow_log("# Query_time: fast  Lock_time: 0\nSELECT 1;\n", "slow.log", "primary");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "slow.log:1: malformed '# Query_time:' line");
  auto no_time = parse_slow_log(
      "# Query_time: 1  Lock_time: 0  Rows_sent: 0  Rows_examined: 0\nSELECT 1;\n", "s.log", "p");
  ASSERT_FALSE(no_time.ok());
  EXPECT_THAT(no_time.error().message, HasSubstr("s.log:1: a slow-log entry without"));
}

TEST(DigestSnapshots, RoundTripAndErrors) {
  DigestSnapshot s;
  s.t = 1796028439.5;
  s.server = "primary";
  s.uptime_s = 10;
  DigestRow row;
  row.digest = "abc";
  row.digest_text = "SELECT * FROM `products` WHERE `name` LIKE ?";
  row.count_star = 10;
  row.sum_timer_wait_ps = 5e12;
  row.sum_no_index_used = 10;
  s.digests.push_back(row);
  s.waits.push_back({"wait/io/table/sql/handler", 1e12});
  const auto line = digest_snapshot_to_json_line(s);
  auto back = parse_digest_snapshots(line + "\n" + line + "\n", "d.jsonl");
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->size(), 2u);
  EXPECT_DOUBLE_EQ((*back)[0].t, s.t);
  EXPECT_EQ((*back)[0].digests[0].digest_text, row.digest_text);
  EXPECT_DOUBLE_EQ((*back)[0].digests[0].sum_timer_wait_ps, 5e12);
  EXPECT_EQ((*back)[0].waits[0].event_name, "wait/io/table/sql/handler");

  auto missing = parse_digest_snapshots(
      line + "\n{\"ts\":\"2026-11-30T08:00:00Z\",\"digests\":[{\"digest\":\"x\"}]}\n", "d.jsonl");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message, "d.jsonl:2: digests[0].count_star: missing");
  auto truncated = parse_digest_snapshots(line.substr(0, line.size() - 10), "d.jsonl");
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.error().message, HasSubstr("d.jsonl:1: truncated"));
}

TEST(ReplicaStatus, LagAndRunning) {
  auto r = parse_replica_status(
      "{\"ts\":\"2026-11-30T08:00:00Z\",\"replica\":\"replica2\",\"seconds_behind_master\":0}\n"
      "{\"ts\":\"2026-11-30T08:00:01Z\",\"replica\":\"replica2\",\"seconds_behind_master\":12}\n"
      "{\"ts\":\"2026-11-30T08:00:02Z\",\"replica\":\"replica2\",\"seconds_behind_master\":null,"
      "\"sql_running\":false}\n",
      "replicas.jsonl");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].name, "crest_replica_lag_seconds");
  EXPECT_EQ((*r)[0].v, (std::vector<double>{0, 12}));
  EXPECT_EQ((*r)[1].v, (std::vector<double>{1, 1, 0}));
  auto bad = parse_replica_status("{\"ts\":\"2026-11-30T08:00:00Z\",\"replica\":\"r\"}\n",
                                  "replicas.jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message,
              HasSubstr("replicas.jsonl:1: field 'seconds_behind_master' is missing"));
}

TEST(AutoscalerLog, DecisionsBecomeStepSeries) {
  auto r = parse_autoscaler_log(
      "{\"ts\":\"2026-11-30T08:00:00.000Z\",\"kind\":\"decision\",\"service\":\"catalog\","
      "\"current\":2,"
      "\"desired\":2,\"max\":4,\"reason\":\"cpu 40%\"}\n"
      "{\"ts\":\"2026-11-30T08:00:03.000Z\",\"kind\":\"decision\",\"service\":\"catalog\","
      "\"current\":2,"
      "\"desired\":4,\"reason\":\"cpu 95%\"}\n"
      "{\"ts\":\"2026-11-30T08:00:05.000Z\",\"kind\":\"pod\",\"service\":\"catalog\",\"current\":4}"
      "\n",
      "as.jsonl");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  auto series = scaling_series(*r);
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[0].name, "crest_autoscaler_desired_replicas");
  EXPECT_EQ(series[0].v, (std::vector<double>{2, 2, 2, 4}));
  EXPECT_EQ(series[2].v, (std::vector<double>{4, 4, 4, 4}));

  auto no_kind =
      parse_autoscaler_log("{\"ts\":\"2026-11-30T08:00:00Z\",\"service\":\"x\"}\n", "as.jsonl");
  ASSERT_FALSE(no_kind.ok());
  EXPECT_EQ(no_kind.error().message, "as.jsonl:1: field 'kind' is missing");
  auto scale_without_to = parse_autoscaler_log(
      "{\"ts\":\"2026-11-30T08:00:00Z\",\"kind\":\"scale\",\"service\":\"x\",\"from\":1}\n",
      "as.jsonl");
  ASSERT_FALSE(scale_without_to.ok());
  EXPECT_EQ(scale_without_to.error().message, "as.jsonl:1: a scale event needs 'from' and 'to'");
  auto no_desired = parse_autoscaler_log(
      "{\"ts\":\"2026-11-30T08:00:00Z\",\"kind\":\"decision\",\"service\":\"x\",\"current\":1}\n",
      "as.jsonl");
  ASSERT_FALSE(no_desired.ok());
  EXPECT_THAT(no_desired.error().message, HasSubstr("as.jsonl:1:"));
}

// The local stack's whole event log (RUNDIR/events.jsonl) reads as it is: its other kinds are
// kept, and only decisions make the replica series.
TEST(AutoscalerLog, AcceptsTheStacksOwnEventKinds) {
  auto r = parse_autoscaler_log(
      "{\"kind\":\"stack\",\"startup_seconds\":21.6,\"state\":\"ready\","
      "\"ts\":\"2026-11-30T15:46:09.589Z\"}\n"
      "{\"current\":1,\"desired\":2,\"kind\":\"decision\",\"reason\":\"cpu\","
      "\"service\":\"users\",\"ts\":\"2026-11-30T15:46:39.000Z\"}\n"
      "{\"from\":1,\"kind\":\"scale\",\"reason\":\"autoscaler\",\"service\":\"users\",\"to\":2,"
      "\"ts\":\"2026-11-30T15:46:40.137Z\"}\n"
      "{\"kind\":\"pod_signal\",\"service\":\"users\",\"instance\":\"users-2\",\"signal\":"
      "\"SIGTERM\",\"in_flight\":0,\"ts\":\"2026-11-30T15:48:40.000Z\"}\n"
      "{\"kind\":\"restart\",\"service\":\"catalog\",\"ts\":\"2026-11-30T15:48:41.000Z\"}\n",
      "events.jsonl");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].kind, "stack");
  EXPECT_EQ((*r)[2].kind, "scale");
  EXPECT_EQ((*r)[2].current, 1);
  EXPECT_EQ((*r)[2].desired, 2);
  EXPECT_EQ((*r)[3].kind, "pod_signal");
  const auto series = scaling_series(*r);
  ASSERT_EQ(series.size(), 2u);  // desired and current of users, from its one decision
  EXPECT_EQ(series[0].label("service"), "users");
}

// Pods waiting for a node, the node being provisioned, and a decision whose metrics asked for
// more replicas than the bounds allowed.
TEST(AutoscalerLog, WaitingPodsAndNodesAndUnmetReplicasBecomeSeries) {
  auto r = parse_autoscaler_log(
      "{\"current\":2,\"desired\":2,\"kind\":\"decision\",\"service\":\"users\","
      "\"metrics\":[{\"metric\":\"cpu\",\"proposal\":5},{\"metric\":\"memory\","
      "\"proposal\":1}],\"reason\":\"TooManyReplicas\",\"ts\":\"2026-11-30T10:00:00Z\"}\n"
      "{\"instance\":\"users-3\",\"kind\":\"pod\",\"service\":\"users\","
      "\"transition\":\"pending\",\"ts\":\"2026-11-30T10:00:01Z\"}\n"
      "{\"kind\":\"node\",\"node\":\"node-3\",\"service\":\"node-pool\","
      "\"transition\":\"requested\",\"ts\":\"2026-11-30T10:00:02Z\"}\n"
      "{\"kind\":\"node\",\"node\":\"node-3\",\"service\":\"node-pool\","
      "\"transition\":\"ready\",\"ts\":\"2026-11-30T10:00:32Z\"}\n"
      "{\"instance\":\"users-3\",\"kind\":\"pod\",\"pid\":42,\"service\":\"users\","
      "\"transition\":\"started\",\"ts\":\"2026-11-30T10:00:33Z\"}\n",
      "events.jsonl");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].wanted, 5);
  EXPECT_EQ((*r)[1].subject, "users-3");
  EXPECT_EQ((*r)[2].subject, "node-3");
  EXPECT_EQ((*r)[2].transition, "requested");
  std::map<std::string, Series> by_name;
  for (auto& s : scaling_series(*r)) by_name[s.name + "/" + s.label("service")] = s;
  ASSERT_EQ(by_name.count("crest_node_provisioning_seconds/node-pool"), 1u);
  ASSERT_EQ(by_name.count("crest_pod_pending_seconds/users"), 1u);
  ASSERT_EQ(by_name.count("crest_autoscaler_unmet_replicas/users"), 1u);
  const auto& node = by_name["crest_node_provisioning_seconds/node-pool"];
  EXPECT_EQ(node.v.front(), 0);
  EXPECT_NEAR(*std::max_element(node.v.begin(), node.v.end()), 30, 1.5);
  EXPECT_EQ(node.v.back(), 0);  // ready
  const auto& pods = by_name["crest_pod_pending_seconds/users"];
  EXPECT_NEAR(*std::max_element(pods.v.begin(), pods.v.end()), 32, 1.5);
  EXPECT_EQ(by_name["crest_autoscaler_unmet_replicas/users"].v.front(), 3);  // 5 wanted, 2 had
}

TEST(HaproxyStat, SnapshotsBecomeHealthSeries) {
  const char* text =
      "# ts: 2026-11-30T08:00:00Z\n"
      "# pxname,svname,status,act,hrsp_5xx,\n"
      "catalog,FRONTEND,OPEN,,0,\n"
      "catalog,srv1,UP,1,0,\n"
      "catalog,srv2,UP,1,0,\n"
      "catalog,srv3,MAINT,0,0,\n"
      "catalog,BACKEND,UP,2,0,\n"
      "# ts: 2026-11-30T08:00:01Z\n"
      "# pxname,svname,status,act,hrsp_5xx,\n"
      "catalog,srv1,UP,1,0,\n"
      "catalog,srv2,DOWN,0,3,\n"
      "catalog,BACKEND,UP,1,3,\n";
  auto r = parse_haproxy_stat_snapshots(text, "ha.csv");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const Series* srv2 = nullptr;
  const Series* active = nullptr;
  for (const auto& s : *r) {
    if (s.name == "haproxy_server_status" && s.label("server") == "srv2") srv2 = &s;
    if (s.name == "haproxy_backend_active_servers") active = &s;
  }
  ASSERT_TRUE(srv2 && active);
  EXPECT_EQ(srv2->v, (std::vector<double>{1, 0}));
  EXPECT_EQ(active->v, (std::vector<double>{2, 1}));
  EXPECT_EQ(r->size(), 4u);  // srv1, srv2, active servers, 5xx (srv3 is an unused slot)

  auto no_ts = parse_haproxy_stat_snapshots("# pxname,svname,status\ncatalog,srv1,UP\n", "ha.csv");
  ASSERT_FALSE(no_ts.ok());
  EXPECT_EQ(no_ts.error().message, "ha.csv:2: a stats row before any '# ts: <time>' line");
  auto cut = parse_haproxy_stat_snapshots(
      "# ts: 2026-11-30T08:00:00Z\n# pxname,svname,status,act,hrsp_5xx,\ncatalog,sr", "ha.csv");
  ASSERT_FALSE(cut.ok());
  EXPECT_THAT(cut.error().message, HasSubstr("ha.csv:3:"));
}

TEST(LogRates, CountsErrorsPerServicePerSecond) {
  std::vector<LogEvent> logs{{100.2, "error", "catalog", "x", "", "f", 1},
                             {100.7, "error", "catalog", "y", "", "f", 2},
                             {102.1, "warn", "catalog", "z", "", "f", 3}};
  auto series = log_rate_series(logs);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].name, "log_errors");
  EXPECT_EQ(series[0].v, (std::vector<double>{2, 0, 0}));
  EXPECT_EQ(series[1].v, (std::vector<double>{0, 0, 1}));
}

}  // namespace
}  // namespace crest::diagnose
