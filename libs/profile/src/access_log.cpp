// Access-log parsers. Each format is tokenised the same way (bare words, "quoted strings" with
// backslash escapes, [bracketed dates], {captured headers}) and then read field by field.
#include "crest/profile/access_log.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <optional>
#include <regex>

namespace crest::profile {

const char* to_string(LogFormat f) {
  switch (f) {
    case LogFormat::automatic:
      return "auto";
    case LogFormat::haproxy:
      return "haproxy";
    case LogFormat::nginx_combined:
      return "nginx-combined";
    case LogFormat::alb:
      return "alb";
    case LogFormat::spring_boot_access:
      return "spring-boot-access";
  }
  return "?";
}

Result<LogFormat> parse_log_format(std::string_view name) {
  for (const auto f : {LogFormat::automatic, LogFormat::haproxy, LogFormat::nginx_combined,
                       LogFormat::alb, LogFormat::spring_boot_access}) {
    if (name == to_string(f)) {
      return f;
    }
  }
  return Error{ErrorKind::invalid_argument,
               fmt::format("unknown log format '{}' (expected haproxy, nginx-combined, alb, "
                           "spring-boot-access or auto)",
                           name)};
}

namespace {

struct Token {
  char kind;  // 'w' word, '"' quoted, '[' bracketed, '{' braced
  std::string text;
};

// "[2001:db8::1]:443" is one word (an IPv6 address with a port), not a bracketed field.
bool glued_bracket(std::string_view line, std::size_t open) {
  const auto end = line.find(line[open] == '[' ? ']' : '}', open + 1);
  return end != std::string_view::npos && end + 1 < line.size() && line[end + 1] != ' ' &&
         line[end + 1] != '\t';
}

std::optional<std::vector<Token>> tokenise(std::string_view line) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) {
      ++i;
    }
    if (i >= line.size()) {
      break;
    }
    const char c = line[i];
    if (c == '"') {
      std::string text;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          const char n = line[i + 1];
          text += n == 'x' ? '\\' : n;  // nginx escapes bytes as \xHH: keep them visible
          if (n == 'x') {
            text += 'x';
          }
          i += 2;
        } else if (line[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          text += line[i++];
        }
      }
      if (!closed) {
        return std::nullopt;
      }
      out.push_back({'"', text});
    } else if ((c == '[' || c == '{') && !glued_bracket(line, i)) {
      const char close = c == '[' ? ']' : '}';
      const auto end = line.find(close, i + 1);
      if (end == std::string_view::npos) {
        return std::nullopt;
      }
      out.push_back({c, std::string(line.substr(i + 1, end - i - 1))});
      i = end + 1;
    } else {
      const auto start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
        ++i;
      }
      out.push_back({'w', std::string(line.substr(start, i - start))});
    }
  }
  return out;
}

int month_index(std::string_view m) {
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (m == kMonths[i]) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

std::optional<int> digits(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
      })) {
    return std::nullopt;
  }
  int v = 0;
  for (const char c : s) {
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<double> unix_time(int year, int month, int day, int hour, int minute, double second,
                                int offset_minutes) {
  if (month < 0 || month > 11 || day < 1 || day > 31 || hour > 23 || minute > 59 || second >= 61) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = 0;
  return static_cast<double>(::timegm(&tm)) + second - offset_minutes * 60.0;
}

// "30/Nov/2026:09:01:02 +0000" (CLF), "30/Nov/2026:09:01:02.123" (HAProxy, no zone: UTC).
std::optional<double> clf_time(std::string_view s) {
  if (s.size() < 20 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':') {
    return std::nullopt;
  }
  const auto day = digits(s.substr(0, 2));
  const auto year = digits(s.substr(7, 4));
  const auto hour = digits(s.substr(12, 2));
  const auto minute = digits(s.substr(15, 2));
  const auto sec = digits(s.substr(18, 2));
  if (!day || !year || !hour || !minute || !sec) {
    return std::nullopt;
  }
  double second = *sec;
  std::size_t i = 20;
  if (i < s.size() && s[i] == '.') {
    const auto start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) {
      ++i;
    }
    second += std::stod("0." + std::string(s.substr(start, i - start)));
  }
  int offset = 0;
  if (i < s.size()) {
    if (s[i] != ' ' || i + 6 != s.size() || (s[i + 1] != '+' && s[i + 1] != '-')) {
      return std::nullopt;
    }
    const auto hh = digits(s.substr(i + 2, 2));
    const auto mm = digits(s.substr(i + 4, 2));
    if (!hh || !mm) {
      return std::nullopt;
    }
    offset = (*hh * 60 + *mm) * (s[i + 1] == '-' ? -1 : 1);
  }
  return unix_time(*year, month_index(s.substr(3, 3)), *day, *hour, *minute, second, offset);
}

// "2026-11-30T09:01:02.123456Z" (ALB).
std::optional<double> iso_time(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
      s.back() != 'Z') {
    return std::nullopt;
  }
  const auto year = digits(s.substr(0, 4));
  const auto month = digits(s.substr(5, 2));
  const auto day = digits(s.substr(8, 2));
  const auto hour = digits(s.substr(11, 2));
  const auto minute = digits(s.substr(14, 2));
  const auto sec = digits(s.substr(17, 2));
  if (!year || !month || !day || !hour || !minute || !sec) {
    return std::nullopt;
  }
  double second = *sec;
  if (s.size() > 21 && s[19] == '.') {
    const auto frac = s.substr(20, s.size() - 21);
    if (!digits(frac)) {
      return std::nullopt;
    }
    second += std::stod("0." + std::string(frac));
  }
  return unix_time(*year, *month - 1, *day, *hour, *minute, second, 0);
}

std::string strip_port(std::string_view addr) {
  if (!addr.empty() && addr.front() == '[') {  // [2001:db8::1]:443
    const auto close = addr.find(']');
    return std::string(
        addr.substr(1, close == std::string_view::npos ? addr.size() - 1 : close - 1));
  }
  const auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) {
    return std::string(addr);
  }
  return std::string(addr.substr(0, colon));  // "2001:db8::1:54321" and "1.2.3.4:5" alike
}

// "GET /a/b?x=1 HTTP/1.1" (or an absolute URL, as ALB logs it) into the record.
Result<void> read_request(std::string_view request, AccessRecord& r) {
  const auto sp1 = request.find(' ');
  const auto sp2 = request.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("request line '{}' is not 'METHOD TARGET HTTP/x'", request)};
  }
  r.method = std::string(request.substr(0, sp1));
  if (!std::all_of(r.method.begin(), r.method.end(),
                   [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; })) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("method '{}' is not a word in capitals", r.method)};
  }
  std::string_view target = request.substr(sp1 + 1, sp2 - sp1 - 1);
  if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) {
    const auto slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  if (target.empty() || target.front() != '/') {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("request target '{}' is not a path", target)};
  }
  r.raw_path = std::string(target.substr(0, target.find('?')));
  r.path = percent_decode(r.raw_path);
  return {};
}

std::optional<int> status_of(std::string_view s) {
  const auto v = digits(s);
  if (!v || *v < 100 || *v > 599) {
    return std::nullopt;
  }
  return v;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  // "a=1; session=xyz; b=2" or a single captured "session=xyz"
  std::size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == ';')) {
      ++i;
    }
    const auto end = std::min(header.find(';', i), header.size());
    const auto pair = header.substr(i, end - i);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) {
      return std::string(pair.substr(eq + 1));
    }
    i = end + 1;
  }
  return "";
}

Error bad(const std::string& what) {
  return Error{ErrorKind::invalid_argument, what};
}

// CLF-based: nginx combined ("referer" "agent" [extra "cookie"...]) and Tomcat/Spring Boot
// ("common", optionally followed by more fields).
Result<AccessRecord> parse_clf(const std::vector<Token>& t, bool combined,
                               std::string_view cookie) {
  if (t.size() < 7 || t[3].kind != '[' || t[4].kind != '"') {
    return bad(fmt::format("expected 'client ident user [time] \"request\" status bytes'{}",
                           combined ? " \"referer\" \"agent\"" : ""));
  }
  if (combined && (t.size() < 9 || t[7].kind != '"' || t[8].kind != '"')) {
    return bad("expected \"referer\" \"user agent\" after the size (nginx combined)");
  }
  AccessRecord r;
  r.client = t[0].text;
  const auto time = clf_time(t[3].text);
  if (!time) {
    return bad(fmt::format("time [{}] is not dd/Mon/yyyy:hh:mm:ss +zzzz", t[3].text));
  }
  r.time_s = *time;
  if (auto ok = read_request(t[4].text, r); !ok.ok()) {
    return ok.error();
  }
  const auto status = status_of(t[5].text);
  if (!status) {
    return bad(fmt::format("status '{}' is not a number from 100 to 599", t[5].text));
  }
  r.status = *status;
  if (t.size() >= 9 && t[8].kind == '"') {
    r.user_agent = t[8].text;
  }
  // Any further quoted field holding "name=value" pairs is read as the Cookie header.
  for (std::size_t i = combined ? 9 : 7; i < t.size(); ++i) {
    if (t[i].kind == '"' && t[i].text.find('=') != std::string::npos) {
      r.session = cookie_value(t[i].text, cookie);
      if (!r.session.empty()) {
        break;
      }
    }
  }
  return r;
}

// [syslog prefix] haproxy[pid]: client:port [date] frontend backend/server Tq/Tw/Tc/Tr/Ta status
// bytes req_cookie resp_cookie term actconn/... srv_queue/backend_queue [{hdrs}] [{hdrs}] "request"
Result<AccessRecord> parse_haproxy(const std::vector<Token>& t, std::string_view cookie) {
  std::size_t i = 0;
  for (std::size_t k = 0; k < t.size(); ++k) {
    if (t[k].kind == 'w' && t[k].text.find("]:") != std::string::npos &&
        t[k].text.rfind("haproxy", 0) != std::string::npos) {
      i = k + 1;
      break;
    }
  }
  if (t.size() < i + 12 || t[i + 1].kind != '[') {
    return bad(
        "expected 'client:port [date] frontend backend/server timers status bytes ... \"request\"' "
        "(HAProxy HTTP log)");
  }
  AccessRecord r;
  r.client = strip_port(t[i].text);
  const auto time = clf_time(t[i + 1].text);
  if (!time) {
    return bad(fmt::format("accept date [{}] is not dd/Mon/yyyy:hh:mm:ss.mmm", t[i + 1].text));
  }
  r.time_s = *time;
  if (t[i + 3].text.find('/') == std::string::npos ||
      std::count(t[i + 4].text.begin(), t[i + 4].text.end(), '/') != 4) {
    return bad("expected backend/server and five timers Tq/Tw/Tc/Tr/Ta");
  }
  const auto status = status_of(t[i + 5].text);
  if (!status) {
    return bad(fmt::format("status '{}' is not a number from 100 to 599", t[i + 5].text));
  }
  r.status = *status;
  if (t[i + 7].text != "-") {
    r.session = cookie_value(t[i + 7].text, cookie);
  }
  const auto& last = t.back();
  if (last.kind != '"') {
    return bad("the request line \"METHOD path HTTP/x\" must end the line");
  }
  if (auto ok = read_request(last.text, r); !ok.ok()) {
    return ok.error();
  }
  return r;
}

// type time elb client:port target:port t1 t2 t3 elb_status target_status rx tx "request"
// "user_agent" ... (AWS Application Load Balancer)
Result<AccessRecord> parse_alb(const std::vector<Token>& t) {
  if (t.size() < 14 || t[12].kind != '"' || t[13].kind != '"') {
    return bad(
        "expected 'type time elb client:port target:port 3 times elb_status target_status "
        "received sent \"request\" \"user agent\"' (ALB)");
  }
  AccessRecord r;
  const auto time = iso_time(t[1].text);
  if (!time) {
    return bad(fmt::format("time '{}' is not yyyy-mm-ddThh:mm:ss.ffffffZ", t[1].text));
  }
  r.time_s = *time;
  r.client = strip_port(t[3].text);
  const auto status = status_of(t[8].text);
  if (!status) {
    return bad(fmt::format("elb_status_code '{}' is not a number from 100 to 599", t[8].text));
  }
  r.status = *status;
  if (auto ok = read_request(t[12].text, r); !ok.ok()) {
    return ok.error();
  }
  r.user_agent = t[13].text;
  return r;
}

}  // namespace

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];  // a stray '%' stays as it is
    }
  }
  return out;
}

std::string route_template(std::string_view path) {
  static const std::regex uuid(
      "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  static const std::regex hex("[0-9a-fA-F]{16,}");
  static const std::regex short_id("[A-Za-z]{1,3}[-_]?[0-9]+");
  std::string out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      out += '/';
      ++i;
      continue;
    }
    const auto end = std::min(path.find('/', i), path.size());
    const std::string seg(path.substr(i, end - i));
    const bool has_digit = std::any_of(seg.begin(), seg.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
    const bool is_id =
        digits(seg).has_value() ||
        (seg.size() > 1 && seg.size() < 20 && seg[0] == '-' && digits(seg.substr(1))) ||
        std::regex_match(seg, uuid) || std::regex_match(seg, hex) ||
        (has_digit && std::regex_match(seg, short_id)) || (has_digit && seg.size() >= 20);
    out += is_id ? "{id}" : seg;
    i = end;
  }
  return out.empty() ? "/" : out;
}

Result<AccessRecord> parse_access_line(std::string_view line, LogFormat format,
                                       std::string_view session_cookie) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  const auto tokens = tokenise(line);
  if (!tokens) {
    return bad("an unterminated \"quoted\", [bracketed] or {braced} field");
  }
  switch (format) {
    case LogFormat::haproxy:
      return parse_haproxy(*tokens, session_cookie);
    case LogFormat::nginx_combined:
      return parse_clf(*tokens, true, session_cookie);
    case LogFormat::spring_boot_access:
      return parse_clf(*tokens, false, session_cookie);
    case LogFormat::alb:
      return parse_alb(*tokens);
    case LogFormat::automatic:
      break;
  }
  return bad("no format chosen");
}

Result<ParsedLog> parse_access_log(std::istream& in, const std::string& name, LogFormat format,
                                   std::string_view session_cookie) {
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    lines.push_back(line);
  }
  ParsedLog log;
  log.format = format;
  if (format == LogFormat::automatic) {
    // The format that parses most of the first lines; nginx combined before Spring Boot's
    // common format (a combined line is also a valid common one).
    std::size_t best = 0;
    log.format = LogFormat::nginx_combined;
    for (const auto f : {LogFormat::nginx_combined, LogFormat::haproxy, LogFormat::alb,
                         LogFormat::spring_boot_access}) {
      std::size_t ok = 0;
      std::size_t seen = 0;
      for (std::size_t i = 0; i < lines.size() && seen < 200; ++i) {
        if (lines[i].find_first_not_of(" \t\r") == std::string::npos) {
          continue;
        }
        ++seen;
        ok += parse_access_line(lines[i], f, session_cookie).ok() ? 1 : 0;
      }
      if (ok > best) {
        best = ok;
        log.format = f;
      }
    }
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) {
      continue;
    }
    ++log.lines;
    auto r = parse_access_line(lines[i], log.format, session_cookie);
    if (r.ok()) {
      log.records.push_back(std::move(*r));
    } else {
      ++log.malformed;
      if (log.examples.size() < 5) {
        log.examples.push_back({i + 1, lines[i].substr(0, 200), r.error().message});
      }
    }
  }
  if (log.records.empty()) {
    std::string msg =
        fmt::format("{}: no line parses as {} ({} lines)", name, to_string(log.format), log.lines);
    for (const auto& e : log.examples) {
      msg += fmt::format("\n  line {}: {}", e.line_number, e.reason);
    }
    return Error{ErrorKind::invalid_argument, msg};
  }
  std::stable_sort(
      log.records.begin(), log.records.end(),
      [](const AccessRecord& a, const AccessRecord& b) { return a.time_s < b.time_s; });
  return log;
}

}  // namespace crest::profile
