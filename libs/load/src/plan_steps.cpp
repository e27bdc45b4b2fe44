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

void PlanParser::parse_captures(const YAML::Node& node, Step& step) {
  if (!node.IsSequence()) {
    fail(node, "expected capture to be a list of {name, json|regex|header|cookie}");
  }
  for (const auto& c : node) {
    expect_map(
        c, "a capture",
        {"name", "json", "regex", "group", "header", "cookie", "match", "default", "record"});
    Capture cap;
    if (!c["name"]) {
      fail(c, "missing 'name' in capture (the variable to store the value in)");
    }
    cap.name = scalar(c["name"], "capture name");
    const int kinds =
        (c["json"] ? 1 : 0) + (c["regex"] ? 1 : 0) + (c["header"] ? 1 : 0) + (c["cookie"] ? 1 : 0);
    if (kinds != 1) {
      fail(c, "a capture needs exactly one of json, regex, header or cookie");
    }
    if (c["json"]) {
      cap.kind = Capture::Kind::json;
      cap.source = scalar(c["json"], "capture json path");
      cap.path = json_path(c["json"]);
      step.needs_body = true;
    } else if (c["regex"]) {
      cap.kind = Capture::Kind::regex;
      cap.source = scalar(c["regex"], "capture regex");
      cap.pattern = regex(c["regex"]);
      cap.group = c["group"] ? integer(c["group"], "capture group") : 1;
      if (static_cast<std::size_t>(cap.group) > cap.pattern.mark_count()) {
        fail(c["group"] ? c["group"] : c["regex"],
             "regex '" + cap.source + "' has " + std::to_string(cap.pattern.mark_count()) +
                 " groups, group " + std::to_string(cap.group) + " asked for");
      }
      step.needs_body = true;
    } else if (c["header"]) {
      cap.kind = Capture::Kind::header;
      cap.source = scalar(c["header"], "capture header");
    } else {
      cap.kind = Capture::Kind::cookie;
      cap.source = scalar(c["cookie"], "capture cookie");
    }
    if (c["group"] && cap.kind != Capture::Kind::regex) {
      fail(c["group"], "'group' applies to regex captures only");
    }
    if (const auto m = c["match"]) {
      if (cap.kind != Capture::Kind::json && cap.kind != Capture::Kind::regex) {
        fail(m, "'match' applies to json and regex captures only");
      }
      cap.match = m.IsScalar() && m.Scalar() == "random" ? 0 : integer(m, "capture match", 1);
    }
    if (c["default"]) {
      cap.has_default = true;
      cap.default_value = c["default"].IsNull() ? "" : scalar(c["default"], "capture default");
    }
    if (c["record"] && boolean(c["record"], "capture record")) {
      const auto same = [&](const Plan::RecordedCapture& r) {
        return r.step == step.name && r.capture == cap.name;
      };
      const auto found = std::find_if(plan_.recorded.begin(), plan_.recorded.end(), same);
      cap.recorded = static_cast<int>(found - plan_.recorded.begin());
      if (found == plan_.recorded.end()) {
        plan_.recorded.push_back({step.name, cap.name});
      }
      step.records = true;
    }
    cap.slot = plan_.vars.add(cap.name);
    step.captures.push_back(std::move(cap));
  }
}

JsonPath PlanParser::json_path(const YAML::Node& node) {
  auto p = JsonPath::parse(scalar(node, "JSON path"));
  if (!p.ok()) {
    fail(node, p.error().message);
  }
  return std::move(p.value());
}

std::regex PlanParser::regex(const YAML::Node& node) {
  const auto text = scalar(node, "regular expression");
  try {
    return std::regex(text, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    fail(node, "invalid regular expression '" + text + "': " + e.what());
  }
}

void PlanParser::parse_checks(const YAML::Node& node, Step& step) {
  // A mapping of checks ({status: 200, body_contains: x}), or a list of them, each of which may
  // carry its own `name:` (the label in the summary, and what thresholds and notes show).
  if (node.IsSequence()) {
    for (const auto& item : node) {
      parse_check_map(item, step, true);
    }
    return;
  }
  parse_check_map(node, step, false);
}

void PlanParser::parse_check_map(const YAML::Node& node, Step& step, bool one) {
  expect_map(
      node, one ? "a check" : "check",
      {"name", "status", "body_contains", "body_matches", "header", "json", "latency_below"});
  const std::size_t before = step.checks.size();
  const std::string custom = node["name"] ? scalar(node["name"], "check name") : "";
  if (node["name"] && !one) {
    const int kinds = static_cast<int>(node.size()) - 1;
    if (kinds != 1) {
      fail(node["name"], "a check 'name' names one check: write check: as a list, one per item");
    }
  }
  if (const auto s = node["status"]) {
    Check c;
    c.kind = Check::Kind::status_in;
    step.checks_status = true;
    if (s.IsSequence()) {
      for (const auto& v : s) {
        c.statuses.push_back(integer(v, "status", 100));
      }
    } else {
      c.statuses.push_back(integer(s, "status", 100));
    }
    std::string list;
    for (int v : c.statuses) {
      list += (list.empty() ? "" : ",") + std::to_string(v);
    }
    c.name = step.name + ": status in [" + list + "]";
    step.checks.push_back(std::move(c));
  }
  if (const auto b = node["body_contains"]) {
    Check c;
    c.kind = Check::Kind::body_contains;
    c.text = scalar(b, "body_contains");
    c.name = step.name + ": body contains \"" + c.text + "\"";
    step.checks.push_back(std::move(c));
    step.needs_body = true;
  }
  if (const auto b = node["body_matches"]) {
    Check c;
    c.kind = Check::Kind::body_matches;
    c.pattern = regex(b);
    c.name = step.name + ": body matches /" + b.Scalar() + "/";
    step.checks.push_back(std::move(c));
    step.needs_body = true;
  }
  if (const auto h = node["header"]) {
    expect_map(h, "check.header", {"name", "equals", "matches"});
    if (!h["name"] || (h["equals"] ? 1 : 0) + (h["matches"] ? 1 : 0) != 1) {
      fail(h, "check.header needs 'name' and one of 'equals' or 'matches'");
    }
    Check c;
    c.text = scalar(h["name"], "check.header.name");
    if (h["equals"]) {
      c.kind = Check::Kind::header_equals;
      c.expected = scalar(h["equals"], "check.header.equals");
      c.name = step.name + ": header " + c.text + " == \"" + c.expected + "\"";
    } else {
      c.kind = Check::Kind::header_matches;
      c.pattern = regex(h["matches"]);
      c.name = step.name + ": header " + c.text + " matches /" + h["matches"].Scalar() + "/";
    }
    step.checks.push_back(std::move(c));
  }
  if (const auto j = node["json"]) {
    if (j.IsSequence()) {
      if (one) {
        fail(j, "one check per list item: give each JSON check its own item");
      }
      for (const auto& item : j) {
        step.checks.push_back(json_check(item, step));
      }
    } else {
      step.checks.push_back(json_check(j, step));
    }
    step.needs_body = true;
  }
  if (const auto l = node["latency_below"]) {
    Check c;
    c.kind = Check::Kind::latency_below;
    c.limit = duration(l, "check.latency_below");
    c.name = step.name + ": latency < " + l.Scalar();
    step.checks.push_back(std::move(c));
  }
  if (one && step.checks.size() != before + 1) {
    fail(node,
         "a check in a list is exactly one of status, body_contains, body_matches, header, "
         "json, latency_below");
  }
  if (!custom.empty()) {
    step.checks.back().name = custom;
  }
}

Check PlanParser::json_check(const YAML::Node& j, Step& step) {
  // {path: $.a, equals: 3} (the first form), or {path: $.a, op: '>', value: 3}, or
  // {path: $.a, op: exists}.
  expect_map(j, "check.json", {"path", "equals", "op", "value"});
  if (!j["path"]) {
    fail(j, "check.json needs 'path'");
  }
  Check c;
  c.kind = Check::Kind::json;
  c.path = json_path(j["path"]);
  std::string op_text = "==";
  YAML::Node value;
  bool has_value = false;
  if (j["equals"]) {
    if (j["op"] || j["value"]) {
      fail(j, "check.json has either 'equals' or 'op' (with 'value')");
    }
    value.reset(j["equals"]);
    has_value = true;
  } else {
    if (!j["op"]) {
      fail(j,
           "check.json needs 'equals', or 'op' (== != < <= > >= exists not_exists) and "
           "'value'");
    }
    op_text = scalar(j["op"], "check.json.op");
    if (j["value"]) {
      value.reset(j["value"]);
      has_value = true;
    }
  }
  static const std::vector<std::pair<std::string, Check::Op>> kOps = {
      {"==", Check::Op::eq},         {"!=", Check::Op::ne},
      {"<", Check::Op::lt},          {"<=", Check::Op::le},
      {">", Check::Op::gt},          {">=", Check::Op::ge},
      {"exists", Check::Op::exists}, {"not_exists", Check::Op::not_exists}};
  const auto found =
      std::find_if(kOps.begin(), kOps.end(), [&](const auto& kv) { return kv.first == op_text; });
  if (found == kOps.end()) {
    fail(j["op"], "unknown check.json op '" + op_text +
                      "' (expected ==, !=, <, <=, >, >=, exists or not_exists)");
  }
  c.op = found->second;
  const bool unary = c.op == Check::Op::exists || c.op == Check::Op::not_exists;
  if (unary && has_value) {
    fail(j["value"], "op '" + op_text + "' takes no value");
  }
  if (!unary) {
    if (!has_value) {
      fail(j, "check.json op '" + op_text + "' needs 'value'");
    }
    Template t;
    json_body(value, t);
    if (!t.is_constant()) {
      fail(value, "check.json value must be a constant");
    }
    c.expected_json =
        nlohmann::json::parse(t.segments().empty() ? "null" : t.segments()[0].text).dump();
    const bool ordered = c.op == Check::Op::lt || c.op == Check::Op::le || c.op == Check::Op::gt ||
                         c.op == Check::Op::ge;
    if (ordered && !nlohmann::json::parse(c.expected_json).is_number()) {
      fail(value, "check.json op '" + op_text + "' compares numbers: expected a number value");
    }
  }
  c.name = step.name + ": " + c.path.text + " " + op_text + (unary ? "" : " " + c.expected_json);
  return c;
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
