// HTTP samplers and what applies to them: arguments and bodies, extractors, assertions, timers.
#include "jmx_translator_parts.hpp"

namespace crest::jmeter::detail {

YAML::Node Translator::sampler_step(const pugi::xml_node& e, const Scope& parent,
                                    const std::string& path, ThreadGroupModel& tg) {
  const auto sub = subtree_of(e);
  Scope scope = extend(parent, sub, path, tg);
  for (const auto& child : elements_of(sub)) {
    const std::string tag = child.name();
    if (enabled(child) && !is_scoped(tag) && !is_global_or_listener(tag, child)) {
      warn(path + "/" + label_of(child), "unsupported element " + tag + "; skipped");
    }
  }
  YAML::Node step;
  step["name"] = label_of(e);
  YAML::Node request;
  std::string method = trim(prop_or(e, "HTTPSampler.method", "GET"));
  if (method.empty()) {
    method = "GET";
  }
  static const std::set<std::string> methods = {"GET",    "POST", "PUT",    "PATCH",
                                                "DELETE", "HEAD", "OPTIONS"};
  if (methods.count(method) == 0) {
    warn(path, "method " + method + " is not supported; GET used");
    method = "GET";
  }
  request["method"] = method;
  const auto protocol = trim(prop_or(e, "HTTPSampler.protocol"));
  const auto domain = trim(prop_or(e, "HTTPSampler.domain"));
  const auto port = trim(prop_or(e, "HTTPSampler.port"));
  std::string raw_path = trim(prop_or(e, "HTTPSampler.path"));
  std::string url_path = expr(raw_path, path);
  if (url_path.empty()) {
    url_path = "/";
  }
  const bool absolute = url_path.rfind("http://", 0) == 0 || url_path.rfind("https://", 0) == 0;
  const auto origin = origin_of(protocol, domain, port, path);
  if (absolute) {
    request["url"] = url_path;
  } else {
    if (url_path.front() != '/') {
      url_path = "/" + url_path;
    }
    if (!target_) {
      target_ = origin;
    }
    if (origin != *target_) {
      request["url"] = origin + url_path;
    } else {
      request["path"] = url_path;
    }
  }
  std::vector<std::pair<std::string, std::string>> headers = scope.headers;
  if (!headers.empty()) {
    YAML::Node h;
    for (const auto& [name, value] : headers) {
      h[name] = expr(value, path);
    }
    request["headers"] = h;
  }
  add_arguments(e, path, method, request);
  if (prop_bool(e, "HTTPSampler.DO_MULTIPART_POST", false)) {
    warn(path, "multipart/form-data is not supported; sent as a URL-encoded form");
  }
  if (prop_bool(e, "HTTPSampler.image_parser", false)) {
    warn(path, "downloading embedded resources is not supported; only the page is fetched");
  }
  if (prop_bool(e, "HTTPSampler.follow_redirects", false) ||
      prop_bool(e, "HTTPSampler.auto_redirects", false)) {
    if (!warned_redirects_) {
      warn(path, "redirects are not followed by crest (the 3xx response is the sample); " +
                     std::string("said once for the whole plan"));
      warned_redirects_ = true;
    }
  }
  if (!prop_bool(e, "HTTPSampler.use_keepalive", true)) {
    warn(path, "keep-alive off is not supported; crest keeps connections open");
  }
  for (const char* t : {"HTTPSampler.connect_timeout", "HTTPSampler.response_timeout"}) {
    if (!trim(prop_or(e, t)).empty()) {
      warn(path, std::string(t) + " per sampler is not supported; the defaults' timeouts apply");
    }
  }
  step["request"] = request;
  YAML::Node captures(YAML::NodeType::Sequence);
  for (const auto& x : scope.extractors) {
    add_capture(x, captures);
  }
  if (captures.size() > 0) {
    step["capture"] = captures;
  }
  YAML::Node check(YAML::NodeType::Map);
  for (const auto& a : scope.assertions) {
    add_check(a, check);
  }
  if (check.size() > 0) {
    step["check"] = check;
  }
  if (auto think = think_of(scope.timers); think.IsDefined() && !think.IsNull()) {
    step["think"] = think;
  }
  return step;
}

std::string Translator::origin_of(const std::string& protocol, const std::string& domain,
                                  const std::string& port, const std::string& path) {
  std::string proto = static_value(protocol.empty() ? default_protocol_ : protocol, path);
  std::string host = static_value(domain.empty() ? default_domain_ : domain, path);
  std::string p = static_value(port.empty() ? default_port_ : port, path);
  if (proto.empty()) {
    proto = "http";
  }
  if (host.empty()) {
    if (!warned_no_host_) {
      warn(path,
           "no server name (neither the sampler nor HTTP Request Defaults give one); "
           "127.0.0.1 used, --target overrides");
      warned_no_host_ = true;
    }
    host = "127.0.0.1";
  }
  if (host.find(':') != std::string::npos && host.front() != '[') {
    host = "[" + host + "]";
  }
  std::string out = proto + "://" + host;
  if (!p.empty() && !((proto == "http" && p == "80") || (proto == "https" && p == "443"))) {
    out += ":" + p;
  }
  return out;
}

void Translator::add_arguments(const pugi::xml_node& e, const std::string& path,
                               const std::string& method, YAML::Node& request) {
  const auto args = arguments_of(child_prop(e, "HTTPsampler.Arguments"));
  if (args.empty()) {
    return;
  }
  if (prop_bool(e, "HTTPSampler.postBodyRaw", false)) {
    std::string body;
    for (const auto& a : args) {
      body += a.value;  // JMeter concatenates the values of a raw body's arguments
    }
    request["body"] = expr(body, path);
    return;
  }
  const bool in_query =
      method == "GET" || method == "DELETE" || method == "HEAD" || method == "OPTIONS";
  YAML::Node fields(YAML::NodeType::Map);
  for (const auto& a : args) {
    if (a.name.empty()) {
      // An unnamed argument of a POST is its body, as JMeter sends it.
      if (!in_query && args.size() == 1) {
        request["body"] = expr(a.value, path);
        return;
      }
      warn(path, "an argument without a name is not supported; skipped");
      continue;
    }
    if (fields[a.name].IsDefined() && !fields[a.name].IsNull()) {
      warn(path, "argument '" + a.name + "' given twice; crest sends the last one");
    }
    fields[a.name] = expr(a.value, path);
  }
  if (fields.size() > 0) {
    request[in_query ? "query" : "form"] = fields;
  }
}

void Translator::add_capture(const Located& x, YAML::Node& captures) {
  const std::string tag = x.element.name();
  const auto& e = x.element;
  if (tag == "RegexExtractor") {
    const auto where = trim(prop_or(e, "RegexExtractor.useHeaders", "false"));
    if (where != "false" && where != "unescaped" && where != "as_document") {
      warn(x.path, "regular expressions on " + where +
                       " are not supported (the body only); "
                       "skipped");
      return;
    }
    const auto templ = trim(prop_or(e, "RegexExtractor.template", "$1$"));
    int group = 1;
    if (templ.size() >= 3 && templ.front() == '$' && templ.back() == '$' &&
        to_integer(templ.substr(1, templ.size() - 2))) {
      group = static_cast<int>(*to_integer(templ.substr(1, templ.size() - 2)));
    } else {
      warn(x.path, "template '" + templ + "' is not one group ($N$); $1$ used");
    }
    YAML::Node c;
    c["name"] = prop_or(e, "RegexExtractor.refname");
    c["regex"] = prop_or(e, "RegexExtractor.regex");
    c["group"] = group;
    add_match(prop_or(e, "RegexExtractor.match_number", "1"), x.path, c);
    add_default(e, "RegexExtractor.default", "RegexExtractor.default_empty_value", c);
    captures.push_back(c);
  } else if (tag == "BoundaryExtractor") {
    const auto where = trim(prop_or(e, "BoundaryExtractor.useHeaders", "false"));
    if (where != "false" && where != "unescaped") {
      warn(x.path, "boundaries on " + where + " are not supported (the body only); skipped");
      return;
    }
    YAML::Node c;
    c["name"] = prop_or(e, "BoundaryExtractor.refname");
    c["regex"] = regex_escape(prop_or(e, "BoundaryExtractor.lboundary")) + "([\\s\\S]*?)" +
                 regex_escape(prop_or(e, "BoundaryExtractor.rboundary"));
    c["group"] = 1;
    add_match(prop_or(e, "BoundaryExtractor.match_number", "1"), x.path, c);
    add_default(e, "BoundaryExtractor.default", "BoundaryExtractor.default_empty_value", c);
    captures.push_back(c);
  } else if (tag == "JSONPostProcessor") {
    const auto names = split(prop_or(e, "JSONPostProcessor.referenceNames"), ';');
    const auto paths = split(prop_or(e, "JSONPostProcessor.jsonPathExprs"), ';');
    const auto matches = split(prop_or(e, "JSONPostProcessor.match_numbers"), ';');
    const auto defaults = split(prop_or(e, "JSONPostProcessor.defaultValues"), ';');
    if (names.size() != paths.size()) {
      warn(x.path, "as many names as JSON paths are needed; skipped");
      return;
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      const auto p = trim(paths[i]);
      if (!load::JsonPath::parse(p).ok()) {
        warn(x.path, "JSON path '" + p + "' uses more than keys and indices " +
                         "(crest's subset: $.a.b[0]); skipped");
        continue;
      }
      YAML::Node c;
      c["name"] = trim(names[i]);
      c["json"] = p;
      if (i < matches.size()) {
        add_match(matches[i].empty() ? "1" : matches[i], x.path, c);
      }
      // JMeter stores the default when nothing matches and carries on.
      if (i < defaults.size() && !defaults[i].empty()) {
        c["default"] = defaults[i];
      }
      captures.push_back(c);
    }
  }
}

// JMeter's match number: 0 is one at random, N > 0 the N-th; negative (all matches, as
// name_1, name_2, ...) has no crest equivalent.
void Translator::add_match(const std::string& text, const std::string& path, YAML::Node& capture) {
  const auto n = to_integer(text);
  if (n && *n == 0) {
    capture["match"] = "random";
  } else if (n && *n > 1) {
    capture["match"] = *n;
  } else if (!n || *n < 0) {
    warn(path, "match number '" + text + "' (all matches) is not supported; the first match " +
                   "is used");
  }
}

// A default value (or "use empty default value"): what JMeter stores when nothing matched, and
// then the sample does not fail. Without one, crest's capture fails the sample.
void Translator::add_default(const pugi::xml_node& e, const char* value_key, const char* empty_key,
                             YAML::Node& capture) {
  const auto value = prop_or(e, value_key);
  if (!value.empty()) {
    capture["default"] = value;
  } else if (prop_bool(e, empty_key, false)) {
    capture["default"] = "";
  }
}

void Translator::add_check(const Located& a, YAML::Node& check) {
  const std::string tag = a.element.name();
  const auto& e = a.element;
  if (tag == "DurationAssertion") {
    const auto ms = to_number(static_value(prop_or(e, "DurationAssertion.duration"), a.path));
    if (!ms || *ms <= 0) {
      warn(a.path, "duration is not a positive number of milliseconds; skipped");
      return;
    }
    check["latency_below"] = ms_text(*ms);
    return;
  }
  // ResponseAssertion: test_type is a bitmask (JMeter's ResponseAssertion): MATCH 1,
  // CONTAINS 2, NOT 4, EQUALS 8, SUBSTRING 16, OR 32.
  const auto type = to_integer(prop_or(e, "Assertion.test_type", "16")).value_or(16);
  const auto field = trim(prop_or(e, "Assertion.test_field", "Assertion.response_data"));
  std::vector<std::string> strings;
  // "Asserion" is how JMeter spells this key in its saved files.
  for (const auto& s : child_prop(e, "Asserion.test_strings").children()) {
    strings.push_back(s.text().as_string());
  }
  if ((type & 4) != 0) {
    warn(a.path, "negated assertions (NOT) are not supported; skipped");
    return;
  }
  if (strings.empty()) {
    warn(a.path, "no patterns to test; skipped");
    return;
  }
  const bool any = (type & 32) != 0;
  if (field == "Assertion.response_code") {
    std::vector<int> codes;
    for (const auto& s : strings) {
      const auto n = to_integer(s);
      if (!n || *n < 100 || *n > 599) {
        warn(a.path, "response code pattern '" + s + "' is not a status code; skipped");
        return;
      }
      codes.push_back(static_cast<int>(*n));
    }
    if (!any && std::set<int>(codes.begin(), codes.end()).size() > 1) {
      warn(a.path, "several status codes that must all match can never pass; skipped");
      return;
    }
    if (check["status"].IsDefined() && !check["status"].IsNull()) {
      warn(a.path, "a second status assertion on one sampler; the last one is used");
    }
    YAML::Node list(YAML::NodeType::Sequence);
    for (const int c : std::set<int>(codes.begin(), codes.end())) {
      list.push_back(c);
    }
    check["status"] = list;
    if (prop_bool(e, "Assertion.assume_success", false)) {
      // "Ignore status": only this assertion decides, which is what a crest status check does.
    }
    return;
  }
  if (field == "Assertion.response_data" || field == "Assertion.response_data_as_document") {
    const bool literal_test = (type & (16 | 8)) != 0;
    for (const auto& s : strings) {
      const bool plain = s.find_first_of(R"(\^$.|?*+()[]{})") == std::string::npos;
      if (!literal_test && !plain) {
        warn(a.path, "regular-expression body assertions are not supported ('" + s + "'); skipped");
        return;
      }
    }
    if (strings.front().find("${") != std::string::npos) {
      warn(a.path, "variables in assertion patterns ('" + strings.front() +
                       "') are not supported (crest checks literal text); skipped");
      return;
    }
    if ((type & 8) != 0) {
      warn(a.path, "EQUALS on the body is checked as 'contains'");
    }
    if (strings.size() > 1) {
      warn(a.path,
           "crest checks one body text per step; only '" + strings.front() + "' is checked");
    }
    if (check["body_contains"].IsDefined() && !check["body_contains"].IsNull()) {
      warn(a.path, "a second body assertion on one sampler; the last one is used");
    }
    check["body_contains"] = strings.front();
    return;
  }
  warn(a.path, "assertions on " + field +
                   " are not supported (response code and body are); "
                   "skipped");
}

YAML::Node Translator::think_of(const std::vector<Located>& timers) {
  if (timers.empty()) {
    return YAML::Node(YAML::NodeType::Null);
  }
  double constant = 0;
  std::optional<Think> random;
  for (const auto& t : timers) {
    const std::string tag = t.element.name();
    const double delay =
        to_number(static_value(prop_or(t.element, "ConstantTimer.delay", "0"), t.path)).value_or(0);
    const double range =
        to_number(static_value(prop_or(t.element, "RandomTimer.range", "0"), t.path)).value_or(0);
    if (tag == "ConstantTimer") {
      constant += delay;
      continue;
    }
    if (random) {
      warn(t.path, "two random timers apply to one sampler; only the first is used");
      continue;
    }
    if (tag == "UniformRandomTimer") {
      random = Think{Think::Kind::uniform, delay, delay + range};
    } else {
      random = Think{Think::Kind::normal, delay, range};
    }
  }
  if (!random) {
    return constant > 0 ? YAML::Node(ms_text(constant)) : YAML::Node(YAML::NodeType::Null);
  }
  YAML::Node n;
  if (random->kind == Think::Kind::uniform) {
    YAML::Node range(YAML::NodeType::Sequence);
    range.push_back(ms_text(random->a + constant));
    range.push_back(ms_text(random->b + constant));
    range.SetStyle(YAML::EmitterStyle::Flow);
    n["uniform"] = range;
  } else {
    YAML::Node normal;
    normal["mean"] = ms_text(random->a + constant);
    normal["stddev"] = ms_text(random->b);
    normal.SetStyle(YAML::EmitterStyle::Flow);
    n["normal"] = normal;
  }
  n.SetStyle(YAML::EmitterStyle::Flow);
  return n;
}

}  // namespace crest::jmeter::detail
