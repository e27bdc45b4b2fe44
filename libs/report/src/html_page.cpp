// The self-contained HTML page: the report's JSON plus uPlot and a small renderer, inlined.
#include <string>

#include "crest/report/report.hpp"
#include "page_assets.hpp"

namespace crest::report {
namespace {

// JSON safe inside a <script> element: '<' occurs only inside JSON strings, where \u003c is
// the same character, so "</script>" or "<!--" in a label cannot end or confuse the element.
std::string escape_script(const std::string& json_text) {
  std::string out;
  out.reserve(json_text.size());
  for (char c : json_text) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

std::string escape_html(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

std::string render_html(const Report& report) {
  const std::string data = escape_script(to_json(report).dump());
  std::string page;
  page.reserve(data.size() + 80'000);
  page += "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>";
  page += escape_html(report.title);
  page +=
      "</title>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>";
  page += assets::kUplotCss;
  page += "</style>\n<style>";
  page += assets::kReportCss;
  page += "</style>\n</head><body>\n<main id=\"report\"><h1>";
  page += escape_html(report.title);
  page += "</h1><p class=\"muted\">Generated ";
  page += escape_html(report.generated_at);
  page += "</p><noscript>This report draws its charts with JavaScript.</noscript></main>\n";
  page += "<script type=\"application/json\" id=\"report-data\">";
  page += data;
  page += "</script>\n<script>";
  page += assets::kUplotJs;
  page += "</script>\n<script>";
  page += assets::kReportJs;
  page += "</script>\n</body></html>\n";
  return page;
}

}  // namespace crest::report
