#include "request_writer.hpp"

#include <charconv>

namespace crest::load {

void write_request(const Plan& plan, const Step& step, const RenderContext& context,
                   const CookieJar* cookies, std::string& request, std::string& body) {
  const auto& origin = plan.origins[static_cast<std::size_t>(step.origin)];
  auto& out = request;
  out.clear();
  out.append(step.method);
  out.push_back(' ');
  step.target.render(context, out);
  out.append(" HTTP/1.1\r\nHost: ");
  out.append(origin.host_header);
  out.append("\r\nUser-Agent: crest/0.1\r\n");
  for (const auto& [name, value] : plan.headers) {
    out.append(name);
    out.append(": ");
    value.render(context, out);
    out.append("\r\n");
  }
  for (const auto& [name, value] : step.headers) {
    out.append(name);
    out.append(": ");
    value.render(context, out);
    out.append("\r\n");
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
  } else {
    out.append("\r\n");
  }
}

}  // namespace crest::load
