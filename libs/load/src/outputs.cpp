#include "crest/load/outputs.hpp"

#include <fmt/format.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "crest/report/inputs.hpp"

namespace crest::load {
namespace {

// part as a percentage of whole; 0 when whole is 0.
double percent(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

std::string bytes(double b) {
  if (b >= 1e9) {
    return fmt::format("{:.1f} GB", b / 1e9);
  }
  if (b >= 1e6) {
    return fmt::format("{:.1f} MB", b / 1e6);
  }
  if (b >= 1e3) {
    return fmt::format("{:.1f} kB", b / 1e3);
  }
  return fmt::format("{:.0f} B", b);
}

double ms(std::uint64_t us) {
  return static_cast<double>(us) / 1000;
}

std::string dist(const LatencyHistogram& h) {
  if (h.count() == 0) {
    return "(no samples)";
  }
  return fmt::format("avg={} p(50)={} p(90)={} p(95)={} p(99)={} max={}",
                     format_ms(h.mean_us() / 1000), format_ms(ms(h.percentile_us(50))),
                     format_ms(ms(h.percentile_us(90))), format_ms(ms(h.percentile_us(95))),
                     format_ms(ms(h.percentile_us(99))), format_ms(ms(h.max_us())));
}

std::string dotted(const std::string& name, std::size_t width = 32) {
  std::string s = name;
  while (s.size() < width) {
    s.push_back('.');
  }
  return s + ": ";
}

nlohmann::json hist_json(const LatencyHistogram& h) {
  return {{"count", h.count()},
          {"avg_ms", h.mean_us() / 1000},
          {"min_ms", ms(h.min_us())},
          {"p50_ms", ms(h.percentile_us(50))},
          {"p90_ms", ms(h.percentile_us(90))},
          {"p95_ms", ms(h.percentile_us(95))},
          {"p99_ms", ms(h.percentile_us(99))},
          {"p999_ms", ms(h.percentile_us(99.9))},
          {"max_ms", ms(h.max_us())},
          {"histogram", h.serialise()}};
}

}  // namespace

std::string format_progress(const Progress& p, std::uint64_t dropped_total) {
  const auto* last = p.last;
  const double rps = last != nullptr ? static_cast<double>(last->requests) : 0;
  const double err = last != nullptr ? percent(last->failures, last->requests) : 0;
  const auto p50 = last != nullptr ? ms(last->duration.percentile_us(50)) : 0;
  const auto p99 = last != nullptr ? ms(last->duration.percentile_us(99)) : 0;
  return fmt::format(
      "running {:5.0f}s/{:.0f}s  vus={:<6} req/s={:<8.0f} p50={:<9} p99={:<9} errors={:.2f}%  "
      "dropped={}",
      p.elapsed_s, p.total_s, p.active_vus, rps, format_ms(p50), format_ms(p99), err,
      dropped_total);
}

namespace {

std::string describe_model(const LoadSpec& l) {
  switch (l.executor) {
    case Executor::constant_vus:
      return fmt::format("{} VUs for {}", l.vus,
                         format_ms(static_cast<double>(l.duration.count()) / 1e6));
    case Executor::ramping_vus:
      return fmt::format("up to {} VUs over {} stages", l.peak_vus(), l.stages.size());
    case Executor::constant_arrival_rate:
      return fmt::format("{} iterations per {} for {} (max {} VUs)", l.rate,
                         format_ms(static_cast<double>(l.time_unit.count()) / 1e6),
                         format_ms(static_cast<double>(l.duration.count()) / 1e6), l.max_vus);
    case Executor::ramping_arrival_rate:
      return fmt::format("ramping arrivals over {} stages (max {} VUs)", l.stages.size(),
                         l.max_vus);
    case Executor::per_vu_iterations:
    case Executor::shared_iterations:
      return fmt::format("{} VUs, {} iterations{}", l.vus, l.iterations,
                         l.executor == Executor::per_vu_iterations ? " each" : " shared");
  }
  return "";
}

}  // namespace

std::string format_summary(const Plan& plan, const RunResult& run,
                           const std::vector<ThresholdResult>& thresholds) {
  const auto& t = run.totals;
  const auto& l = plan.load;
  std::string out;
  auto line = [&out](const std::string& s) {
    out += s;
    out += '\n';
  };
  const bool several = plan.scenarios.size() > 1;
  const std::string model =
      several ? fmt::format("{} scenarios", plan.scenarios.size()) : describe_model(l);
  line("");
  line(fmt::format("  plan........: {}", plan.file));
  line(fmt::format(
      "  executor....: {}{}, {} event loop(s){}{}", several ? "" : to_string(l.executor),
      several ? model : ", " + model, run.threads,
      run.workers > 0     ? fmt::format(" on {} worker(s)", run.workers)
      : run.processes > 1 ? fmt::format(" on {} processes", run.processes)
                          : "",
      run.source_addresses > 1 ? fmt::format(", {} source addresses", run.source_addresses) : ""));
  line(fmt::format("  elapsed.....: {:.1f}s{}", run.elapsed_s, run.aborted ? " (aborted)" : ""));
  line(fmt::format("  seed........: {} (--seed {} reproduces it)", run.seed, run.seed));
  if (!run.lost_workers.empty()) {
    line(
        fmt::format("  PARTIAL.....: {} of {} worker(s) lost; the figures cover what the others "
                    "ran and what the lost ones reported before",
                    run.lost_workers.size(), run.workers));
    for (const auto& lost : run.lost_workers) {
      line("                " + lost);
    }
  }
  if (run.stop_reason != "completed") {
    line(fmt::format("  stopped.....: {}{}", run.stop_reason,
                     run.stop_detail.empty() ? "" : " (" + run.stop_detail + ")"));
  }
  if (!thresholds.empty()) {
    line("");
    line("  THRESHOLDS");
    for (const auto& r : thresholds) {
      line(fmt::format("    {} {}: {}  ({})", r.passed ? "✓" : "✗", r.threshold->source,
                       r.condition->text, r.shown));
    }
  }
  const double elapsed = run.elapsed_s;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  LatencyHistogram duration;
  LatencyHistogram service;
  LatencyHistogram ttfb;
  std::array<std::uint64_t, kFailureKinds> kinds{};
  for (const auto& s : t.steps) {
    sent += s.bytes_sent;
    received += s.bytes_received;
    duration.merge(s.duration);
    service.merge(s.service);
    ttfb.merge(s.ttfb);
    for (std::size_t k = 0; k < kinds.size(); ++k) {
      kinds[k] += s.by_kind[k];
    }
  }
  std::uint64_t checks_ok = 0;
  std::uint64_t checks_bad = 0;
  for (const auto& c : t.checks) {
    checks_ok += c[0];
    checks_bad += c[1];
  }
  line("");
  line("  TOTALS");
  if (checks_ok + checks_bad > 0) {
    line("    " + dotted("checks") +
         fmt::format("{:.2f}%  ✓ {}  ✗ {}", percent(checks_ok, checks_ok + checks_bad), checks_ok,
                     checks_bad));
  }
  line("    " + dotted("data_received") +
       fmt::format("{}  {}/s", bytes(static_cast<double>(received)),
                   bytes(static_cast<double>(received) / elapsed)));
  line("    " + dotted("data_sent") +
       fmt::format("{}  {}/s", bytes(static_cast<double>(sent)),
                   bytes(static_cast<double>(sent) / elapsed)));
  line("    " + dotted("dropped_iterations") + fmt::format("{}", t.dropped));
  line("    " + dotted("http_req_duration") + dist(duration));
  line("    " + dotted("http_req_service_duration") + dist(service));
  line("    " + dotted("http_req_waiting (ttfb)") + dist(ttfb));
  const auto reqs = t.requests();
  const auto fails = t.failures();
  line("    " + dotted("http_req_failed") +
       fmt::format("{:.2f}%  {} of {}", percent(fails, reqs), fails, reqs));
  line("    " + dotted("http_reqs") +
       fmt::format("{}  {:.1f}/s", reqs, static_cast<double>(reqs) / elapsed));
  line("    " + dotted("iterations") +
       fmt::format("{}  {:.1f}/s", t.iterations(), static_cast<double>(t.iterations()) / elapsed));
  if (t.interrupted > 0) {
    line("    " + dotted("iterations_interrupted") + fmt::format("{}", t.interrupted));
  }
  line("    " + dotted("vus_max") + fmt::format("{}", run.peak_vus));
  std::string failures;
  for (std::size_t k = 1; k < kinds.size(); ++k) {
    if (kinds[k] > 0) {
      failures += fmt::format("{}{}={}", failures.empty() ? "" : "  ",
                              to_string(static_cast<FailureKind>(k)), kinds[k]);
    }
  }
  line("    " + dotted("failures_by_kind") + (failures.empty() ? "none" : failures));

  line("");
  line(fmt::format("  {:<28} {:>8} {:>9} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>12}", "STEP",
                   "count", "rate/s", "fail%", "p50", "p90", "p95", "p99", "max", "service p99"));
  for (std::size_t i = 0; i < plan.step_names.size(); ++i) {
    const auto& s = t.steps[i];
    line(fmt::format(
        "  {:<28} {:>8} {:>9.1f} {:>6.2f}% {:>10} {:>10} {:>10} {:>10} {:>10} {:>12}",
        plan.step_names[i].substr(0, 28), s.requests, static_cast<double>(s.requests) / elapsed,
        percent(s.failures, s.requests), format_ms(ms(s.duration.percentile_us(50))),
        format_ms(ms(s.duration.percentile_us(90))), format_ms(ms(s.duration.percentile_us(95))),
        format_ms(ms(s.duration.percentile_us(99))), format_ms(ms(s.duration.max_us())),
        format_ms(ms(s.service.percentile_us(99)))));
  }
  line("");
  line(fmt::format("  {:<28} {:>8} {:>9} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10}",
                   "JOURNEY (iteration)", "count", "rate/s", "fail%", "p50", "p90", "p95", "p99",
                   "max"));
  for (std::size_t i = 0; i < plan.journeys.size(); ++i) {
    const auto& j = t.journeys[i];
    line(fmt::format(
        "  {:<28} {:>8} {:>9.1f} {:>6.2f}% {:>10} {:>10} {:>10} {:>10} {:>10}",
        plan.journeys[i].name.substr(0, 28), j.iterations,
        static_cast<double>(j.iterations) / elapsed, percent(j.failed, j.iterations),
        format_ms(ms(j.iteration.percentile_us(50))), format_ms(ms(j.iteration.percentile_us(90))),
        format_ms(ms(j.iteration.percentile_us(95))), format_ms(ms(j.iteration.percentile_us(99))),
        format_ms(ms(j.iteration.max_us()))));
  }
  if (const auto per_scenario = scenario_totals(plan, t); !per_scenario.empty()) {
    line("");
    line(fmt::format("  {:<28} {:>8} {:>9} {:>7} {:>10} {:>10} {:>10} {:>10}  {}", "SCENARIO",
                     "requests", "rate/s", "fail%", "p50", "p99", "iterations", "dropped",
                     "executor"));
    for (std::size_t i = 0; i < plan.scenarios.size() && i < per_scenario.size(); ++i) {
      const auto& sc = per_scenario[i];
      const auto& r = sc.requests;
      line(fmt::format(
          "  {:<28} {:>8} {:>9.1f} {:>6.2f}% {:>10} {:>10} {:>10} {:>10}  {}: {}{}",
          plan.scenarios[i].name.substr(0, 28), r.requests,
          static_cast<double>(r.requests) / elapsed, percent(r.failures, r.requests),
          format_ms(ms(r.duration.percentile_us(50))), format_ms(ms(r.duration.percentile_us(99))),
          sc.iterations.iterations, sc.dropped, to_string(plan.scenarios[i].load.executor),
          describe_model(plan.scenarios[i].load),
          plan.scenarios[i].start_time.count() > 0
              ? ", from " +
                    format_ms(static_cast<double>(plan.scenarios[i].start_time.count()) / 1e6)
              : ""));
    }
  }
  if (!plan.groups.empty()) {
    line("");
    line(fmt::format("  {:<28} {:>8} {:>10} {:>10} {:>10}", "GROUP", "count", "p50", "p99", "max"));
    for (std::size_t i = 0; i < plan.groups.size(); ++i) {
      const auto& g = t.groups[i];
      line(fmt::format("  {:<28} {:>8} {:>10} {:>10} {:>10}", plan.groups[i].name.substr(0, 28),
                       g.count(), format_ms(ms(g.percentile_us(50))),
                       format_ms(ms(g.percentile_us(99))), format_ms(ms(g.max_us()))));
    }
  }
  if (!plan.check_names.empty()) {
    line("");
    line("  CHECKS");
    for (std::size_t i = 0; i < plan.check_names.size(); ++i) {
      const auto& c = t.checks[i];
      const auto all = c[0] + c[1];
      if (all == 0) {
        line(fmt::format("    - {}  no samples", plan.check_names[i]));
        continue;
      }
      line(fmt::format("    {} {}  {:.2f}% ({} of {})", c[1] == 0 ? "✓" : "✗", plan.check_names[i],
                       percent(c[0], all), c[0], all));
    }
  }
  if (!run.notes.empty()) {
    line("");
    line("  FIRST FAILURES");
    for (const auto& note : run.notes) {
      line("    " + note);
    }
  }
  if (!run.recorded.empty()) {
    line("");
    line("  RECORDED (record: true; the values are in the JSON output)");
    for (const auto& r : run.recorded) {
      line(fmt::format("    {}: {}  {} values{}", r.step, r.capture, r.values.size(),
                       r.not_kept == 0 ? ""
                                       : fmt::format(", {} more not kept (limit {} reached)",
                                                     r.not_kept, run.record_limit)));
    }
  }
  line("");
  return out;
}

namespace {

// `value` as a JSON string: plain printable ASCII as it is, anything else through nlohmann::json
// (escapes, and U+FFFD for bytes that are not UTF-8).
void append_json_string(std::string& out, const std::string& value) {
  const bool plain = std::all_of(value.begin(), value.end(), [](char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (plain) {
    out += '"';
    out += value;
    out += '"';
  } else {
    out += nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

// {"step": {"capture": {"count": N, "not_kept": M, "values": [...]}}}: every `record: true`
// capture of the plan, even one that took no value.
void write_recorded(std::string& out, const Plan& plan, const RunResult& run) {
  std::vector<std::string> steps;  // in first-seen order, each once
  for (const auto& r : plan.recorded) {
    if (std::find(steps.begin(), steps.end(), r.step) == steps.end()) steps.push_back(r.step);
  }
  out += "{";
  for (std::size_t s = 0; s < steps.size(); ++s) {
    out += s == 0 ? "\n    " : ",\n    ";
    append_json_string(out, steps[s]);
    out += ": {";
    bool first = true;
    for (const auto& wanted : plan.recorded) {
      if (wanted.step != steps[s]) continue;
      const auto found = std::find_if(run.recorded.begin(), run.recorded.end(), [&](const auto& r) {
        return r.step == wanted.step && r.capture == wanted.capture;
      });
      const bool any = found != run.recorded.end();
      out += first ? "\n      " : ",\n      ";
      first = false;
      append_json_string(out, wanted.capture);
      out += fmt::format(": {{\"count\": {}, \"not_kept\": {}, \"values\": [",
                         any ? found->values.size() : 0, any ? found->not_kept : 0);
      if (any) {
        std::size_t bytes = 0;
        for (const auto& value : found->values) bytes += value.size() + 4;
        out.reserve(out.size() + bytes + 64);  // one allocation, not a doubling per megabyte
        for (std::size_t i = 0; i < found->values.size(); ++i) {
          if (i > 0) out += ", ";
          append_json_string(out, found->values[i]);
        }
      }
      out += "]}";
    }
    out += "\n    }";
  }
  out += "\n  }";
}

}  // namespace

std::string format_json(const Plan& plan, const RunResult& run,
                        const std::vector<ThresholdResult>& thresholds) {
  using nlohmann::json;
  const auto& t = run.totals;
  json j;
  j["plan"] = plan.file;
  j["executor"] = to_string(plan.load.executor);
  j["elapsed_s"] = run.elapsed_s;
  j["threads"] = run.threads;
  j["processes"] = run.processes;
  j["process_max_rss_kib"] = run.max_rss_kib;  // peak RSS summed over the run's processes
  if (run.workers > 0) {                       // crest run --coordinator
    j["workers"] = run.workers;
    j["partial"] = !run.lost_workers.empty();
    j["lost_workers"] = run.lost_workers;
  }
  j["aborted"] = run.aborted;
  j["seed"] = run.seed;
  j["start_unix_ms"] = run.start_unix_ms;
  j["stop_reason"] = run.stop_reason;  // completed | interrupted | abort_on_fail
  if (!run.stop_detail.empty()) {
    j["stop_detail"] = run.stop_detail;  // the signal, or the threshold that aborted the run
  }
  j["notes"] = run.notes;
  // The recorded values are written by hand after the rest (write_recorded): through
  // nlohmann::json each value would cost an allocation and a walk, about 1,000 instructions.
  if (!plan.recorded.empty()) {
    j["recorded_limit"] = run.record_limit;
    for (auto& note : recorded_notes(run.recorded, run.record_limit)) {
      j["notes"].push_back(std::move(note));
    }
  }

  j["vus_max"] = run.peak_vus;
  j["dropped_iterations"] = t.dropped;
  j["iterations_interrupted"] = t.interrupted;
  j["http_reqs"] = t.requests();
  j["http_req_failed"] = t.failures();
  j["iterations"] = t.iterations();
  json steps = json::array();
  for (std::size_t i = 0; i < plan.step_names.size(); ++i) {
    const auto& s = t.steps[i];
    json kinds = json::object();
    for (std::size_t k = 1; k < kFailureKinds; ++k) {
      if (s.by_kind[k] > 0) {
        kinds[to_string(static_cast<FailureKind>(k))] = s.by_kind[k];
      }
    }
    steps.push_back(
        {{"name", plan.step_names[i]},
         {"requests", s.requests},
         {"failures", s.failures},
         {"rate_per_s", static_cast<double>(s.requests) / run.elapsed_s},
         {"failures_by_kind", kinds},
         {"status_classes",
          {{"none", s.by_status_class[0]},
           {"1xx", s.by_status_class[1]},
           {"2xx", s.by_status_class[2]},
           {"3xx", s.by_status_class[3]},
           {"4xx", s.by_status_class[4]},
           {"5xx", s.by_status_class[5]}}},
         {"bytes_sent", s.bytes_sent},
         {"bytes_received", s.bytes_received},
         {"connects", s.connects},
         {"connect_avg_ms", s.connects == 0 ? 0.0
                                            : static_cast<double>(s.connect_us_sum) /
                                                  static_cast<double>(s.connects) / 1000},
         {"http_req_duration", hist_json(s.duration)},
         {"http_req_service_duration", hist_json(s.service)},
         {"http_req_waiting", hist_json(s.ttfb)}});
  }
  j["steps"] = steps;
  json journeys = json::array();
  for (std::size_t i = 0; i < plan.journeys.size(); ++i) {
    const auto& s = t.journeys[i];
    journeys.push_back({{"name", plan.journeys[i].name},
                        {"iterations", s.iterations},
                        {"failed", s.failed},
                        {"iteration_duration", hist_json(s.iteration)}});
  }
  j["journeys"] = journeys;
  json scenarios = json::array();
  const auto per_scenario = scenario_totals(plan, t);
  for (std::size_t i = 0; i < plan.scenarios.size() && i < per_scenario.size(); ++i) {
    const auto& sc = per_scenario[i];
    const auto& spec = plan.scenarios[i];
    json tags = json::object();
    for (const auto& [key, value] : spec.tags) {
      tags[key] = value;
    }
    scenarios.push_back({{"name", spec.name},
                         {"executor", to_string(spec.load.executor)},
                         {"start_time_s", std::chrono::duration<double>(spec.start_time).count()},
                         {"tags", tags},
                         {"requests", sc.requests.requests},
                         {"failures", sc.requests.failures},
                         {"iterations", sc.iterations.iterations},
                         {"iterations_failed", sc.iterations.failed},
                         {"dropped_iterations", sc.dropped},
                         {"checks", {{"passed", sc.checks[0]}, {"failed", sc.checks[1]}}},
                         {"http_req_duration", hist_json(sc.requests.duration)},
                         {"http_req_service_duration", hist_json(sc.requests.service)},
                         {"iteration_duration", hist_json(sc.iterations.iteration)}});
  }
  j["scenarios"] = scenarios;
  json groups = json::array();
  for (std::size_t i = 0; i < plan.groups.size(); ++i) {
    groups.push_back({{"name", plan.groups[i].name}, {"group_duration", hist_json(t.groups[i])}});
  }
  j["groups"] = groups;
  json checks = json::array();
  for (std::size_t i = 0; i < plan.check_names.size(); ++i) {
    checks.push_back(
        {{"name", plan.check_names[i]}, {"passed", t.checks[i][0]}, {"failed", t.checks[i][1]}});
  }
  j["checks"] = checks;
  json th = json::array();
  for (const auto& r : thresholds) {
    th.push_back({{"metric", r.threshold->source},
                  {"condition", r.condition->text},
                  {"value", r.measured},
                  {"passed", r.passed}});
  }
  j["thresholds"] = th;
  json timeline = json::array();
  for (const auto& p : run.timeline) {
    json per_step = json::object();
    for (std::size_t i = 0; i < plan.step_names.size() && i < p.step_requests.size(); ++i) {
      per_step[plan.step_names[i]] = {{"requests", p.step_requests[i]},
                                      {"failures", p.step_failures[i]},
                                      {"histogram", p.step_histograms[i]}};
    }
    timeline.push_back({{"t", p.t},
                        {"vus", p.active_vus},
                        {"vus_allocated", p.allocated_vus},
                        {"requests", p.requests},
                        {"failures", p.failures},
                        {"dropped", p.dropped},
                        {"bytes_received", p.bytes_received},
                        {"bytes_sent", p.bytes_sent},
                        {"p50_ms", ms(p.duration.percentile_us(50))},
                        {"p99_ms", ms(p.duration.percentile_us(99))},
                        {"max_ms", ms(p.duration.max_us())},
                        {"steps", per_step}});
  }
  j["timeline"] = timeline;
  // Recorded values and notes quote what responses held: bytes that are not UTF-8 become U+FFFD.
  auto text = j.dump(2, ' ', false, json::error_handler_t::replace);
  if (!plan.recorded.empty()) {
    text.resize(text.size() - 2);  // "\n}", the closing brace: "recorded" goes last
    text += ",\n  \"recorded\": ";
    write_recorded(text, plan, run);
    text += "\n}";
  }
  return text + "\n";
}

std::string format_csv(const Plan& plan, const RunResult& run) {
  std::string out =
      "t_s,vus_busy,vus_allocated,requests,failures,dropped,bytes_received,bytes_sent,p50_ms,"
      "p90_ms,p99_ms,max_ms";
  for (const auto& name : plan.step_names) {
    std::string n = name;
    for (auto& c : n) {
      if (c == ',' || c == '"') {
        c = '_';
      }
    }
    out += fmt::format(",{0} requests,{0} failures,{0} p99_ms", n);
  }
  out += '\n';
  // t_s: the run's second (1, 2, ...: each row is one second; the last may be shorter).
  std::size_t second = 0;
  for (const auto& p : run.timeline) {
    out += fmt::format("{},{},{},{},{},{},{},{},{:.3f},{:.3f},{:.3f},{:.3f}", ++second,
                       p.active_vus, p.allocated_vus, p.requests, p.failures, p.dropped,
                       p.bytes_received, p.bytes_sent, ms(p.duration.percentile_us(50)),
                       ms(p.duration.percentile_us(90)), ms(p.duration.percentile_us(99)),
                       ms(p.duration.max_us()));
    for (std::size_t i = 0; i < plan.step_names.size(); ++i) {
      double p99 = 0;
      if (i < p.step_histograms.size()) {
        if (auto h = LatencyHistogram::deserialise(p.step_histograms[i])) {
          p99 = ms(h->percentile_us(99));
        }
      }
      out += fmt::format(",{},{},{:.3f}", i < p.step_requests.size() ? p.step_requests[i] : 0,
                         i < p.step_failures.size() ? p.step_failures[i] : 0, p99);
    }
    out += '\n';
  }
  return out;
}

std::string format_html(const Plan& plan, const RunResult& run,
                        const std::vector<ThresholdResult>& thresholds) {
  const auto doc = nlohmann::json::parse(format_json(plan, run, thresholds));
  auto page = report::render_load_run_html(doc, "crest run: " + plan.file);
  return page.ok() ? std::move(*page) : std::string();
}

std::string format_prometheus(const Plan& plan, const MetricSet& t, int active_vus) {
  static constexpr std::array<double, 15> kBuckets = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  auto label = [](const std::string& v) {
    std::string s;
    for (char c : v) {
      if (c == '\\' || c == '"') {
        s.push_back('\\');
        s.push_back(c);
      } else if (c == '\n') {
        s += "\\n";
      } else {
        s.push_back(c);
      }
    }
    return s;
  };
  std::string out;
  out +=
      "# HELP crest_load_requests_total Requests sent by crest run, by step and status class or "
      "failure kind.\n";
  out += "# TYPE crest_load_requests_total counter\n";
  static constexpr std::array<const char*, 6> kClasses = {"error", "1xx", "2xx",
                                                          "3xx",   "4xx", "5xx"};
  for (std::size_t i = 0; i < plan.step_names.size(); ++i) {
    const auto& s = t.steps[i];
    for (std::size_t c = 0; c < kClasses.size(); ++c) {
      if (s.by_status_class[c] > 0 || c == 2) {
        out += fmt::format("crest_load_requests_total{{step=\"{}\",status=\"{}\"}} {}\n",
                           label(plan.step_names[i]), kClasses[c], s.by_status_class[c]);
      }
    }
  }
  out +=
      "# HELP crest_load_request_duration_seconds Request duration from the intended start "
      "(corrected for coordinated omission).\n";
  out += "# TYPE crest_load_request_duration_seconds histogram\n";
  for (std::size_t i = 0; i < plan.step_names.size(); ++i) {
    const auto& h = t.steps[i].duration;
    const auto step = label(plan.step_names[i]);
    for (double b : kBuckets) {
      out += fmt::format("crest_load_request_duration_seconds_bucket{{step=\"{}\",le=\"{}\"}} {}\n",
                         step, b, h.count_at_or_below_us(static_cast<std::uint64_t>(b * 1e6)));
    }
    out += fmt::format("crest_load_request_duration_seconds_bucket{{step=\"{}\",le=\"+Inf\"}} {}\n",
                       step, h.count());
    out += fmt::format("crest_load_request_duration_seconds_sum{{step=\"{}\"}} {:.6f}\n", step,
                       h.mean_us() * static_cast<double>(h.count()) / 1e6);
    out += fmt::format("crest_load_request_duration_seconds_count{{step=\"{}\"}} {}\n", step,
                       h.count());
  }
  out +=
      "# HELP crest_load_active_vus Virtual users running an iteration or waiting between "
      "iterations.\n";
  out += "# TYPE crest_load_active_vus gauge\n";
  out += fmt::format("crest_load_active_vus {}\n", active_vus);
  out += "# HELP crest_load_dropped_iterations_total Arrivals that found no free virtual user.\n";
  out += "# TYPE crest_load_dropped_iterations_total counter\n";
  out += fmt::format("crest_load_dropped_iterations_total {}\n", t.dropped);
  std::uint64_t ok = 0;
  std::uint64_t bad = 0;
  for (const auto& c : t.checks) {
    ok += c[0];
    bad += c[1];
  }
  out += "# HELP crest_load_checks_total Checks evaluated, by result.\n";
  out += "# TYPE crest_load_checks_total counter\n";
  out += fmt::format("crest_load_checks_total{{result=\"pass\"}} {}\n", ok);
  out += fmt::format("crest_load_checks_total{{result=\"fail\"}} {}\n", bad);
  return out;
}

}  // namespace crest::load
