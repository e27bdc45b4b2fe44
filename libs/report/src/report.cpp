// The report model, its JSON form and the Markdown summary.
#include "crest/report/report.hpp"

#include <fmt/format.h>

namespace crest::report {
namespace {

using nlohmann::json;

json number(double v) {
  return std::isnan(v) ? json(nullptr) : json(v);
}

json series_json(const Series& s) {
  json y = json::array();
  for (double v : s.y) {
    y.push_back(number(v));
  }
  return {{"label", s.label}, {"t", s.t}, {"y", y}};
}

std::string cell(double v, const char* format = "{:.1f}") {
  return std::isnan(v) ? "–" : fmt::format(fmt::runtime(format), v);
}

}  // namespace

const char* to_string(Family family) {
  switch (family) {
    case Family::latency:
      return "latency";
    case Family::errors:
      return "errors";
    case Family::throughput:
      return "throughput";
    case Family::load:
      return "load";
    case Family::resources:
      return "resources";
    case Family::database:
      return "database";
    case Family::cache:
      return "cache";
    case Family::queue:
      return "queue";
    case Family::scaling:
      return "scaling";
  }
  return "unknown";
}

bool Chart::has_data() const {
  for (const auto& s : series) {
    for (double v : s.y) {
      if (!std::isnan(v)) {
        return true;
      }
    }
  }
  return false;
}

bool PhaseSummary::slo_held(const Slo& slo) const {
  return requests > 0 && !std::isnan(p99_ms) && p99_ms < slo.p99_ms &&
         error_rate() < slo.error_rate;
}

Chart* Phase::chart(const std::string& id) {
  for (auto& c : charts) {
    if (c.id == id) {
      return &c;
    }
  }
  return nullptr;
}

json to_json(const Report& report) {
  json phases = json::array();
  for (const auto& p : report.phases) {
    json charts = json::array();
    for (const auto& c : p.charts) {
      json series = json::array();
      for (const auto& s : c.series) {
        series.push_back(series_json(s));
      }
      charts.push_back({{"id", c.id},
                        {"title", c.title},
                        {"unit", c.unit},
                        {"family", to_string(c.family)},
                        {"series", series}});
    }
    json faults = json::array();
    for (const auto& f : p.faults) {
      faults.push_back({{"start", f.start}, {"end", f.end}, {"label", f.label}});
    }
    json events = json::array();
    for (const auto& e : p.events) {
      events.push_back({{"t", e.t}, {"label", e.label}});
    }
    json responses = json::array();
    for (const auto& r : p.scale_responses) {
      responses.push_back({{"service", r.service},
                           {"from", r.from},
                           {"to", r.to},
                           {"decision_t", r.decision_t},
                           {"breach_t", r.breach_t ? json(*r.breach_t) : json(nullptr)},
                           {"serving_t", r.serving_t ? json(*r.serving_t) : json(nullptr)}});
    }
    const auto& s = p.summary;
    json tables = json::array();
    for (const auto& t : p.tables) {
      tables.push_back({{"title", t.title}, {"columns", t.columns}, {"rows", t.rows}});
    }
    phases.push_back({{"name", p.name},
                      {"started_at", number(p.started_at)},
                      {"summary",
                       {{"duration_s", number(s.duration_s)},
                        {"requests", s.requests},
                        {"failures", s.failures},
                        {"error_rate", s.error_rate()},
                        {"throughput_rps", s.throughput_rps},
                        {"p50_ms", number(s.p50_ms)},
                        {"p95_ms", number(s.p95_ms)},
                        {"p99_ms", number(s.p99_ms)},
                        {"max_ms", number(s.max_ms)},
                        {"slo_held", s.slo_held(report.slo)}}},
                      {"charts", charts},
                      {"faults", faults},
                      {"events", events},
                      {"scale_responses", responses},
                      {"diagnosis", p.diagnosis},
                      {"notes", p.notes},
                      {"tables", tables}});
  }
  json out = {{"title", report.title},
              {"generated_at", report.generated_at},
              {"slo", {{"p99_ms", report.slo.p99_ms}, {"error_rate", report.slo.error_rate}}},
              {"show_slo", report.show_slo},
              {"phases", phases}};
  if (!report.verdict.is_null()) out["verdict"] = report.verdict;
  return out;
}

std::string render_markdown(const Report& report) {
  std::string out =
      fmt::format("# {}\n\nGenerated {}. SLO: p99 < {} ms and errors < {:.2f} %.\n\n", report.title,
                  report.generated_at, report.slo.p99_ms, 100 * report.slo.error_rate);
  out += "| phase | requests | req/s | errors | p50 ms | p95 ms | p99 ms | SLO |\n";
  out += "|---|---:|---:|---:|---:|---:|---:|---|\n";
  for (const auto& p : report.phases) {
    const auto& s = p.summary;
    out += fmt::format("| {} | {} | {:.1f} | {:.2f} % | {} | {} | {} | {} |\n", p.name, s.requests,
                       s.throughput_rps, 100 * s.error_rate(), cell(s.p50_ms), cell(s.p95_ms),
                       cell(s.p99_ms), s.slo_held(report.slo) ? "held" : "**broken**");
  }
  out += render_verdict_markdown(report.verdict);
  for (const auto& p : report.phases) {
    if (!p.scale_responses.empty()) {
      out += fmt::format("\n**{}: scaling responses**\n\n", p.name);
      out +=
          "| service | replicas | breach → decision s | decision → serving s "
          "|\n|---|---|---:|---:|\n";
      for (const auto& r : p.scale_responses) {
        out += fmt::format("| {} | {} → {} | {} | {} |\n", r.service, r.from, r.to,
                           r.breach_t ? cell(r.decision_t - *r.breach_t) : "–",
                           r.serving_t ? cell(*r.serving_t - r.decision_t) : "–");
      }
    }
    if (!p.faults.empty()) {
      out += fmt::format("\n**{}: faults**: ", p.name);
      for (std::size_t i = 0; i < p.faults.size(); ++i) {
        out += fmt::format("{}{} at {:.0f}–{:.0f} s", i ? "; " : "", p.faults[i].label,
                           p.faults[i].start, p.faults[i].end);
      }
      out += "\n";
    }
    if (p.diagnosis.is_object() && p.diagnosis.contains("causes") &&
        p.diagnosis["causes"].is_array()) {
      out += fmt::format("\n**{}: diagnosis**\n\n", p.name);
      int rank = 0;
      for (const auto& cause : p.diagnosis["causes"]) {
        if (++rank > 3) {
          break;
        }
        out += fmt::format("{}. {}\n", rank,
                           cause.is_object() ? cause.value("title", cause.dump()) : cause.dump());
      }
    }
    for (const auto& note : p.notes) {
      out += fmt::format("\n_{}: {}_\n", p.name, note);
    }
  }
  return out;
}

}  // namespace crest::report
