#include "crest/load/capture.hpp"

#include <nlohmann/json.hpp>

#include "crest/core/text.hpp"
#include "sample.hpp"

namespace crest::load {
namespace {

const nlohmann::json* walk(const nlohmann::json& root, const JsonPath& path) {
  const nlohmann::json* node = &root;
  for (const auto& part : path.parts) {
    if (const auto* key = std::get_if<std::string>(&part)) {
      if (!node->is_object()) {
        return nullptr;
      }
      auto it = node->find(*key);
      if (it == node->end()) {
        return nullptr;
      }
      node = &*it;
    } else {
      const auto index = std::get<std::size_t>(part);
      if (!node->is_array() || index >= node->size()) {
        return nullptr;
      }
      node = &(*node)[index];
    }
  }
  return node;
}

// The body parsed once per response, only when a capture or check needs it.
struct LazyJson {
  explicit LazyJson(std::string_view b) : body(b) {}
  std::string_view body;
  bool parsed = false;
  nlohmann::json value;
  const nlohmann::json& get() {
    if (!parsed) {
      value = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
      parsed = true;
    }
    return value;
  }
};

}  // namespace

bool apply_captures(const Step& step, const ResponseView& r, std::vector<std::string>& vars,
                    std::string* missing) {
  LazyJson json(r.body);
  bool all = true;
  for (const auto& c : step.captures) {
    auto& out = vars[static_cast<std::size_t>(c.slot)];
    bool found = false;
    switch (c.kind) {
      case Capture::Kind::json: {
        const auto& root = json.get();
        if (root.is_discarded()) {
          break;
        }
        if (const auto* node = walk(root, c.path); node != nullptr && !node->is_null()) {
          out = node->is_string() ? node->get<std::string>() : node->dump();
          found = true;
        }
        break;
      }
      case Capture::Kind::regex: {
        std::match_results<std::string_view::const_iterator> m;
        if (std::regex_search(r.body.begin(), r.body.end(), m, c.pattern) &&
            m[static_cast<std::size_t>(c.group)].matched) {
          out.assign(m[static_cast<std::size_t>(c.group)].first,
                     m[static_cast<std::size_t>(c.group)].second);
          found = true;
        }
        break;
      }
      case Capture::Kind::header: {
        const auto v = r.header ? r.header(c.source) : std::string_view{};
        if (!v.empty()) {
          out.assign(v);
          found = true;
        }
        break;
      }
      case Capture::Kind::cookie: {
        const auto v = r.cookie ? r.cookie(c.source) : std::string_view{};
        if (!v.empty()) {
          out.assign(v);
          found = true;
        }
        break;
      }
    }
    if (!found && all) {
      all = false;
      if (missing != nullptr) {
        *missing = c.name;
      }
    }
  }
  return all;
}

bool evaluate_checks(const Step& step, const ResponseView& r, std::vector<bool>& passed) {
  LazyJson json(r.body);
  passed.assign(step.checks.size(), false);
  bool all = true;
  for (std::size_t i = 0; i < step.checks.size(); ++i) {
    const auto& c = step.checks[i];
    bool ok = false;
    switch (c.kind) {
      case Check::Kind::status_in:
        ok = std::find(c.statuses.begin(), c.statuses.end(), r.status) != c.statuses.end();
        break;
      case Check::Kind::body_contains:
        ok = r.body.find(c.text) != std::string_view::npos;
        break;
      case Check::Kind::json_equals: {
        const auto& root = json.get();
        if (!root.is_discarded()) {
          const auto* node = walk(root, c.path);
          ok = node != nullptr && *node == nlohmann::json::parse(c.expected_json);
        }
        break;
      }
      case Check::Kind::latency_below:
        ok = r.duration_ms < static_cast<double>(c.limit.count()) / 1e6;
        break;
    }
    passed[i] = ok;
    all = all && ok;
  }
  return all;
}

void judge_response(const ResponseContext& context, std::vector<bool>& check_passed, Sample& sample,
                    std::string* missing_capture) {
  const auto& step = context.step;
  const auto& parser = context.parser;
  const std::string_view response = context.response;
  if (context.plan.cookies) {
    for (std::size_t i = 0; i < parser.header_count(); ++i) {
      if (iequals(parser.header_name(response, i), "set-cookie")) {
        context.jar.set_from_header(parser.header_value(response, i));
      }
    }
  }
  if (!step.checks_status && sample.status >= 400) {
    sample.failure = FailureKind::http_status;
  }
  if (step.checks.empty() && step.captures.empty()) {
    return;
  }
  ResponseView view;
  view.status = sample.status;
  view.body = step.needs_body ? parser.body(response) : std::string_view{};
  view.header = [&parser, response](std::string_view name) {
    return parser.header(response, name);
  };
  view.cookie = [&jar = context.jar](std::string_view name) { return jar.get(name); };
  view.duration_ms = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                             sample.service + context.lag)
                                             .count()) /
                     1e6;
  const auto replaceable = [&sample] {
    return sample.failure == FailureKind::none || sample.failure == FailureKind::http_status;
  };
  if (!step.checks.empty() && !evaluate_checks(step, view, check_passed)) {
    if (replaceable()) {
      sample.failure = FailureKind::check_failed;
    }
    for (std::size_t i = 0; i < step.checks.size(); ++i) {
      if (!check_passed[i]) {
        sample.failed_check = step.checks[i].id;
        break;
      }
    }
  }
  // Captures run even when a check failed: later steps may still need the values.
  if (!step.captures.empty() && !apply_captures(step, view, context.vars, missing_capture) &&
      replaceable()) {
    sample.failure = FailureKind::capture_failed;
  }
}

}  // namespace crest::load
