#include "request_writer.hpp"

#include <charconv>

namespace crest::load {

namespace {

// Methods whose requests carry a body: without one they still say Content-Length: 0, as clients do.
bool expects_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

bool write_request(const Plan& plan, const Step& step, const RenderContext& context,
                   const CookieJar* cookies, std::string& request, std::string& body,
                   std::string_view* bad_header) {
  const auto& origin = plan.origins[static_cast<std::size_t>(step.origin)];
  auto& out = request;
  out.clear();
  out.append(step.method);
  out.push_back(' ');
  step.target.render(context, out);
  out.append(" HTTP/1.1\r\nHost: ");
  out.append(origin.host_header);
  out.append("\r\nUser-Agent: crest/0.1\r\n");
  for (const auto* headers : {&plan.headers, &step.headers}) {
    for (const auto& [name, value] : *headers) {
      out.append(name);
      out.append(": ");
      const auto value_start = out.size();
      value.render(context, out);
      // Two vectorised scans: find_first_of with a set calls memchr once per character.
      const std::string_view value_text = std::string_view(out).substr(value_start);
      if (value_text.find('\r') != std::string_view::npos ||
          value_text.find('\n') != std::string_view::npos) {
        *bad_header = name;
        return false;
      }
      out.append("\r\n");
    }
  }
  if (cookies != nullptr && !cookies->empty()) {
    out.append("Cookie: ");
    cookies->append_header_value(out);
    out.append("\r\n");
  }
  if (step.has_body) {
    body.clear();
    step.body.render(context, body);
    if (!step.content_type.empty()) {
      out.append("Content-Type: ");
      out.append(step.content_type);
      out.append("\r\n");
    }
    char digits[24];
    const auto written = std::to_chars(digits, digits + sizeof digits, body.size());
    out.append("Content-Length: ");
    out.append(digits, written.ptr);
    out.append("\r\n\r\n");
    out.append(body);
  } else if (expects_body(step.method)) {
    out.append("Content-Length: 0\r\n\r\n");
  } else {
    out.append("\r\n");
  }
  return true;
}

}  // namespace crest::load
