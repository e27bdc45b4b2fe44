#include "crest/load/stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace crest::load {

const char* to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::none:
      return "none";
    case FailureKind::connect_refused:
      return "connect_refused";
    case FailureKind::connect_error:
      return "connect_error";
    case FailureKind::timeout:
      return "timeout";
    case FailureKind::reset:
      return "reset";
    case FailureKind::tls:
      return "tls";
    case FailureKind::protocol:
      return "protocol";
    case FailureKind::http_status:
      return "http_status";
    case FailureKind::check_failed:
      return "check_failed";
    case FailureKind::capture_failed:
      return "capture_failed";
    case FailureKind::data_exhausted:
      return "data_exhausted";
  }
  return "?";
}

void StepStats::merge(const StepStats& o) {
  duration.merge(o.duration);
  service.merge(o.service);
  ttfb.merge(o.ttfb);
  requests += o.requests;
  failures += o.failures;
  connects += o.connects;
  connect_us_sum += o.connect_us_sum;
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  for (std::size_t i = 0; i < by_kind.size(); ++i) {
    by_kind[i] += o.by_kind[i];
  }
  for (std::size_t i = 0; i < by_status_class.size(); ++i) {
    by_status_class[i] += o.by_status_class[i];
  }
}

void StepStats::reset() {
  duration.reset();
  service.reset();
  ttfb.reset();
  requests = failures = connects = connect_us_sum = bytes_sent = bytes_received = 0;
  by_kind.fill(0);
  by_status_class.fill(0);
}

void JourneyStats::merge(const JourneyStats& o) {
  iteration.merge(o.iteration);
  iterations += o.iterations;
  failed += o.failed;
}

void JourneyStats::reset() {
  iteration.reset();
  iterations = failed = 0;
}

MetricSet::MetricSet(std::size_t n_steps, std::size_t n_journeys, std::size_t n_groups, std::size_t n_checks)
    : steps(n_steps), journeys(n_journeys), groups(n_groups), checks(n_checks) {}

void MetricSet::merge(const MetricSet& o) {
  for (std::size_t i = 0; i < steps.size() && i < o.steps.size(); ++i) {
    steps[i].merge(o.steps[i]);
  }
  for (std::size_t i = 0; i < journeys.size() && i < o.journeys.size(); ++i) {
    journeys[i].merge(o.journeys[i]);
  }
  for (std::size_t i = 0; i < groups.size() && i < o.groups.size(); ++i) {
    groups[i].merge(o.groups[i]);
  }
  for (std::size_t i = 0; i < checks.size() && i < o.checks.size(); ++i) {
    checks[i][0] += o.checks[i][0];
    checks[i][1] += o.checks[i][1];
  }
  dropped += o.dropped;
  interrupted += o.interrupted;
}

void MetricSet::reset() {
  for (auto& s : steps) {
    s.reset();
  }
  for (auto& j : journeys) {
    j.reset();
  }
  for (auto& g : groups) {
    g.reset();
  }
  for (auto& c : checks) {
    c = {0, 0};
  }
  dropped = interrupted = 0;
}

std::uint64_t MetricSet::requests() const {
  std::uint64_t n = 0;
  for (const auto& s : steps) {
    n += s.requests;
  }
  return n;
}

std::uint64_t MetricSet::failures() const {
  std::uint64_t n = 0;
  for (const auto& s : steps) {
    n += s.failures;
  }
  return n;
}

std::uint64_t MetricSet::iterations() const {
  std::uint64_t n = 0;
  for (const auto& j : journeys) {
    n += j.iterations;
  }
  return n;
}


namespace {

// Reads "\n"-separated lines, then space-separated fields of one line; every read says whether
// it worked, so malformed input ends in nullopt rather than a crash or a huge allocation.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : rest_(text) {}
  bool line(std::string_view& out) {
    const auto nl = rest_.find('\n');
    if (nl == std::string_view::npos) {
      return false;  // every line, the last included, ends with a newline
    }
    out = rest_.substr(0, nl);
    rest_.remove_prefix(nl + 1);
    return true;
  }
  bool at_end() const { return rest_.empty(); }
  std::size_t remaining() const { return rest_.size(); }

 private:
  std::string_view rest_;
};

class FieldReader {
 public:
  explicit FieldReader(std::string_view line) : rest_(line) {}
  bool tag(std::string_view expected) {
    if (rest_.substr(0, expected.size()) != expected) {
      return false;
    }
    rest_.remove_prefix(expected.size());
    return true;
  }
  template <typename T>
  bool number(T& out) {
    if (rest_.empty() || rest_.front() != ' ') {
      return false;
    }
    rest_.remove_prefix(1);
    const auto [ptr, ec] = std::from_chars(rest_.data(), rest_.data() + rest_.size(), out);
    if (ec != std::errc() || ptr == rest_.data()) {
      return false;
    }
    rest_.remove_prefix(static_cast<std::size_t>(ptr - rest_.data()));
    return true;
  }
  bool end() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

void append_fields(std::string& out) { out += '\n'; }
template <typename T, typename... Rest>
void append_fields(std::string& out, const T& first, const Rest&... rest) {
  out += ' ';
  if constexpr (std::is_floating_point_v<T>) {
    out += fmt::format("{}", first);  // shortest form that reads back as the same double
  } else {
    out += std::to_string(first);
  }
  append_fields(out, rest...);
}

bool read_histogram(LineReader& in, LatencyHistogram& out) {
  std::string_view line;
  if (!in.line(line)) {
    return false;
  }
  auto h = LatencyHistogram::deserialise(line);
  if (!h) {
    return false;
  }
  out = std::move(*h);
  return true;
}

// "TAG n1 n2 …\n": a list of counters on one line.
template <typename Container>
void append_numbers(std::string& out, std::string_view tag, const Container& numbers) {
  out += tag;
  for (auto n : numbers) {
    out += ' ';
    out += std::to_string(n);
  }
  out += '\n';
}

// Reads a line written by append_numbers into every element of `numbers` (its size says how many).
template <typename Container>
bool read_numbers(LineReader& in, std::string_view tag, Container& numbers) {
  std::string_view line;
  if (!in.line(line)) {
    return false;
  }
  FieldReader f(line);
  if (!f.tag(tag)) {
    return false;
  }
  for (auto& n : numbers) {
    if (!f.number(n)) {
      return false;
    }
  }
  return f.end();
}

// A count read from the input may only ask for as many items as the remaining bytes can hold,
// so "ms1 4000000000 ..." cannot allocate gigabytes before failing.
bool plausible(std::uint64_t count, std::size_t min_bytes_each, const LineReader& in) {
  return count <= in.remaining() / min_bytes_each;
}

constexpr std::size_t kMinHistogramLine = 14;  // "lh1 0 0 0 0 0\n"

}  // namespace

std::string serialise(const MetricSet& m) {
  std::string out = "ms1";
  append_fields(out, m.steps.size(), m.journeys.size(), m.groups.size(), m.checks.size(), m.dropped, m.interrupted);
  for (const auto& s : m.steps) {
    out += "s";
    append_fields(out, s.requests, s.failures, s.connects, s.connect_us_sum, s.bytes_sent, s.bytes_received);
    append_numbers(out, "k", s.by_kind);
    append_numbers(out, "c", s.by_status_class);
    for (const auto* h : {&s.duration, &s.service, &s.ttfb}) {
      out += h->serialise();
      out += '\n';
    }
  }
  for (const auto& j : m.journeys) {
    out += "j";
    append_fields(out, j.iterations, j.failed);
    out += j.iteration.serialise();
    out += '\n';
  }
  for (const auto& g : m.groups) {
    out += g.serialise();
    out += '\n';
  }
  out += "ck";
  for (const auto& c : m.checks) {
    append_fields(out, c[0], c[1]);
    out.pop_back();
  }
  out += '\n';
  return out;
}

std::optional<MetricSet> deserialise_metric_set(std::string_view text) {
  LineReader in(text);
  std::string_view line;
  std::uint64_t n_steps = 0;
  std::uint64_t n_journeys = 0;
  std::uint64_t n_groups = 0;
  std::uint64_t n_checks = 0;
  MetricSet m;
  if (!in.line(line)) {
    return std::nullopt;
  }
  {
    FieldReader f(line);
    if (!f.tag("ms1") || !f.number(n_steps) || !f.number(n_journeys) || !f.number(n_groups) || !f.number(n_checks) ||
        !f.number(m.dropped) || !f.number(m.interrupted) || !f.end()) {
      return std::nullopt;
    }
  }
  if (!plausible(n_steps, 3 + 3 * kMinHistogramLine, in) || !plausible(n_journeys, 2 + kMinHistogramLine, in) ||
      !plausible(n_groups, kMinHistogramLine, in) || !plausible(n_checks, 4, in)) {
    return std::nullopt;
  }
  // Items are built as their lines parse (not resized up front): memory follows valid input.
  for (std::uint64_t i = 0; i < n_steps; ++i) {
    auto& s = m.steps.emplace_back();
    if (!in.line(line)) {
      return std::nullopt;
    }
    FieldReader counters(line);
    if (!counters.tag("s") || !counters.number(s.requests) || !counters.number(s.failures) ||
        !counters.number(s.connects) || !counters.number(s.connect_us_sum) || !counters.number(s.bytes_sent) ||
        !counters.number(s.bytes_received) || !counters.end()) {
      return std::nullopt;
    }
    if (!read_numbers(in, "k", s.by_kind) || !read_numbers(in, "c", s.by_status_class) ||
        !read_histogram(in, s.duration) || !read_histogram(in, s.service) || !read_histogram(in, s.ttfb)) {
      return std::nullopt;
    }
  }
  for (std::uint64_t i = 0; i < n_journeys; ++i) {
    auto& j = m.journeys.emplace_back();
    if (!in.line(line)) {
      return std::nullopt;
    }
    FieldReader f(line);
    if (!f.tag("j") || !f.number(j.iterations) || !f.number(j.failed) || !f.end() || !read_histogram(in, j.iteration)) {
      return std::nullopt;
    }
  }
  for (std::uint64_t i = 0; i < n_groups; ++i) {
    if (!read_histogram(in, m.groups.emplace_back())) {
      return std::nullopt;
    }
  }
  if (!in.line(line)) {
    return std::nullopt;
  }
  FieldReader checks(line);
  if (!checks.tag("ck")) {
    return std::nullopt;
  }
  m.checks.resize(n_checks);
  for (auto& c : m.checks) {
    if (!checks.number(c[0]) || !checks.number(c[1])) {
      return std::nullopt;
    }
  }
  if (!checks.end() || !in.at_end()) {
    return std::nullopt;
  }
  return m;
}

std::string serialise(const TimelinePoint& p) {
  std::string out = "tp1";
  append_fields(out, p.t, p.active_vus, p.requests, p.failures, p.dropped, p.bytes_received, p.bytes_sent,
                p.step_requests.size(), p.step_failures.size(), p.step_histograms.size());
  out += p.duration.serialise();
  out += '\n';
  append_numbers(out, "sr", p.step_requests);
  append_numbers(out, "sf", p.step_failures);
  for (const auto& h : p.step_histograms) {
    out += h;  // the engine's serialised histogram: one line
    out += '\n';
  }
  return out;
}

std::optional<TimelinePoint> deserialise_timeline_point(std::string_view text) {
  LineReader in(text);
  std::string_view line;
  TimelinePoint p;
  std::uint64_t n_requests = 0;
  std::uint64_t n_failures = 0;
  std::uint64_t n_histograms = 0;
  if (!in.line(line)) {
    return std::nullopt;
  }
  FieldReader head(line);
  if (!head.tag("tp1") || !head.number(p.t) || !head.number(p.active_vus) || !head.number(p.requests) ||
      !head.number(p.failures) || !head.number(p.dropped) || !head.number(p.bytes_received) ||
      !head.number(p.bytes_sent) || !head.number(n_requests) || !head.number(n_failures) ||
      !head.number(n_histograms) || !head.end() || !std::isfinite(p.t)) {
    return std::nullopt;
  }
  if (!plausible(n_requests, 2, in) || !plausible(n_failures, 2, in) || !plausible(n_histograms, 1, in) ||
      !read_histogram(in, p.duration)) {
    return std::nullopt;
  }
  p.step_requests.resize(n_requests);
  p.step_failures.resize(n_failures);
  if (!read_numbers(in, "sr", p.step_requests) || !read_numbers(in, "sf", p.step_failures)) {
    return std::nullopt;
  }
  p.step_histograms.resize(n_histograms);
  for (auto& h : p.step_histograms) {
    if (!in.line(line)) {
      return std::nullopt;
    }
    h.assign(line);
  }
  if (!in.at_end()) {
    return std::nullopt;
  }
  return p;
}

std::string format_ms(double ms) {
  if (ms >= 1000) {
    return fmt::format("{:.2f}s", ms / 1000);
  }
  if (ms < 1) {
    return fmt::format("{:.0f}µs", ms * 1000);
  }
  return fmt::format("{:.2f}ms", ms);
}

namespace {

bool compare(double a, const std::string& op, double b) {
  if (op == "<") {
    return a < b;
  }
  if (op == "<=") {
    return a <= b;
  }
  if (op == ">") {
    return a > b;
  }
  if (op == ">=") {
    return a >= b;
  }
  if (op == "==") {
    return a == b;
  }
  return a != b;
}

double aggregate_ms(const LatencyHistogram& h, const Threshold::Condition& c) {
  if (c.aggregate == "p") {
    return static_cast<double>(h.percentile_us(c.percentile)) / 1000;
  }
  if (c.aggregate == "med") {
    return static_cast<double>(h.percentile_us(50)) / 1000;
  }
  if (c.aggregate == "avg") {
    return h.mean_us() / 1000;
  }
  if (c.aggregate == "min") {
    return static_cast<double>(h.min_us()) / 1000;
  }
  return static_cast<double>(h.max_us()) / 1000;
}

}  // namespace

std::vector<ThresholdResult> evaluate_thresholds(const Plan& plan, const MetricSet& totals,
                                                 double elapsed_seconds) {
  std::vector<ThresholdResult> results;
  const double elapsed = std::max(elapsed_seconds, 1e-9);
  for (const auto& t : plan.thresholds) {
    // Which steps, journeys and groups the tag selects.
    std::vector<std::size_t> steps;
    std::vector<std::size_t> journeys;
    for (std::size_t j = 0; j < plan.journeys.size(); ++j) {
      const auto& journey = plan.journeys[j];
      if (t.tag_key == "journey" && journey.name != t.tag_value) {
        continue;
      }
      journeys.push_back(j);
      for (const auto& step : journey.steps) {
        if (t.tag_key == "step" && step.name != t.tag_value) {
          continue;
        }
        if (t.tag_key == "group" && (step.group < 0 || plan.groups[static_cast<std::size_t>(step.group)].name != t.tag_value)) {
          continue;
        }
        const auto m = static_cast<std::size_t>(step.metric);
        if (std::find(steps.begin(), steps.end(), m) == steps.end()) {
          steps.push_back(m);
        }
      }
    }
    for (const auto& c : t.conditions) {
      ThresholdResult r{&t, &c, 0, true, ""};
      if (t.metric == "http_req_duration" || t.metric == "http_req_service_duration" ||
          t.metric == "iteration_duration" || t.metric == "group_duration") {
        LatencyHistogram h;
        if (t.metric == "iteration_duration") {
          for (auto j : journeys) {
            h.merge(totals.journeys[j].iteration);
          }
        } else if (t.metric == "group_duration") {
          for (std::size_t g = 0; g < plan.groups.size(); ++g) {
            if (plan.groups[g].name == t.tag_value) {
              h.merge(totals.groups[g]);
            }
          }
        } else {
          for (auto s : steps) {
            h.merge(t.metric == "http_req_duration" ? totals.steps[s].duration : totals.steps[s].service);
          }
        }
        r.measured = aggregate_ms(h, c);
        const std::string label = c.aggregate == "p" ? fmt::format("p({})", c.percentile) : c.aggregate;
        r.shown = label + "=" + format_ms(r.measured);
      } else if (t.metric == "http_req_failed" || t.metric == "http_reqs") {
        std::uint64_t n = 0;
        std::uint64_t failed = 0;
        for (auto s : steps) {
          n += totals.steps[s].requests;
          failed += totals.steps[s].failures;
        }
        if (t.metric == "http_req_failed") {
          r.measured = n == 0 ? 0 : static_cast<double>(failed) / static_cast<double>(n);
          r.shown = fmt::format("rate={:.2f}%", r.measured * 100);
        } else if (c.aggregate == "count") {
          r.measured = static_cast<double>(n);
          r.shown = fmt::format("count={}", n);
        } else {
          r.measured = static_cast<double>(n) / elapsed;
          r.shown = fmt::format("rate={:.2f}/s", r.measured);
        }
      } else if (t.metric == "checks") {
        std::uint64_t passed = 0;
        std::uint64_t failed = 0;
        for (std::size_t j : journeys) {
          for (const auto& step : plan.journeys[j].steps) {
            if (std::find(steps.begin(), steps.end(), static_cast<std::size_t>(step.metric)) == steps.end()) {
              continue;
            }
            for (const auto& check : step.checks) {
              passed += totals.checks[static_cast<std::size_t>(check.id)][0];
              failed += totals.checks[static_cast<std::size_t>(check.id)][1];
            }
          }
        }
        // Checks shared by name appear once per step using them: count each id once.
        if (t.tag_key.empty()) {
          passed = failed = 0;
          for (const auto& pf : totals.checks) {
            passed += pf[0];
            failed += pf[1];
          }
        }
        const auto all = passed + failed;
        r.measured = all == 0 ? 1 : static_cast<double>(passed) / static_cast<double>(all);
        r.shown = fmt::format("rate={:.2f}%", r.measured * 100);
      } else if (t.metric == "iterations") {
        std::uint64_t n = 0;
        for (auto j : journeys) {
          n += totals.journeys[j].iterations;
        }
        r.measured = c.aggregate == "count" ? static_cast<double>(n) : static_cast<double>(n) / elapsed;
        r.shown = c.aggregate == "count" ? fmt::format("count={}", n) : fmt::format("rate={:.2f}/s", r.measured);
      } else if (t.metric == "dropped_iterations") {
        r.measured = c.aggregate == "count" ? static_cast<double>(totals.dropped)
                                            : static_cast<double>(totals.dropped) / elapsed;
        r.shown = c.aggregate == "count" ? fmt::format("count={}", totals.dropped)
                                         : fmt::format("rate={:.2f}/s", r.measured);
      }
      r.passed = compare(r.measured, c.op, c.value);
      results.push_back(std::move(r));
    }
  }
  return results;
}

}  // namespace crest::load
