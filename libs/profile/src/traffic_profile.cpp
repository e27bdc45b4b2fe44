// The analysis of a parsed log (curve, spikes, mix, sessions) and the plan it becomes.
#include "crest/profile/traffic_profile.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <unordered_map>

namespace crest::profile {
namespace {

double median(std::vector<double> v) {
  if (v.empty()) {
    return 0;
  }
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

ThinkStats stats_of(std::vector<double> v) {
  ThinkStats s;
  s.count = v.size();
  if (v.empty()) {
    return s;
  }
  std::sort(v.begin(), v.end());
  s.mean_s = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  double sq = 0;
  for (const double x : v) {
    sq += (x - s.mean_s) * (x - s.mean_s);
  }
  s.stddev_s = std::sqrt(sq / static_cast<double>(v.size()));
  s.p50_s = v[(v.size() - 1) / 2];
  s.p90_s = v[static_cast<std::size_t>(std::ceil(0.9 * static_cast<double>(v.size()))) - 1];
  return s;
}

std::string step_of(const AccessRecord& r) {
  return r.method + " " + route_template(r.path);
}

// Spikes: runs of seconds whose 5-second moving average stays above 1.5 x the sustained level
// (and at least 2 requests a second above it).
std::vector<Spike> find_spikes(const std::vector<std::uint64_t>& per_second, double sustained) {
  std::vector<Spike> out;
  const auto n = per_second.size();
  std::vector<double> smooth(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    double sum = 0;
    int count = 0;
    for (std::size_t k = (i >= 2 ? i - 2 : 0); k <= std::min(n - 1, i + 2); ++k) {
      sum += static_cast<double>(per_second[k]);
      ++count;
    }
    smooth[i] = sum / count;
  }
  const double threshold = std::max(sustained * 1.5, sustained + 2);
  std::size_t i = 0;
  while (i < n) {
    if (smooth[i] <= threshold) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < n && smooth[end] > threshold) {
      ++end;
    }
    // The rise starts where the curve left the sustained level, before crossing the threshold.
    std::size_t start = i;
    while (start > 0 && smooth[start - 1] > sustained * 1.1 && smooth[start - 1] < smooth[start]) {
      --start;
    }
    std::size_t peak = start;
    for (std::size_t k = start; k < end; ++k) {
      if (per_second[k] > per_second[peak]) {
        peak = k;
      }
    }
    Spike s;
    s.start_s = static_cast<double>(start);
    s.peak_s = static_cast<double>(peak);
    s.end_s = static_cast<double>(end);
    s.base_rps = sustained;
    s.peak_rps = static_cast<double>(per_second[peak]);
    s.slope_rps_per_s = (s.peak_rps - sustained) / std::max(1.0, s.peak_s - s.start_s);
    s.duration_s = static_cast<double>(end - i);
    out.push_back(s);
    i = end;
  }
  return out;
}

}  // namespace

TrafficProfile analyse_traffic(const std::vector<AccessRecord>& records,
                               const ProfileOptions& options) {
  TrafficProfile p;
  p.requests = records.size();
  if (records.empty()) {
    return p;
  }
  p.start_s = std::floor(records.front().time_s);
  p.span_s = records.back().time_s - p.start_s;
  const auto seconds = static_cast<std::size_t>(p.span_s) + 1;
  p.per_second.assign(seconds, 0);
  p.per_minute.assign(seconds / 60 + 1, 0);
  std::map<std::pair<std::string, std::string>, RouteShare> routes;
  std::map<std::pair<std::string, std::string>, std::vector<std::map<std::string, std::size_t>>>
      ids;
  for (const auto& r : records) {
    const auto s = static_cast<std::size_t>(r.time_s - p.start_s);
    ++p.per_second[s];
    ++p.per_minute[s / 60];
    const auto tmpl = route_template(r.path);
    auto& route = routes[{r.method, tmpl}];
    route.method = r.method;
    route.route = tmpl;
    ++route.count;
    // Remember the raw values at each folded position, for the plan's pick(...).
    auto& at = ids[{r.method, tmpl}];
    std::size_t position = 0;
    std::size_t i = 0;
    std::size_t t = 0;
    while (i < r.raw_path.size() && t < tmpl.size()) {
      const auto raw_end = std::min(r.raw_path.find('/', i + 1), r.raw_path.size());
      const auto tmpl_end = std::min(tmpl.find('/', t + 1), tmpl.size());
      if (tmpl.compare(t, tmpl_end - t, "/{id}") == 0) {
        if (at.size() <= position) {
          at.resize(position + 1);
        }
        ++at[position][r.raw_path.substr(i + 1, raw_end - i - 1)];
        ++position;
      }
      i = raw_end;
      t = tmpl_end;
    }
  }
  for (std::size_t s = 0; s < seconds; ++s) {
    if (static_cast<double>(p.per_second[s]) > p.peak_rps) {
      p.peak_rps = static_cast<double>(p.per_second[s]);
      p.peak_at_s = static_cast<double>(s);
    }
  }
  for (const auto m : p.per_minute) {
    p.peak_minute_rps = std::max(p.peak_minute_rps, static_cast<double>(m) / 60.0);
  }
  if (seconds < 60) {
    p.peak_minute_rps = static_cast<double>(p.requests) / static_cast<double>(seconds);
  }
  p.sustained_rps = median(std::vector<double>(p.per_second.begin(), p.per_second.end()));
  p.spikes = find_spikes(p.per_second, p.sustained_rps);
  for (auto& [key, route] : routes) {
    route.share = static_cast<double>(route.count) / static_cast<double>(p.requests);
    for (const auto& position : ids[key]) {
      std::vector<std::pair<std::size_t, std::string>> seen;
      for (const auto& [value, count] : position) {
        seen.emplace_back(count, value);
      }
      std::sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      });
      std::vector<std::string> top;
      for (std::size_t k = 0; k < seen.size() && k < 5; ++k) {
        top.push_back(seen[k].second);
      }
      route.id_values.push_back(top);
    }
    p.routes.push_back(route);
  }
  std::sort(p.routes.begin(), p.routes.end(), [](const RouteShare& a, const RouteShare& b) {
    return a.count > b.count || (a.count == b.count && a.route < b.route);
  });

  // Sessions: by the session cookie when the log has one, else by client address and agent.
  // A request without the cookie (the login that sets it) joins the next session of its client.
  const bool by_cookie = std::any_of(records.begin(), records.end(),
                                     [](const AccessRecord& r) { return !r.session.empty(); });
  p.session_key = by_cookie ? "cookie" : "client";
  struct Session {
    std::vector<const AccessRecord*> requests;
    double last = 0;
  };
  std::vector<Session> sessions;
  std::unordered_map<std::string, std::size_t> open;
  std::unordered_map<std::string, std::vector<const AccessRecord*>>
      waiting;  // cookie-less, by client
  for (const auto& r : records) {
    const std::string client = r.client + "\n" + r.user_agent;
    if (by_cookie && r.session.empty()) {
      waiting[client].push_back(&r);
      continue;
    }
    const std::string key = by_cookie ? "c:" + r.session : client;
    auto it = open.find(key);
    if (it == open.end() || r.time_s - sessions[it->second].last > options.session_gap_s) {
      sessions.emplace_back();
      it = open.insert_or_assign(key, sessions.size() - 1).first;
      auto w = waiting.find(client);
      if (w != waiting.end()) {
        for (const auto* before : w->second) {
          if (r.time_s - before->time_s <= options.session_gap_s) {
            sessions.back().requests.push_back(before);
          }
        }
        waiting.erase(w);
      }
    }
    sessions[it->second].requests.push_back(&r);
    sessions[it->second].last = r.time_s;
  }
  for (auto& [client, rest] : waiting) {  // cookie-less requests that never led to a session
    for (const auto* r : rest) {
      sessions.push_back(Session{{r}, r->time_s});
    }
  }
  p.sessions = sessions.size();
  p.session_starts_per_second.assign(seconds, 0);
  std::map<std::pair<std::string, std::string>, std::size_t> transitions;
  std::map<std::string, std::size_t> from_counts;
  std::vector<double> gaps;
  std::map<std::vector<std::string>, std::pair<std::size_t, std::vector<std::vector<double>>>>
      shapes;
  for (const auto& s : sessions) {
    ++p.session_starts_per_second[static_cast<std::size_t>(s.requests.front()->time_s - p.start_s)];
    std::vector<std::string> steps;
    std::vector<double> think;
    std::string prev = "START";
    for (std::size_t k = 0; k < s.requests.size(); ++k) {
      const auto step = step_of(*s.requests[k]);
      steps.push_back(step);
      ++transitions[{prev, step}];
      ++from_counts[prev];
      prev = step;
      if (k > 0) {
        const double gap = s.requests[k]->time_s - s.requests[k - 1]->time_s;
        gaps.push_back(gap);
        think.push_back(gap);
      }
    }
    ++transitions[{prev, "END"}];
    ++from_counts[prev];
    auto& shape = shapes[steps];
    ++shape.first;
    shape.second.push_back(think);
  }
  for (const auto& [key, count] : transitions) {
    p.transitions.push_back(
        {key.first, key.second, count,
         static_cast<double>(count) / static_cast<double>(from_counts[key.first])});
  }
  std::sort(p.transitions.begin(), p.transitions.end(),
            [](const Transition& a, const Transition& b) {
              return a.count > b.count || (a.count == b.count && (a.from + a.to) < (b.from + b.to));
            });
  p.think = stats_of(gaps);
  for (const auto& [steps, shape] : shapes) {
    JourneyShape j;
    j.steps = steps;
    j.sessions = shape.first;
    j.share = static_cast<double>(shape.first) / static_cast<double>(p.sessions);
    for (std::size_t k = 0; k + 1 < steps.size(); ++k) {
      std::vector<double> after;
      for (const auto& t : shape.second) {
        after.push_back(t[k]);
      }
      j.think_after.push_back(stats_of(after));
    }
    p.journeys.push_back(j);
  }
  std::sort(p.journeys.begin(), p.journeys.end(), [](const JourneyShape& a, const JourneyShape& b) {
    return a.sessions > b.sessions || (a.sessions == b.sessions && a.steps < b.steps);
  });
  return p;
}

namespace {

std::string seconds_text(double s) {
  if (s >= 1 && std::fabs(s - std::round(s)) < 1e-9) {
    return fmt::format("{}s", static_cast<long long>(std::round(s)));
  }
  return fmt::format("{}ms", std::max<long long>(0, std::llround(s * 1000)));
}

struct Point {
  double t;
  double rate;
};

// Ramer-Douglas-Peucker: the fewest points whose straight lines stay within epsilon.
void simplify(const std::vector<Point>& pts, std::size_t a, std::size_t b, double epsilon,
              std::vector<bool>& keep) {
  if (b <= a + 1) {
    return;
  }
  double worst = -1;
  std::size_t at = a;
  for (std::size_t i = a + 1; i < b; ++i) {
    const double f = (pts[i].t - pts[a].t) / (pts[b].t - pts[a].t);
    const double d = std::fabs(pts[i].rate - (pts[a].rate + f * (pts[b].rate - pts[a].rate)));
    if (d > worst) {
      worst = d;
      at = i;
    }
  }
  if (worst > epsilon) {
    keep[at] = true;
    simplify(pts, a, at, epsilon, keep);
    simplify(pts, at, b, epsilon, keep);
  }
}

// Literal segments of a template are decoded; a request path needs them encoded again.
std::string percent_encode(std::string_view text) {
  static const std::string_view safe = "-._~/!$&'()*+,;=:@";
  std::string out;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 ||
        safe.find(c) != std::string_view::npos) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::string yaml_path(const RouteShare& route) {
  // {id} positions become pick(...) of the values the log saw most.
  std::string out;
  std::size_t position = 0;
  std::size_t i = 0;
  while (i < route.route.size()) {
    const auto at = route.route.find("{id}", i);
    if (at == std::string::npos) {
      out += percent_encode(route.route.substr(i));
      break;
    }
    out += percent_encode(route.route.substr(i, at - i));
    const auto& values =
        position < route.id_values.size() ? route.id_values[position] : std::vector<std::string>{};
    if (values.size() == 1) {
      out += values.front();
    } else if (!values.empty()) {
      out += "{{ pick(" + fmt::format("{}", fmt::join(values, ", ")) + ") }}";
    } else {
      out += "1";
    }
    ++position;
    i = at + 4;
  }
  return out;
}

}  // namespace

std::string plan_yaml(const TrafficProfile& p, const PlanOptions& o,
                      const std::string& source_name) {
  std::map<std::string, const RouteShare*> route_of;
  for (const auto& r : p.routes) {
    route_of[r.method + " " + r.route] = &r;
  }
  YAML::Node plan;
  YAML::Node target;
  target["base_url"] = o.base_url;
  target["cookies"] = true;
  plan["target"] = target;
  YAML::Node journeys(YAML::NodeType::Sequence);
  std::size_t covered = 0;
  for (std::size_t k = 0; k < p.journeys.size() && k < o.max_journeys; ++k) {
    const auto& j = p.journeys[k];
    covered += j.sessions;
    YAML::Node journey;
    journey["name"] = fmt::format("journey {}", k + 1);
    journey["weight"] = j.sessions;
    YAML::Node steps(YAML::NodeType::Sequence);
    for (std::size_t s = 0; s < j.steps.size(); ++s) {
      const auto* route = route_of[j.steps[s]];
      YAML::Node step;
      step["name"] = j.steps[s];
      YAML::Node request;
      request["method"] = route->method;
      request["path"] = yaml_path(*route);
      request.SetStyle(YAML::EmitterStyle::Flow);
      step["request"] = request;
      if (s < j.think_after.size() && j.think_after[s].mean_s >= 0.001) {
        const auto& t = j.think_after[s];
        if (t.stddev_s < 0.001 || t.count < 2) {
          step["think"] = seconds_text(t.mean_s);
        } else {
          YAML::Node normal;
          normal["mean"] = seconds_text(t.mean_s);
          normal["stddev"] = seconds_text(t.stddev_s);
          normal.SetStyle(YAML::EmitterStyle::Flow);
          YAML::Node think;
          think["normal"] = normal;
          think.SetStyle(YAML::EmitterStyle::Flow);
          step["think"] = think;
        }
      }
      steps.push_back(step);
    }
    journey["steps"] = steps;
    journeys.push_back(journey);
  }
  plan["journeys"] = journeys;

  // Session starts per second, in buckets (1 s for logs up to 10 minutes, else 1 min), then
  // simplified to at most max_stages straight segments.
  const double bucket = p.span_s <= 600 ? 1 : 60;
  std::vector<Point> pts;
  const auto n = p.session_starts_per_second.size();
  const auto per_bucket = static_cast<std::size_t>(bucket);
  // Journeys left out of the plan take no share of the rate: the plan's sessions are scaled
  // to those it reproduces.
  const double kept =
      p.sessions == 0 ? 1 : static_cast<double>(covered) / static_cast<double>(p.sessions);
  for (std::size_t b = 0; b * per_bucket < n; ++b) {
    double sum = 0;
    std::size_t count = 0;
    for (std::size_t s = b * per_bucket; s < std::min(n, (b + 1) * per_bucket); ++s) {
      sum += static_cast<double>(p.session_starts_per_second[s]);
      ++count;
    }
    pts.push_back(
        {static_cast<double>(b) * bucket, sum / static_cast<double>(count) * o.scale * kept});
  }
  if (pts.size() == 1) {
    pts.push_back({bucket, pts.front().rate});
  }
  std::vector<bool> keep(pts.size(), false);
  double peak = 0;
  for (const auto& pt : pts) {
    peak = std::max(peak, pt.rate);
  }
  double epsilon = std::max(0.01, peak * 0.02);
  for (;;) {
    std::fill(keep.begin(), keep.end(), false);
    keep.front() = keep.back() = true;
    simplify(pts, 0, pts.size() - 1, epsilon, keep);
    if (static_cast<std::size_t>(std::count(keep.begin(), keep.end(), true)) <= o.max_stages + 1) {
      break;
    }
    epsilon *= 1.5;
  }
  YAML::Node load;
  load["executor"] = "ramping-arrival-rate";
  const auto round2 = [](double v) { return std::round(v * 100) / 100; };
  load["start_rate"] = round2(pts.front().rate);
  load["time_unit"] = "1s";
  // Enough virtual users for the peak: arrivals x the longest journey's duration, with room.
  double longest = 1;
  for (const auto& j : p.journeys) {
    double d = 0.2 * static_cast<double>(j.steps.size());
    for (const auto& t : j.think_after) {
      d += t.mean_s;
    }
    longest = std::max(longest, d);
  }
  const int pre = std::max(10, static_cast<int>(std::ceil(peak * longest * 1.5)));
  load["pre_allocated_vus"] = pre;
  load["max_vus"] = pre * 4;
  YAML::Node stages(YAML::NodeType::Sequence);
  std::size_t prev = 0;
  for (std::size_t i = 1; i < pts.size(); ++i) {
    if (!keep[i]) {
      continue;
    }
    YAML::Node stage;
    stage["duration"] = seconds_text((pts[i].t - pts[prev].t) / o.compress);
    stage["target"] = round2(pts[i].rate);
    stage.SetStyle(YAML::EmitterStyle::Flow);
    stages.push_back(stage);
    prev = i;
  }
  // The last bucket's arrivals still need its own length.
  YAML::Node tail;
  tail["duration"] = seconds_text(bucket / o.compress);
  tail["target"] = round2(pts.back().rate);
  tail.SetStyle(YAML::EmitterStyle::Flow);
  stages.push_back(tail);
  load["stages"] = stages;
  load["graceful_stop"] = "10s";
  plan["load"] = load;
  YAML::Emitter out;
  out.SetIndent(2);
  out << plan;
  return fmt::format(
             "# Generated by crest profile from {} (docs/profile.md): {} requests, {} sessions by "
             "{};\n"
             "# scale {}, compress {}. Arrivals are session starts. Request bodies are not in "
             "access\n"
             "# logs: add json:/form: to POST steps before running against a real system.\n",
             source_name, p.requests, p.sessions, p.session_key, o.scale, o.compress) +
         out.c_str() + "\n";
}

std::string format_report(const ParsedLog& log, const TrafficProfile& p) {
  std::string out;
  auto line = [&out](const std::string& s) { out += s + "\n"; };
  line(fmt::format("crest profile: {} lines as {}: {} requests, {} malformed", log.lines,
                   to_string(log.format), log.records.size(), log.malformed));
  for (const auto& e : log.examples) {
    line(fmt::format("  malformed line {}: {} ({})", e.line_number, e.reason,
                     e.text.substr(0, 120)));
  }
  line(fmt::format("\nARRIVALS over {:.0f} s", p.span_s));
  line(fmt::format("  peak second......: {:.0f} req/s at +{:.0f}s", p.peak_rps, p.peak_at_s));
  line(fmt::format("  peak minute......: {:.2f} req/s", p.peak_minute_rps));
  line(fmt::format("  sustained........: {:.2f} req/s (median second)", p.sustained_rps));
  for (const auto& s : p.spikes) {
    line(fmt::format(
        "  spike at +{:.0f}s: {:.2f} -> {:.0f} req/s in {:.0f} s ({:.2f} req/s per s), {:.0f} s "
        "above 1.5x sustained",
        s.start_s, s.base_rps, s.peak_rps, s.peak_s - s.start_s, s.slope_rps_per_s, s.duration_s));
  }
  line("  per minute.......: " + fmt::format("{}", fmt::join(p.per_minute, " ")));
  line("\nROUTES                                              count   share");
  for (std::size_t i = 0; i < p.routes.size() && i < 25; ++i) {
    const auto& r = p.routes[i];
    line(fmt::format("  {:<48} {:>7} {:>6.1f}%", r.method + " " + r.route, r.count, r.share * 100));
  }
  line(fmt::format("\nSESSIONS by {}: {}", p.session_key, p.sessions));
  line(
      fmt::format("  think time between requests: mean {:.3f}s, stddev {:.3f}s, p50 {:.3f}s, p90 "
                  "{:.3f}s ({} gaps)",
                  p.think.mean_s, p.think.stddev_s, p.think.p50_s, p.think.p90_s, p.think.count));
  for (std::size_t i = 0; i < p.journeys.size() && i < 8; ++i) {
    const auto& j = p.journeys[i];
    line(fmt::format("  {:>5.1f}%  {}", j.share * 100, fmt::join(j.steps, " > ")));
  }
  line("\nTRANSITIONS (top 20)");
  for (std::size_t i = 0; i < p.transitions.size() && i < 20; ++i) {
    const auto& t = p.transitions[i];
    line(fmt::format("  {:>5.1f}%  {} -> {}  ({})", t.probability * 100, t.from, t.to, t.count));
  }
  return out;
}

std::string format_json(const ParsedLog& log, const TrafficProfile& p) {
  using nlohmann::json;
  json j;
  j["format"] = to_string(log.format);
  j["lines"] = log.lines;
  j["malformed"] = log.malformed;
  j["malformed_examples"] = json::array();
  for (const auto& e : log.examples) {
    j["malformed_examples"].push_back(
        {{"line", e.line_number}, {"text", e.text}, {"reason", e.reason}});
  }
  j["requests"] = p.requests;
  j["start_unix_s"] = p.start_s;
  j["span_s"] = p.span_s;
  j["per_second"] = p.per_second;
  j["per_minute"] = p.per_minute;
  j["peak_rps"] = p.peak_rps;
  j["peak_at_s"] = p.peak_at_s;
  j["peak_minute_rps"] = p.peak_minute_rps;
  j["sustained_rps"] = p.sustained_rps;
  j["spikes"] = json::array();
  for (const auto& s : p.spikes) {
    j["spikes"].push_back({{"start_s", s.start_s},
                           {"peak_s", s.peak_s},
                           {"end_s", s.end_s},
                           {"base_rps", s.base_rps},
                           {"peak_rps", s.peak_rps},
                           {"slope_rps_per_s", s.slope_rps_per_s},
                           {"duration_s", s.duration_s}});
  }
  j["routes"] = json::array();
  for (const auto& r : p.routes) {
    j["routes"].push_back(
        {{"method", r.method}, {"route", r.route}, {"count", r.count}, {"share", r.share}});
  }
  j["session_key"] = p.session_key;
  j["sessions"] = p.sessions;
  j["session_starts_per_second"] = p.session_starts_per_second;
  j["think"] = {{"mean_s", p.think.mean_s},
                {"stddev_s", p.think.stddev_s},
                {"p50_s", p.think.p50_s},
                {"p90_s", p.think.p90_s},
                {"count", p.think.count}};
  j["journeys"] = json::array();
  for (const auto& x : p.journeys) {
    j["journeys"].push_back({{"steps", x.steps}, {"sessions", x.sessions}, {"share", x.share}});
  }
  j["transitions"] = json::array();
  for (const auto& t : p.transitions) {
    j["transitions"].push_back(
        {{"from", t.from}, {"to", t.to}, {"count", t.count}, {"probability", t.probability}});
  }
  return j.dump(2) + "\n";
}

}  // namespace crest::profile
