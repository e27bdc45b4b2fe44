#include "crest/demo/verdict.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace crest::demo {

using nlohmann::json;

std::vector<PhaseVerdict> phase_verdicts(
    const LoadOutcome& run,
    const std::vector<std::pair<std::string, std::pair<double, double>>>& windows,
    double slo_p99_ms, double slo_error_rate) {
  std::vector<PhaseVerdict> out;
  for (const auto& [name, window] : windows) {
    PhaseVerdict v;
    v.phase = name;
    v.stats = run.window(window.first, window.second);
    v.held = v.stats.requests > 0 && v.stats.p99_ms < slo_p99_ms &&
             v.stats.error_rate() < slo_error_rate;
    out.push_back(v);
  }
  return out;
}

CapacityComparison compare_capacity(const std::optional<BreakingPoint>& baseline,
                                    const std::optional<BreakingPoint>& scaled) {
  using Kind = CapacityComparison::Kind;
  CapacityComparison c;
  auto not_measured = [&](const std::string& why) {
    c.kind = Kind::not_measured;
    c.text = "not measured (" + why + ")";
    return c;
  };
  if (!baseline || !scaled) return not_measured("a breaking-point search did not run");
  if (baseline->is_lower_bound()) {
    return not_measured(fmt::format(
        "baseline held up to the highest rate tried, {:.3g}/s: its breaking point is above it",
        *baseline->highest_held));
  }
  if (!scaled->highest_held) {
    return not_measured(fmt::format("scaled broke even at the lowest rate tried, {:.3g}/s",
                                    scaled->lowest_broken.value_or(0)));
  }
  const double s = *scaled->highest_held;
  // Baseline's breaking point: the highest rate that held, or (none held) below the lowest tried.
  const bool baseline_is_point = baseline->highest_held.has_value();
  const double b =
      baseline_is_point ? *baseline->highest_held : baseline->lowest_broken.value_or(0);
  if (!(b > 0)) return not_measured("baseline's search measured nothing");
  c.value = s / b;
  if (baseline_is_point && !scaled->is_lower_bound()) {
    c.kind = Kind::ratio;
    c.text = fmt::format("x{:.2f} the baseline's ({:.3g} vs {:.3g} journeys/s)", c.value, s, b);
    return c;
  }
  c.kind = Kind::at_least;
  c.text = fmt::format(">= x{:.2f} the baseline's ({}{:.3g} vs {}{:.3g} journeys/s: {})", c.value,
                       scaled->is_lower_bound() ? ">= " : "", s, baseline_is_point ? "" : "< ", b,
                       scaled->is_lower_bound() ? "scaled held up to the highest rate tried"
                                                : "baseline broke even at the lowest rate tried");
  return c;
}

std::optional<StepEfficiency> efficiency_at_breaking_point(const BreakingPoint& bp) {
  if (!bp.highest_held) return std::nullopt;
  for (const auto& s : bp.steps) {
    if (!s.held || s.rate != *bp.highest_held) continue;
    if (s.measured.cpu_seconds <= 0 || s.measured.elapsed_s <= 0) return std::nullopt;
    return StepEfficiency{s.rate, s.measured.cpu_seconds / s.measured.elapsed_s,
                          static_cast<double>(s.measured.iterations) / s.measured.cpu_seconds};
  }
  return std::nullopt;
}

namespace {

const BreakingPoint* breaking_point_of(const std::vector<ProfileVerdict>& profiles,
                                       const std::string& name) {
  for (const auto& p : profiles) {
    if (p.profile == name && p.breaking_point) return &*p.breaking_point;
  }
  return nullptr;
}

std::optional<BreakingPoint> copy_of(const BreakingPoint* bp) {
  return bp ? std::optional<BreakingPoint>(*bp) : std::nullopt;
}

}  // namespace

CapacityComparison Verdict::capacity() const {
  return compare_capacity(copy_of(breaking_point_of(profiles, "baseline")),
                          copy_of(breaking_point_of(profiles, "scaled")));
}

std::optional<double> Verdict::capacity_ratio() const {
  const auto c = capacity();
  if (c.kind != CapacityComparison::Kind::ratio) return std::nullopt;
  return c.value;
}

std::uint64_t Verdict::orders_lost() const {
  std::uint64_t lost = 0;
  for (const auto& p : profiles) lost += p.orders.lost();
  return lost;
}

bool Verdict::slo_held(const std::string& profile, const std::string& phase) const {
  for (const auto& p : profiles) {
    if (p.profile != profile) continue;
    for (const auto& v : p.phases) {
      if (v.phase == phase) return v.held;
    }
  }
  return false;
}

namespace {

json window_json(const WindowStats& w) {
  return {{"requests", w.requests},
          {"failures", w.failures},
          {"dropped", w.dropped},
          {"error_rate", w.error_rate()},
          {"p99_ms", w.p99_ms}};
}

std::string phase_cell(const PhaseVerdict& v) {
  return fmt::format("{} (p99 {:.0f} ms, errors {:.2f} %)", v.held ? "held" : "BROKEN",
                     v.stats.p99_ms, 100 * v.stats.error_rate());
}

std::string breaking_cell(const std::optional<BreakingPoint>& bp) {
  if (!bp) return "not measured";
  if (!bp->highest_held) {
    return fmt::format("below {:.3g}/s (the lowest rate tried broke)",
                       bp->lowest_broken.value_or(0));
  }
  if (bp->is_lower_bound()) {
    return fmt::format(">= {:.3g}/s (held up to the highest rate tried)", *bp->highest_held);
  }
  std::string why;
  for (const auto& s : bp->steps) {
    if (!s.held && s.rate == bp->lowest_broken) why = s.why;
  }
  return fmt::format("{:.3g}/s (broke at {:.3g}/s: {})", *bp->highest_held, *bp->lowest_broken,
                     why);
}

std::string efficiency_cell(const std::optional<BreakingPoint>& bp) {
  const auto e = bp ? efficiency_at_breaking_point(*bp) : std::nullopt;
  if (!e) return "not measured";
  return fmt::format("{:.2f} CPU at {:.3g}/s: {:.1f} journeys per CPU-second", e->cpu_cores,
                     e->rate, e->journeys_per_cpu_second);
}

json row(std::vector<std::string> cells, std::optional<bool> ok) {
  return {{"cells", std::move(cells)}, {"ok", ok ? json(*ok) : json(nullptr)}};
}

}  // namespace

json Verdict::to_json() const {
  json profiles_json = json::array();
  for (const auto& p : profiles) {
    json phases = json::array();
    for (const auto& v : p.phases) {
      phases.push_back({{"phase", v.phase}, {"held", v.held}, {"stats", window_json(v.stats)}});
    }
    json bp = nullptr;
    if (p.breaking_point) {
      json steps = json::array();
      for (const auto& s : p.breaking_point->steps) {
        steps.push_back({{"rate", s.rate},
                         {"held", s.held},
                         {"why", s.why},
                         {"requests", s.measured.requests},
                         {"failures", s.measured.failures},
                         {"iterations", s.measured.iterations},
                         {"dropped", s.measured.dropped},
                         {"p99_ms", s.measured.p99_ms},
                         {"elapsed_s", s.measured.elapsed_s},
                         {"cpu_seconds", s.measured.cpu_seconds},
                         {"output", s.measured.output}});
      }
      const auto& b = *p.breaking_point;
      bp = {{"highest_held", b.highest_held ? json(*b.highest_held) : json(nullptr)},
            {"lowest_broken", b.lowest_broken ? json(*b.lowest_broken) : json(nullptr)},
            {"lower_bound", b.is_lower_bound()},
            {"steps", steps}};
      if (const auto e = efficiency_at_breaking_point(b)) {
        bp["efficiency"] = {{"rate", e->rate},
                            {"cpu_cores", e->cpu_cores},
                            {"journeys_per_cpu_second", e->journeys_per_cpu_second}};
      }
    }
    const auto& o = p.orders;
    // accepted .. stored: the database's figures for every order; lost and what follows: how the
    // accepted ones were found (by order id, or by count and why).
    json orders = {{"accepted", o.accepted},    {"confirmed", o.stored.confirmed},
                   {"failed", o.stored.failed}, {"pending", o.stored.pending},
                   {"other", o.stored.other},   {"stored", o.stored.total()},
                   {"lost", o.lost()},          {"compared_by", o.by_ids ? "order_id" : "count"}};
    if (o.by_ids) {
      orders["accepted_ids"] = o.accepted_ids;
      orders["accepted_without_id"] = o.without_id;
      orders["accepted_orders"] = {{"confirmed", o.accepted_stored.confirmed},
                                   {"failed", o.accepted_stored.failed},
                                   {"pending", o.accepted_stored.pending},
                                   {"other", o.accepted_stored.other},
                                   {"missing", o.missing}};
      orders["missing_ids"] = o.missing_ids;
      orders["stored_not_seen_accepted"] = o.not_seen_accepted;
    } else {
      orders["fallback_reason"] = o.fallback_reason;
    }
    profiles_json.push_back({{"profile", p.profile},
                             {"phases", phases},
                             {"breaking_point", bp},
                             {"orders", orders},
                             {"diagnosis", p.diagnosis}});
  }
  json faults_json = json::array();
  for (const auto& f : faults) {
    faults_json.push_back({{"fault", f.fault},
                           {"target", f.target},
                           {"from_s", f.from_s},
                           {"to_s", f.to_s},
                           {"recovered_s", f.recovered_s},
                           {"diagnosis_window_s", {f.diagnosis_from_s, f.diagnosis_to_s}},
                           {"applied", f.applied},
                           {"error", f.error},
                           {"during", window_json(f.during)},
                           {"accepted", f.accepted},
                           {"orders",
                            {{"created", f.orders.total()},
                             {"confirmed", f.orders.confirmed},
                             {"failed", f.orders.failed},
                             {"pending", f.orders.pending}}},
                           {"diagnosis", f.diagnosis},
                           {"survived", f.survived(slo_error_rate)}});
  }

  // The tables, as the report and the terminal show them.
  std::vector<std::string> names;
  for (const auto& p : profiles) names.push_back(p.profile);
  json peak_columns = json::array({"check"});
  for (const auto& n : names) peak_columns.push_back(n);
  json peak_rows = json::array();
  for (const char* phase : {"sustained", "spike", "recovery"}) {
    std::vector<std::string> cells = {fmt::format("SLO during the {}", phase)};
    std::optional<bool> last;
    for (const auto& p : profiles) {
      auto it = std::find_if(p.phases.begin(), p.phases.end(),
                             [&](const PhaseVerdict& v) { return v.phase == phase; });
      cells.push_back(it == p.phases.end() ? "-" : phase_cell(*it));
      if (it != p.phases.end()) last = it->held;
    }
    peak_rows.push_back(row(cells, last));
  }
  {
    std::vector<std::string> cells = {"breaking point (journeys/s)"};
    for (const auto& p : profiles) cells.push_back(breaking_cell(p.breaking_point));
    peak_rows.push_back(row(cells, std::nullopt));
  }
  {
    std::vector<std::string> cells = {"platform CPU at the breaking point"};
    for (const auto& p : profiles) cells.push_back(efficiency_cell(p.breaking_point));
    peak_rows.push_back(row(cells, std::nullopt));
  }
  {
    std::vector<std::string> cells = {"orders"};
    bool all_ok = true;
    for (const auto& p : profiles) {
      cells.push_back(p.orders.describe());
      all_ok = all_ok && p.orders.ok();
    }
    peak_rows.push_back(row(cells, all_ok));
  }
  {
    std::vector<std::string> cells = {"diagnosis"};
    for (const auto& p : profiles) cells.push_back(p.diagnosis.empty() ? "-" : p.diagnosis);
    peak_rows.push_back(row(cells, std::nullopt));
  }
  json fault_rows = json::array();
  int survived = 0;
  for (const auto& f : faults) {
    survived += f.survived(slo_error_rate) ? 1 : 0;
    fault_rows.push_back(row(
        {f.fault,
         f.applied ? fmt::format("{:.2f} % of {}", 100 * f.during.error_rate(), f.during.requests)
                   : "not applied: " + f.error,
         fmt::format("{} accepted; {} created: {} confirmed + {} failed, {} pending", f.accepted,
                     f.orders.total(), f.orders.confirmed, f.orders.failed, f.orders.pending),
         f.diagnosis.empty() ? "-" : f.diagnosis},
        f.survived(slo_error_rate)));
  }
  const auto ratio = capacity_ratio();
  const auto gained = capacity();
  std::string headline;
  {
    const bool scaled_held = slo_held("scaled", "sustained") && slo_held("scaled", "spike") &&
                             slo_held("scaled", "recovery");
    headline = fmt::format(
        "scaled {} the SLO through the peak; capacity {}; {}; {} orders lost",
        scaled_held ? "held" : "did NOT hold", gained.text,
        faults_run ? fmt::format("{} of {} faults survived", survived, faults.size())
                   : "faults not run" + (faults_note.empty() ? "" : " (" + faults_note + ")"),
        orders_lost());
  }
  json tables = json::array();
  tables.push_back({{"title", "The peak: " + fmt::format("{}", fmt::join(names, " vs "))},
                    {"columns", peak_columns},
                    {"rows", peak_rows}});
  if (faults_run) {
    tables.push_back({{"title", "Faults on the scaled platform under steady load"},
                      {"columns", {"fault", "errors during it", "orders", "diagnosis"}},
                      {"rows", fault_rows}});
  }
  return {{"headline", headline},
          {"slo", {{"p99_ms", slo_p99_ms}, {"error_rate", slo_error_rate}}},
          {"capacity_ratio", ratio ? json(*ratio) : json(nullptr)},
          {"capacity",
           {{"kind", gained.kind == CapacityComparison::Kind::ratio      ? "ratio"
                     : gained.kind == CapacityComparison::Kind::at_least ? "at_least"
                                                                         : "not_measured"},
            {"value", gained.kind == CapacityComparison::Kind::not_measured ? json(nullptr)
                                                                            : json(gained.value)},
            {"text", gained.text}}},
          {"orders_lost", orders_lost()},
          {"faults_run", faults_run},
          {"faults_note", faults_note},
          {"faults_survived", survived},
          {"profiles", profiles_json},
          {"faults", faults_json},
          {"tables", tables}};
}

std::string Verdict::to_text() const {
  const json j = to_json();
  std::string out;
  for (const auto& table : j["tables"]) {
    out += table["title"].get<std::string>() + "\n";
    const auto& columns = table["columns"];
    for (const auto& r : table["rows"]) {
      const auto& cells = r["cells"];
      const std::string mark = r["ok"].is_null() ? "  " : (r["ok"].get<bool>() ? "ok" : "!!");
      out += fmt::format("  {} {}\n", mark, cells[0].get<std::string>());
      for (std::size_t i = 1; i < cells.size() && i < columns.size(); ++i) {
        out += fmt::format("       {:<9} {}\n", columns[i].get<std::string>() + ":",
                           cells[i].get<std::string>());
      }
    }
  }
  out += "verdict: " + j["headline"].get<std::string>() + "\n";
  return out;
}

}  // namespace crest::demo
