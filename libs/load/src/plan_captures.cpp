// A step's captures (json, regex, header, cookie; `record: true`) and checks (status, body,
// JSON path comparisons): what a response is read for. The steps around them: plan_steps.cpp.
#include <nlohmann/json.hpp>

#include <algorithm>

#include "plan_parser.hpp"

namespace crest::load {

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

}  // namespace crest::load
