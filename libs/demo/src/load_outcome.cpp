#include "crest/demo/load_outcome.hpp"

#include <fstream>
#include <sstream>

#include "crest/metrics/latency_histogram.hpp"

namespace crest::demo {

using nlohmann::json;

Result<LoadOutcome> LoadOutcome::read(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{ErrorKind::not_found, path + ": cannot be opened"};
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Error{ErrorKind::invalid_argument, path + ": not valid JSON"};
  return from_json(doc, path);
}

Result<LoadOutcome> LoadOutcome::from_json(const json& run, const std::string& origin) {
  auto bad = [&](const std::string& why) {
    return Error{ErrorKind::invalid_argument, origin + ": " + why};
  };
  if (!run.is_object() || !run.contains("timeline") || !run["timeline"].is_array() ||
      !run.contains("http_reqs")) {
    return bad("not a crest run JSON output (no 'http_reqs' and 'timeline')");
  }
  LoadOutcome out;
  try {
    out.start_unix_s_ = run.value("start_unix_ms", 0.0) / 1000.0;
    out.elapsed_s_ = run.value("elapsed_s", 0.0);
    out.requests_ = run.value("http_reqs", std::uint64_t{0});
    out.failures_ = run.value("http_req_failed", std::uint64_t{0});
    out.iterations_ = run.value("iterations", std::uint64_t{0});
    out.dropped_ = run.value("dropped_iterations", std::uint64_t{0});
    out.steps_ = run.value("steps", json::array());
    metrics::LatencyHistogram total;
    for (const auto& second : run["timeline"]) {
      Second s;
      s.t = second.at("t").get<double>();
      s.requests = second.value("requests", std::uint64_t{0});
      s.failures = second.value("failures", std::uint64_t{0});
      s.dropped = second.value("dropped", std::uint64_t{0});
      if (auto steps = second.find("steps"); steps != second.end() && steps->is_object()) {
        for (const auto& [name, step] : steps->items()) {
          s.steps[name] = {{"requests", step.value("requests", std::uint64_t{0})},
                           {"failures", step.value("failures", std::uint64_t{0})}};
        }
        for (const auto& [name, step] : steps->items()) {
          if (auto h = step.find("histogram"); h != step.end() && h->is_string()) {
            s.histograms.push_back(h->get<std::string>());
            if (auto parsed = metrics::LatencyHistogram::deserialise(s.histograms.back())) {
              total.merge(*parsed);
            }
          }
        }
      }
      out.timeline_.push_back(std::move(s));
    }
    out.p99_ms_ = static_cast<double>(total.percentile_us(99)) / 1000.0;
    if (auto recorded = run.find("recorded"); recorded != run.end()) {
      if (!recorded->is_object()) return bad("'recorded' is not an object");
      for (const auto& [step, captures] : recorded->items()) {
        if (!captures.is_object()) return bad("'recorded." + step + "' is not an object");
        for (const auto& [capture, list] : captures.items()) {
          const auto field = "'recorded." + step + "." + capture + "'";
          if (!list.is_object() || !list.contains("values") || !list["values"].is_array()) {
            return bad(field + " has no 'values' list");
          }
          RecordedList kept;
          kept.not_kept = list.value("not_kept", std::uint64_t{0});
          kept.values.reserve(list["values"].size());
          for (const auto& v : list["values"]) {
            if (!v.is_string()) return bad(field + " holds a value that is not a string");
            kept.values.push_back(v.get<std::string>());
          }
          out.recorded_[{step, capture}] = std::move(kept);
        }
      }
    }
  } catch (const json::exception& e) {
    return bad(std::string("unexpected shape: ") + e.what());
  }
  return out;
}

std::uint64_t LoadOutcome::step_2xx(const std::string& step) const {
  for (const auto& s : steps_) {
    if (s.value("name", "") == step) {
      return s.value("status_classes", json::object()).value("2xx", std::uint64_t{0});
    }
  }
  return 0;
}

const RecordedList* LoadOutcome::recorded(const std::string& step,
                                          const std::string& capture) const {
  const auto found = recorded_.find({step, capture});
  return found == recorded_.end() ? nullptr : &found->second;
}

std::uint64_t LoadOutcome::step_passed(const std::string& step, double from_s, double to_s) const {
  std::uint64_t passed = 0;
  for (const auto& s : timeline_) {
    if (s.t <= from_s || s.t > to_s || !s.steps.contains(step)) continue;
    const auto requests = s.steps.at(step).value("requests", std::uint64_t{0});
    const auto failures = s.steps.at(step).value("failures", std::uint64_t{0});
    passed += requests > failures ? requests - failures : 0;
  }
  return passed;
}

WindowStats LoadOutcome::window(double from_s, double to_s) const {
  WindowStats w;
  metrics::LatencyHistogram merged;
  for (const auto& s : timeline_) {
    if (s.t <= from_s || s.t > to_s) continue;
    w.requests += s.requests;
    w.failures += s.failures;
    w.dropped += s.dropped;
    for (const auto& text : s.histograms) {
      if (auto h = metrics::LatencyHistogram::deserialise(text)) merged.merge(*h);
    }
  }
  w.p99_ms = static_cast<double>(merged.percentile_us(99)) / 1000.0;
  return w;
}

}  // namespace crest::demo
