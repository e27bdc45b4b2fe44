#include <nlohmann/json.hpp>

#include <algorithm>

#include "plan_parser.hpp"

namespace crest::load {

void PlanParser::parse_journeys(const YAML::Node& node) {
  if (!node.IsSequence() || node.size() == 0) {
    fail(node, "expected journeys to be a non-empty list");
  }
  std::set<std::string> names;
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
    parse_steps(j["steps"], journey, -1);
    if (journey.steps.empty()) {
      fail(j["steps"], "journey '" + journey.name + "' has no request steps");
    }
    plan_.journeys.push_back(std::move(journey));
  }
}

void PlanParser::parse_steps(const YAML::Node& node, Journey& journey, int group) {
  if (!node.IsSequence()) {
    fail(node, "expected steps to be a list");
  }
  for (const auto& s : node) {
    if (s.IsMap() && s["group"]) {
      expect_map(s, "a group", {"group", "steps"});
      if (group >= 0) {
        fail(s, "groups cannot be nested");
      }
      Group g{scalar(s["group"], "group name")};
      plan_.groups.push_back(g);
      if (!s["steps"]) {
        fail(s, "missing 'steps' in group '" + g.name + "'");
      }
      parse_steps(s["steps"], journey, static_cast<int>(plan_.groups.size() - 1));
      continue;
    }
    parse_step(s, journey, group);
  }
}

void PlanParser::parse_step(const YAML::Node& node, Journey& journey, int group) {
  expect_map(node, "a step", {"name", "request", "capture", "check", "think"});
  Step step;
  step.group = group;
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
    expect_map(c, "a capture", {"name", "json", "regex", "group", "header", "cookie"});
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
      auto p = JsonPath::parse(cap.source);
      if (!p.ok()) {
        fail(c["json"], p.error().message);
      }
      cap.path = std::move(p.value());
      step.needs_body = true;
    } else if (c["regex"]) {
      cap.kind = Capture::Kind::regex;
      cap.source = scalar(c["regex"], "capture regex");
      try {
        cap.pattern = std::regex(cap.source, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        fail(c["regex"], "invalid regular expression '" + cap.source + "': " + e.what());
      }
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
    cap.slot = plan_.vars.add(cap.name);
    step.captures.push_back(std::move(cap));
  }
}

void PlanParser::parse_checks(const YAML::Node& node, Step& step) {
  expect_map(node, "check", {"status", "body_contains", "json", "latency_below"});
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
  if (const auto j = node["json"]) {
    expect_map(j, "check.json", {"path", "equals"});
    if (!j["path"] || !j["equals"]) {
      fail(j, "check.json needs 'path' and 'equals'");
    }
    Check c;
    c.kind = Check::Kind::json_equals;
    auto p = JsonPath::parse(scalar(j["path"], "check.json.path"));
    if (!p.ok()) {
      fail(j["path"], p.error().message);
    }
    c.path = std::move(p.value());
    Template t;
    json_body(j["equals"], t);
    if (!t.is_constant()) {
      fail(j["equals"], "check.json.equals must be a constant");
    }
    c.expected_json =
        nlohmann::json::parse(t.segments().empty() ? "null" : t.segments()[0].text).dump();
    c.name = step.name + ": " + c.path.text + " == " + c.expected_json;
    step.checks.push_back(std::move(c));
    step.needs_body = true;
  }
  if (const auto l = node["latency_below"]) {
    Check c;
    c.kind = Check::Kind::latency_below;
    c.limit = duration(l, "check.latency_below");
    c.name = step.name + ": latency < " + l.Scalar();
    step.checks.push_back(std::move(c));
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
