#include "crest/diagnose/command.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crest/diagnose/diagnosis.hpp"
#include "crest/diagnose/parsers.hpp"
#include "crest/http/client.hpp"

namespace crest::diagnose {

std::vector<PrometheusQuery> default_prometheus_queries() {
  static const char* kNames[] = {"container_cpu_usage_seconds_total",
                                 "container_cpu_cfs_throttled_periods_total",
                                 "container_memory_working_set_bytes",
                                 "container_oom_events_total",
                                 "kube_pod_container_status_restarts_total",
                                 "process_cpu_seconds_total",
                                 "process_resident_memory_bytes",
                                 "http_server_active_requests",
                                 "crest_db_pool_wait_seconds_sum",
                                 "crest_db_queries_total",
                                 "crest_db_query_duration_seconds_sum",
                                 "mysql_global_status_threads_running",
                                 "mysql_global_status_threads_connected",
                                 "mysql_global_status_slow_queries",
                                 "mysql_slave_status_seconds_behind_master",
                                 "mysql_slave_status_slave_sql_running",
                                 "crest_replica_lag_seconds",
                                 "crest_replica_usable",
                                 "crest_cache_requests_total",
                                 "crest_cache_request_duration_seconds_sum",
                                 "crest_cache_request_duration_seconds_count",
                                 "redis_up",
                                 "crest_queue_approximate_messages",
                                 "crest_queue_oldest_message_age_seconds",
                                 "crest_queue_messages_dead_lettered_total",
                                 "crest_queue_messages_deleted_total",
                                 "crest_outbox_pending",
                                 "crest_queue_messages_received_total",
                                 "crest_queue_messages_sent_total",
                                 "crest_aws_requests_total",
                                 "crest_aws_throttled_total",
                                 "crest_aws_request_duration_seconds_sum",
                                 "http_client_request_duration_seconds_sum",
                                 "kube_horizontalpodautoscaler_status_desired_replicas",
                                 "kube_horizontalpodautoscaler_status_current_replicas",
                                 "kube_horizontalpodautoscaler_spec_max_replicas",
                                 "haproxy_backend_active_servers",
                                 "haproxy_backend_http_responses_total",
                                 "up"};
  std::string names;
  for (const char* n : kNames) {
    names += (names.empty() ? "" : "|") + std::string(n);
  }
  return {
      {"http_server_request_duration_seconds_p99",
       "histogram_quantile(0.99, sum by (job, le) "
       "(rate(http_server_request_duration_seconds_bucket[15s])))"},
      {"http_server_error_ratio",
       "sum by (job) "
       "(rate(http_server_request_duration_seconds_count{http_response_status_code=~\"5..\"}[15s]))"
       " / "
       "sum by (job) (rate(http_server_request_duration_seconds_count[15s]))"},
      {"raw", "{__name__=~\"" + names + "\"}"},
  };
}

Result<std::string> fetch_prometheus_bundle(const std::string& base_url,
                                            const std::vector<PrometheusQuery>& queries,
                                            double from, double to, double step_s) {
  auto hp = http::parse_base_url(base_url);
  if (!hp.ok()) {
    return hp.error();
  }
  http::ClientOptions options;
  options.request_timeout = std::chrono::seconds(10);
  options.response_body_limit = 256 * 1024 * 1024;
  http::HttpClient client(hp->host, hp->port, options);
  nlohmann::json bundle{{"queries", nlohmann::json::array()}};
  for (const auto& q : queries) {
    http::ClientRequest request;
    request.target = fmt::format("/api/v1/query_range?query={}&start={:.3f}&end={:.3f}&step={}",
                                 http::url_encode(q.promql), from, to, step_s);
    auto response = client.send(request);
    if (!response.ok()) {
      return Error{response.error().kind,
                   fmt::format("{}: {}", base_url, response.error().message)};
    }
    if (response->status != 200) {
      return Error{ErrorKind::unavailable,
                   fmt::format("{}: query '{}' answered {}: {}", base_url, q.name, response->status,
                               response->body.substr(0, 300))};
    }
    try {
      bundle["queries"].push_back({{"name", q.name},
                                   {"query", q.promql},
                                   {"response", nlohmann::json::parse(response->body)}});
    } catch (const nlohmann::json::exception& e) {
      return Error{ErrorKind::unavailable,
                   fmt::format("{}: query '{}': not JSON: {}", base_url, q.name, e.what())};
    }
  }
  return bundle.dump();
}

namespace {

// "name=FILE" or "FILE": the name defaults to the file's stem.
std::pair<std::string, std::string> split_named(const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq != std::string::npos && arg.find('/') > eq) {
    return {arg.substr(0, eq), arg.substr(eq + 1)};
  }
  auto stem = arg.substr(arg.find_last_of('/') + 1);
  stem = stem.substr(0, stem.find('.'));
  return {stem, arg};
}

template <typename T>
void append(std::vector<T>& into, std::vector<T>&& more) {
  for (auto& x : more) {
    into.push_back(std::move(x));
  }
}

// Parses each file of `list` with `parse(text, path, name)` into `into`.
template <typename T, typename Parse>
Result<void> read_each(const std::vector<std::string>& list, std::vector<T>& into, Parse&& parse) {
  for (const auto& arg : list) {
    auto [name, path] = split_named(arg);
    auto text = read_text_file(path);
    if (!text.ok()) {
      return text.error();
    }
    auto parsed = parse(*text, path, name);
    if (!parsed.ok()) {
      return parsed.error();
    }
    append(into, std::move(*parsed));
  }
  return {};
}

}  // namespace

Result<Inputs> read_inputs(const InputFiles& f) {
  Inputs in;
  using Text = const std::string&;
  std::vector<Result<void>> results;
  results.push_back(read_each(f.prometheus, in.series, [](Text t, Text p, Text) {
    return parse_prometheus_query_range(t, p);
  }));
  results.push_back(read_each(f.cloudwatch, in.series, [](Text t, Text p, Text) {
    return parse_cloudwatch_metric_data(t, p);
  }));
  results.push_back(read_each(f.load_runs, in.series, [&](Text t, Text p, Text) {
    return parse_load_run(t, p, f.load_start);
  }));
  results.push_back(
      read_each(f.json_logs, in.logs, [](Text t, Text p, Text) { return parse_json_logs(t, p); }));
  results.push_back(read_each(f.logback_logs, in.logs,
                              [](Text t, Text p, Text n) { return parse_logback_logs(t, p, n); }));
  results.push_back(read_each(f.slow_logs, in.slow_queries,
                              [](Text t, Text p, Text n) { return parse_slow_log(t, p, n); }));
  results.push_back(read_each(f.digests, in.digest_snapshots,
                              [](Text t, Text p, Text) { return parse_digest_snapshots(t, p); }));
  results.push_back(read_each(f.replica_status, in.series,
                              [](Text t, Text p, Text) { return parse_replica_status(t, p); }));
  results.push_back(read_each(f.autoscaler_logs, in.scaling_events,
                              [](Text t, Text p, Text) { return parse_autoscaler_log(t, p); }));
  results.push_back(read_each(f.haproxy, in.series, [](Text t, Text p, Text) {
    return parse_haproxy_stat_snapshots(t, p);
  }));
  for (const auto& r : results) {
    if (!r.ok()) {
      return r.error();
    }
  }
  return in;
}

int diagnose_command(int argc, char** argv) {
  CLI::App app{
      "crest diagnose: name the root cause of a degradation, with evidence (docs/diagnose.md)",
      "crest diagnose"};
  std::string prometheus, from_text, to_text, save_prometheus, load_start_text, onset_text,
      end_text, markdown, baseline;
  double step = 1;
  InputFiles files;
  bool as_json = false;
  std::size_t top = 15;
  app.add_option("--prometheus", prometheus, "live Prometheus base URL (http://127.0.0.1:9090)");
  app.add_option("--from", from_text,
                 "start of what is read (RFC 3339 or Unix seconds): the range --prometheus "
                 "queries, and a bound on every file input");
  app.add_option("--to", to_text, "end of what is read, as --from");
  app.add_option("--step", step, "with --prometheus: step in seconds (1)");
  app.add_option("--save-prometheus", save_prometheus,
                 "with --prometheus: save the answers (replay with --prometheus-file)");
  app.add_option("--prometheus-file", files.prometheus,
                 "saved query_range JSON or crest bundle (repeatable)");
  app.add_option("--cloudwatch", files.cloudwatch, "CloudWatch GetMetricData JSON (repeatable)");
  app.add_option("--load-run", files.load_runs, "crest run --out json output (repeatable)");
  app.add_option("--load-start", load_start_text,
                 "when the load run started (its timeline is relative)");
  app.add_option("--logs", files.json_logs,
                 "services' JSON logs, one object per line (repeatable)");
  app.add_option("--logback", files.logback_logs,
                 "Spring Boot (Logback) logs, [service=]FILE (repeatable)");
  app.add_option("--slow-log", files.slow_logs,
                 "MySQL/MariaDB slow log, [server=]FILE (repeatable)");
  app.add_option("--digests", files.digests,
                 "performance_schema digest snapshots, JSON lines (repeatable)");
  app.add_option("--replica-status", files.replica_status,
                 "replica status, JSON lines (repeatable)");
  app.add_option("--autoscaler-log", files.autoscaler_logs,
                 "autoscaler event log, JSON lines (repeatable)");
  app.add_option("--haproxy", files.haproxy, "HAProxy 'show stat' CSV snapshots (repeatable)");
  app.add_option("--onset", onset_text, "the incident's start, instead of detecting it");
  app.add_option("--end", end_text, "the incident's end");
  app.add_option("--top", top, "series the rules read from the top of the ranking (15)");
  app.add_option("--baseline", baseline,
                 "'nsigma': rank with mean/stddev z-scores instead (for comparison)");
  app.add_option("--markdown", markdown, "also write a Markdown section a report can embed");
  app.add_flag("--json", as_json, "print JSON");
  std::string save_fixture;
  std::size_t fixture_series = 30;
  app.add_option("--save-fixture", save_fixture,
                 "also write the series this diagnosis ranked, compacted, as a Prometheus bundle "
                 "(replay it with --prometheus-file and the same other inputs but Prometheus)");
  app.add_option("--fixture-series", fixture_series,
                 "with --save-fixture: the best-ranked series kept besides the SLOs (30)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto fail = [](const std::string& message, int code = 2) {
    std::cerr << "crest diagnose: " << message << "\n";
    return code;
  };
  auto time_flag = [&](const std::string& flag, const std::string& text,
                       std::optional<double>& into) {
    if (text.empty()) {
      return true;
    }
    into = parse_time(text);
    if (!into) {
      std::cerr << "crest diagnose: " << flag << ": not a time: '" << text
                << "' (RFC 3339 or Unix seconds)\n";
    }
    return into.has_value();
  };
  std::optional<double> from, to, load_start, onset, end;
  if (!time_flag("--from", from_text, from) || !time_flag("--to", to_text, to) ||
      !time_flag("--load-start", load_start_text, load_start) ||
      !time_flag("--onset", onset_text, onset) || !time_flag("--end", end_text, end)) {
    return 2;
  }
  DiagnoseOptions options;
  options.onset = onset;
  options.end = end;
  options.rule_depth = top;
  if (baseline == "nsigma") {
    options.scorer = Scorer::nsigma;
  } else if (!baseline.empty()) {
    return fail("--baseline: only 'nsigma' is known, not '" + baseline + "'");
  }
  Inputs in;
  bool any_input = false;
  if (!prometheus.empty()) {
    if (!from || !to) {
      return fail("--prometheus needs --from and --to");
    }
    auto bundle =
        fetch_prometheus_bundle(prometheus, default_prometheus_queries(), *from, *to, step);
    if (!bundle.ok()) {
      return fail(bundle.error().message, 1);
    }
    if (!save_prometheus.empty()) {
      std::ofstream(save_prometheus) << *bundle;
    }
    auto series = parse_prometheus_query_range(*bundle, prometheus);
    if (!series.ok()) {
      return fail(series.error().message, 1);
    }
    in.series = std::move(*series);
    any_input = true;
  }
  files.load_start = load_start;
  auto read = read_inputs(files);
  if (!read.ok()) {
    return fail(read.error().message);
  }
  for (auto* list : {&files.prometheus, &files.cloudwatch, &files.load_runs, &files.json_logs,
                     &files.logback_logs, &files.slow_logs, &files.digests, &files.replica_status,
                     &files.autoscaler_logs, &files.haproxy}) {
    any_input = any_input || !list->empty();
  }
  for (auto& s : read->series) {
    in.series.push_back(std::move(s));
  }
  in.logs = std::move(read->logs);
  in.slow_queries = std::move(read->slow_queries);
  in.digest_snapshots = std::move(read->digest_snapshots);
  in.scaling_events = std::move(read->scaling_events);
  if (!any_input) {
    return fail(
        "no input: give at least one of --prometheus, --prometheus-file, --load-run, --logs, ... "
        "(--help)");
  }
  const auto d = diagnose(within(std::move(in), from, to), options);
  std::cout << (as_json ? format_json(d) : format_text(d));
  if (!save_fixture.empty()) {
    std::ofstream out(save_fixture);
    out << compact_fixture_bundle(d, fixture_series);
    if (!out) {
      return fail("cannot write " + save_fixture);
    }
  }
  if (!markdown.empty()) {
    std::ofstream out(markdown);
    out << format_markdown(d);
    if (!out) {
      return fail("cannot write " + markdown);
    }
  }
  return 0;
}

}  // namespace crest::diagnose
