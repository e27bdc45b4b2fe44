#include "crest/load/capture.hpp"

#include <charconv>
#include <nlohmann/json.hpp>
#include <random>

#include "crest/core/text.hpp"
#include "sample.hpp"

namespace crest::load {
namespace {

// Calls visit(node) for every value the path selects ("[*]" fans out), in document order, until
// visit returns false.
template <typename Visit>
bool walk_all(const nlohmann::json& node, const JsonPath& path, std::size_t from, Visit& visit) {
  const nlohmann::json* at = &node;
  for (std::size_t i = from; i < path.parts.size(); ++i) {
    const auto& part = path.parts[i];
    if (const auto* key = std::get_if<std::string>(&part)) {
      if (!at->is_object()) {
        return true;
      }
      auto it = at->find(*key);
      if (it == at->end()) {
        return true;
      }
      at = &*it;
      continue;
    }
    const auto index = std::get<std::size_t>(part);
    if (!at->is_array()) {
      return true;
    }
    if (index == JsonPath::kEveryIndex) {
      for (const auto& element : *at) {
        if (!walk_all(element, path, i + 1, visit)) {
          return false;
        }
      }
      return true;
    }
    if (index >= at->size()) {
      return true;
    }
    at = &(*at)[index];
  }
  return visit(*at);
}

// The match-th (1-based) value the path selects, or one at random when match is 0; null values
// do not count. nullptr when there is none.
const nlohmann::json* select(const nlohmann::json& root, const JsonPath& path, int match,
                             Rng* rng) {
  std::size_t count = 0;
  auto counter = [&count](const nlohmann::json& v) {
    count += v.is_null() ? 0 : 1;
    return true;
  };
  std::size_t wanted = static_cast<std::size_t>(match);
  if (match == 0) {
    walk_all(root, path, 0, counter);
    if (count == 0) {
      return nullptr;
    }
    wanted = rng == nullptr ? 1 : std::uniform_int_distribution<std::size_t>(1, count)(*rng);
  }
  const nlohmann::json* found = nullptr;
  std::size_t seen = 0;
  auto finder = [&](const nlohmann::json& v) {
    if (!v.is_null() && ++seen == wanted) {
      found = &v;
      return false;
    }
    return true;
  };
  walk_all(root, path, 0, finder);
  return found;
}

const nlohmann::json* walk(const nlohmann::json& root, const JsonPath& path) {
  return select(root, path, 1, nullptr);
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
                    std::string* missing, Rng* rng) {
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
        if (const auto* node = select(root, c.path, c.match, rng); node != nullptr) {
          out = node->is_string() ? node->get<std::string>() : node->dump();
          found = true;
        }
        break;
      }
      case Capture::Kind::regex: {
        using Matches = std::regex_iterator<std::string_view::const_iterator>;
        const auto group = static_cast<std::size_t>(c.group);
        std::size_t wanted = static_cast<std::size_t>(c.match);
        if (c.match == 0) {
          std::size_t count = 0;
          for (Matches it(r.body.begin(), r.body.end(), c.pattern), end; it != end; ++it) {
            count += (*it)[group].matched ? 1 : 0;
          }
          wanted = count == 0 || rng == nullptr
                       ? 1
                       : std::uniform_int_distribution<std::size_t>(1, count)(*rng);
        }
        std::size_t seen = 0;
        for (Matches it(r.body.begin(), r.body.end(), c.pattern), end; it != end; ++it) {
          if ((*it)[group].matched && ++seen == wanted) {
            out.assign((*it)[group].first, (*it)[group].second);
            found = true;
            break;
          }
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
    if (!found && c.has_default) {
      out = c.default_value;  // a default makes the capture optional
      found = true;
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

namespace {

bool json_check(const Check& c, const nlohmann::json* node) {
  if (c.op == Check::Op::exists || c.op == Check::Op::not_exists) {
    return (node != nullptr) == (c.op == Check::Op::exists);
  }
  if (node == nullptr) {
    return c.op == Check::Op::ne;
  }
  const auto expected = nlohmann::json::parse(c.expected_json, nullptr, false);
  switch (c.op) {
    case Check::Op::eq:
      return *node == expected;
    case Check::Op::ne:
      return *node != expected;
    default:
      break;
  }
  // Ordered comparisons are numeric; a number sent as a string ("12.50") counts as its number.
  double value = 0;
  if (node->is_number()) {
    value = node->get<double>();
  } else if (node->is_string()) {
    const auto& text = node->get_ref<const std::string&>();
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size()) {
      return false;
    }
  } else {
    return false;
  }
  const double limit = expected.is_number() ? expected.get<double>() : 0;
  switch (c.op) {
    case Check::Op::lt:
      return value < limit;
    case Check::Op::le:
      return value <= limit;
    case Check::Op::gt:
      return value > limit;
    case Check::Op::ge:
      return value >= limit;
    default:
      return false;
  }
}

}  // namespace

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
      case Check::Kind::body_matches:
        ok = std::regex_search(r.body.begin(), r.body.end(), c.pattern);
        break;
      case Check::Kind::header_equals:
      case Check::Kind::header_matches: {
        const auto v = r.header ? r.header(c.text) : std::string_view{};
        ok = c.kind == Check::Kind::header_equals
                 ? v == c.expected
                 : std::regex_search(v.begin(), v.end(), c.pattern);
        break;
      }
      case Check::Kind::json: {
        const auto& root = json.get();
        if (!root.is_discarded()) {
          ok = json_check(c, walk(root, c.path));
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
  if (!step.captures.empty() &&
      !apply_captures(step, view, context.vars, missing_capture, context.rng) && replaceable()) {
    sample.failure = FailureKind::capture_failed;
  }
}

}  // namespace crest::load
