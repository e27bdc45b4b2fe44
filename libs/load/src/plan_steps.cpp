// A plan's journeys and their steps: groups, conditions, the request (method, URL, headers, body)
// and think time. What a response is read for (captures, checks): plan_captures.cpp.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "plan_parser.hpp"

namespace crest::load {

void PlanParser::parse_journeys(const YAML::Node& node) {
  if (!node.IsSequence() || node.size() == 0) {
    fail(node, "expected journeys to be a non-empty list");
  }
  std::set<std::string> names;
  for (const auto& existing : plan_.journeys) {
    names.insert(existing.name);  // setup
  }
  for (const auto& j : node) {
    expect_map(j, "a journey", {"name", "weight", "steps"});
    Journey journey;
    journey.name = j["name"] ? scalar(j["name"], "journey name")
                             : "journey" + std::to_string(plan_.journeys.size() + 1);
    if (!names.insert(journey.name).second) {
      fail(j, "duplicate journey name '" + journey.name + "'");
    }
    if (j["weight"]) {
      journey.weight = number(j["weight"], "journey weight");
      if (journey.weight <= 0) {
        fail(j["weight"], "expected journey weight to be > 0");
      }
    }
    if (!j["steps"]) {
      fail(j, "missing 'steps' in journey '" + journey.name + "'");
    }
    parse_journey_steps(j["steps"], journey);
    plan_.journeys.push_back(std::move(journey));
  }
}

void PlanParser::parse_journey_steps(const YAML::Node& node, Journey& journey) {
  std::vector<int> groups;
  parse_steps(node, journey, groups);
  if (journey.steps.empty()) {
    fail(node, "journey '" + journey.name + "' has no request steps");
  }
}

void PlanParser::parse_steps(const YAML::Node& node, Journey& journey, std::vector<int>& groups) {
  if (!node.IsSequence()) {
    fail(node, "expected steps to be a list");
  }
  auto& program = journey.program;
  const auto here = [&program] { return static_cast<int>(program.size()); };
  for (const auto& s : node) {
    if (s.IsMap() && (s["group"] || s["transaction"])) {
      const char* key = s["group"] ? "group" : "transaction";
      if (s["group"] && s["transaction"]) {
        fail(s, "a block is either a group or a transaction (the same thing), not both");
      }
      expect_map(s, std::string("a ") + key, {key, "steps"});
      Group g{scalar(s[key], std::string(key) + " name")};
      if (g.name.empty()) {
        fail(s[key], std::string("expected a ") + key + " name");
      }
      plan_.groups.push_back(g);
      const int index = static_cast<int>(plan_.groups.size() - 1);
      if (!s["steps"]) {
        fail(s, "missing 'steps' in " + std::string(key) + " '" + g.name + "'");
      }
      Instruction begin;
      begin.kind = Instruction::Kind::group_begin;
      begin.group = index;
      program.push_back(std::move(begin));
      groups.push_back(index);
      parse_steps(s["steps"], journey, groups);
      groups.pop_back();
      Instruction end;
      end.kind = Instruction::Kind::group_end;
      end.group = index;
      program.push_back(std::move(end));
      continue;
    }
    if (s.IsMap() && s["if"]) {
      expect_map(s, "an if block", {"if", "steps", "else"});
      if (!s["steps"]) {
        fail(s, "missing 'steps' in if block");
      }
      Instruction test;
      test.kind = Instruction::Kind::jump_unless;
      test.condition = condition(s["if"], journey);
      const int test_at = here();
      program.push_back(std::move(test));
      parse_steps(s["steps"], journey, groups);
      if (s["else"]) {
        Instruction skip;
        skip.kind = Instruction::Kind::jump;
        const int skip_at = here();
        program.push_back(std::move(skip));
        program[static_cast<std::size_t>(test_at)].target = here();
        parse_steps(s["else"], journey, groups);
        program[static_cast<std::size_t>(skip_at)].target = here();
      } else {
        program[static_cast<std::size_t>(test_at)].target = here();
      }
      continue;
    }
    if (s.IsMap() && s["loop"]) {
      expect_map(s, "a loop block", {"loop", "steps"});
      if (!s["steps"]) {
        fail(s, "missing 'steps' in loop block");
      }
      Instruction begin;
      begin.kind = Instruction::Kind::loop_begin;
      const auto& spec = s["loop"];
      if (spec.IsMap()) {
        expect_map(spec, "loop", {"count", "while", "max"});
        if ((spec["count"] ? 1 : 0) + (spec["while"] ? 1 : 0) != 1) {
          fail(spec, "a loop has either 'count' or 'while' (with 'max')");
        }
        if (spec["count"]) {
          begin.count = tmpl(spec["count"], "loop.count");
          if (spec["max"]) {
            fail(spec["max"], "'max' bounds a while loop; a count loop runs 'count' times");
          }
        } else {
          if (!spec["max"]) {
            fail(spec, "a while loop needs 'max', the most rounds it may run (a bound)");
          }
          begin.bound = integer(spec["max"], "loop.max", 1);
        }
      } else {
        begin.count = tmpl(spec, "loop count");
      }
      if (!(spec.IsMap() && spec["while"]) && begin.count.is_constant()) {
        const auto text = begin.count.segments().empty() ? "" : begin.count.segments()[0].text;
        int n = 0;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc() || ptr != text.data() + text.size() || n < 0) {
          fail(spec,
               "expected a loop count >= 0 (or a template rendering to one), got '" + text + "'");
        }
      }
      const int begin_at = here();
      const bool is_while = spec.IsMap() && spec["while"];
      program.push_back(std::move(begin));
      parse_steps(s["steps"], journey, groups);
      if (is_while) {
        // After the body: its captures may decide the loop (before the first round they are
        // empty, or what an earlier step captured).
        program[static_cast<std::size_t>(begin_at)].condition = condition(spec["while"], journey);
      }
      Instruction next;
      next.kind = Instruction::Kind::loop_next;
      next.target = begin_at + 1;
      next.condition = program[static_cast<std::size_t>(begin_at)].condition;
      program.push_back(std::move(next));
      program[static_cast<std::size_t>(begin_at)].target = here();
      continue;
    }
    parse_step(s, journey, groups);
  }
}

int PlanParser::condition(const YAML::Node& node, Journey& journey) {
  declare_env(scalar(node, "condition"));
  auto c = Condition::compile(scalar(node, "condition"), plan_.vars);
  if (!c.ok()) {
    fail(node, c.error().message);
  }
  journey.conditions.push_back(std::move(c.value()));
  return static_cast<int>(journey.conditions.size() - 1);
}

void PlanParser::parse_step(const YAML::Node& node, Journey& journey,
                            const std::vector<int>& groups) {
  if (node.IsMap() && !node["request"] && !node["name"] && node.size() == 1) {
    const auto key = node.begin()->first.as<std::string>();
    fail(node, "unknown block '" + key +
                   "' (expected a step with 'request', or a block: if, loop, transaction, group)");
  }
  expect_map(node, "a step", {"name", "request", "capture", "check", "think", "timeout", "tags"});
  Step step;
  step.groups = groups;
  step.group = groups.empty() ? -1 : groups.back();
  if (!node["request"]) {
    fail(node, "missing 'request' in step (expected request: {method: GET, path: /})");
  }
  parse_request(node["request"], step);
  if (node["name"]) {
    step.name = scalar(node["name"], "step name");
  } else {
    const auto& r = node["request"];
    step.name = step.method + " " + (r["path"] ? r["path"].Scalar() : r["url"].Scalar());
  }
  if (node["timeout"]) {
    step.timeout = duration(node["timeout"], "step timeout");
    if (step.timeout.count() <= 0) {
      fail(node["timeout"], "expected a step timeout > 0");
    }
  }
  if (const auto t = node["tags"]) {
    if (!t.IsMap()) {
      fail(t, "expected tags to be a mapping of name: value");
    }
    for (const auto& kv : t) {
      const auto key = kv.first.as<std::string>();
      static const std::set<std::string> kReserved = {"step", "journey", "group", "scenario"};
      if (kReserved.count(key) != 0) {
        fail(kv.first, "tag '" + key + "' is set by crest and cannot be given");
      }
      step.tags.emplace_back(key, scalar(kv.second, "tag value"));
    }
  }
  if (node["check"]) {
    parse_checks(node["check"], step);
  }
  for (auto& c : step.checks) {
    const auto found = std::find(plan_.check_names.begin(), plan_.check_names.end(), c.name);
    c.id = static_cast<int>(found - plan_.check_names.begin());
    if (found == plan_.check_names.end()) {
      plan_.check_names.push_back(c.name);
    }
  }
  if (node["capture"]) {
    parse_captures(node["capture"],
                   step);  // after checks and request: captures are for later steps
  }
  if (node["think"]) {
    step.think = parse_think(node["think"]);
  }
  const auto it = std::find(plan_.step_names.begin(), plan_.step_names.end(), step.name);
  if (it == plan_.step_names.end()) {
    plan_.step_names.push_back(step.name);
    step.metric = static_cast<int>(plan_.step_names.size() - 1);
  } else {
    step.metric = static_cast<int>(it - plan_.step_names.begin());
  }
  Instruction request;
  request.kind = Instruction::Kind::request;
  request.step = static_cast<int>(journey.steps.size());
  journey.program.push_back(std::move(request));
  journey.steps.push_back(std::move(step));
}

void PlanParser::parse_request(const YAML::Node& node, Step& step) {
  expect_map(node, "request",
             {"method", "path", "url", "headers", "query", "json", "form", "body"});
  step.method = node["method"] ? scalar(node["method"], "request.method") : "GET";
  static const std::set<std::string> kMethods = {"GET",    "POST", "PUT",    "PATCH",
                                                 "DELETE", "HEAD", "OPTIONS"};
  if (kMethods.count(step.method) == 0) {
    fail(node["method"], "unknown method '" + step.method +
                             "' (expected GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS)");
  }
  if (node["path"] && node["url"]) {
    fail(node, "a request has either 'path' or 'url', not both");
  }
  if (node["path"]) {
    const auto path = scalar(node["path"], "request.path");
    if (path.empty() || path.front() != '/') {
      fail(node["path"], "expected request.path to start with '/', got '" + path + "'");
    }
    step.target = tmpl(node["path"], "request.path");
  } else if (node["url"]) {
    std::string path;
    auto o = parse_origin(scalar(node["url"], "request.url"), &path);
    if (!o.ok()) {
      fail(node["url"], "request.url: " + o.error().message);
    }
    if (o->host.find("{{") != std::string::npos) {
      fail(node["url"], "request.url: the scheme, host and port cannot be templated");
    }
    std::size_t index = 0;
    while (index < plan_.origins.size() && (plan_.origins[index].host_header != o->host_header ||
                                            plan_.origins[index].tls != o->tls)) {
      ++index;
    }
    if (index == plan_.origins.size()) {
      plan_.origins.push_back(*o);
    }
    step.origin = static_cast<int>(index);
    declare_env(path);
    auto t = Template::compile(path.empty() ? "/" : path, plan_.vars);
    if (!t.ok()) {
      fail(node["url"], "request.url: " + t.error().message);
    }
    step.target = std::move(t.value());
  } else {
    fail(node, "missing 'path' or 'url' in request");
  }
  if (const auto q = node["query"]) {
    if (!q.IsMap()) {
      fail(q, "expected request.query to be a mapping of name: value");
    }
    bool first = step.target.segments().empty() ||
                 step.target.segments().front().text.find('?') == std::string::npos;
    for (const auto& kv : q) {
      step.target.append_literal(first ? "?" : "&");
      first = false;
      std::string key;
      append_escaped(key, kv.first.as<std::string>(), Escape::url);
      step.target.append_literal(key + "=");
      step.target.append(tmpl(kv.second, "query value", Escape::url));
    }
  }
  if (const auto h = node["headers"]) {
    if (!h.IsMap()) {
      fail(h, "expected request.headers to be a mapping of name: value");
    }
    for (const auto& kv : h) {
      step.headers.emplace_back(kv.first.as<std::string>(), tmpl(kv.second, "header value"));
    }
  }
  const int bodies = (node["json"] ? 1 : 0) + (node["form"] ? 1 : 0) + (node["body"] ? 1 : 0);
  if (bodies > 1) {
    fail(node, "a request has at most one of json, form and body");
  }
  if (node["json"]) {
    step.has_body = true;
    step.content_type = "application/json";
    json_body(node["json"], step.body);
  } else if (const auto f = node["form"]) {
    step.has_body = true;
    step.content_type = "application/x-www-form-urlencoded";
    if (!f.IsMap()) {
      fail(f, "expected request.form to be a mapping of name: value");
    }
    bool first = true;
    for (const auto& kv : f) {
      std::string key;
      append_escaped(key, kv.first.as<std::string>(), Escape::url);
      step.body.append_literal((first ? "" : "&") + key + "=");
      first = false;
      step.body.append(tmpl(kv.second, "form value", Escape::url));
    }
  } else if (node["body"]) {
    step.has_body = true;
    step.content_type = "text/plain";
    step.body = tmpl(node["body"], "request.body");
  }
  for (const auto& [name, value] : step.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "content-type") {
      step.content_type.clear();  // the step's own header wins
    }
    if (lower == "content-length" || lower == "host" || lower == "transfer-encoding") {
      fail(node["headers"], "header '" + name + "' is set by crest and cannot be given");
    }
  }
}

void PlanParser::json_body(const YAML::Node& node, Template& out) {
  if (node.IsMap()) {
    out.append_literal("{");
    bool first = true;
    for (const auto& kv : node) {
      if (!first) {
        out.append_literal(",");
      }
      first = false;
      // dump() throws on bytes that are not UTF-8: replace them, as the body is sent as JSON.
      out.append_literal(nlohmann::json(kv.first.as<std::string>())
                             .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                         ":");
      json_body(kv.second, out);
    }
    out.append_literal("}");
  } else if (node.IsSequence()) {
    out.append_literal("[");
    bool first = true;
    for (const auto& item : node) {
      if (!first) {
        out.append_literal(",");
      }
      first = false;
      json_body(item, out);
    }
    out.append_literal("]");
  } else if (node.IsNull()) {
    out.append_literal("null");
  } else {
    const std::string& s = node.Scalar();
    const bool plain = node.Tag() == "?";
    if (plain) {
      // Unquoted YAML numbers, booleans and null stay JSON literals.
      if (s == "true" || s == "false" || s == "null") {
        out.append_literal(s);
        return;
      }
      double d = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec == std::errc() && ptr == s.data() + s.size()) {
        out.append_literal(s);
        return;
      }
    }
    // "{{{ expr }}}" alone is emitted raw (a number from a template); otherwise a JSON string.
    if (s.size() > 6 && s.substr(0, 3) == "{{{" && s.substr(s.size() - 3) == "}}}" &&
        s.find("{{", 3) == std::string::npos) {
      out.append(tmpl(node, "JSON value"));
      return;
    }
    out.append_literal("\"");
    out.append(tmpl(node, "JSON value", Escape::json));
    out.append_literal("\"");
  }
}

ThinkTime PlanParser::parse_think(const YAML::Node& node) {
  ThinkTime t;
  if (node.IsScalar()) {
    t.kind = ThinkTime::Kind::constant;
    t.a = duration(node, "think");
    return t;
  }
  expect_map(node, "think", {"uniform", "normal"});
  if (const auto u = node["uniform"]) {
    if (!u.IsSequence() || u.size() != 2) {
      fail(u, "expected think.uniform to be [low, high], as [1s, 3s]");
    }
    t.kind = ThinkTime::Kind::uniform;
    t.a = duration(u[0], "think.uniform low");
    t.b = duration(u[1], "think.uniform high");
    if (t.b < t.a) {
      fail(u, "think.uniform: high must not be below low");
    }
  } else if (const auto n = node["normal"]) {
    expect_map(n, "think.normal", {"mean", "stddev"});
    if (!n["mean"] || !n["stddev"]) {
      fail(n, "think.normal needs 'mean' and 'stddev'");
    }
    t.kind = ThinkTime::Kind::normal;
    t.a = duration(n["mean"], "think.normal.mean");
    t.b = duration(n["stddev"], "think.normal.stddev");
  } else {
    fail(node,
         "expected think to be a duration, {uniform: [low, high]} or {normal: {mean, stddev}}");
  }
  return t;
}

}  // namespace crest::load
