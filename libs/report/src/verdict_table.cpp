// The verdict a caller attaches to the report (crest demo's), as Markdown.
#include <fmt/format.h>

#include "crest/report/report.hpp"

namespace crest::report {
namespace {

// A table cell: pipes would end the cell, newlines the row.
std::string markdown_cell(const nlohmann::json& value) {
  std::string text = value.is_string() ? value.get<std::string>() : value.dump();
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string render_verdict_markdown(const nlohmann::json& verdict) {
  if (!verdict.is_object()) return "";
  std::string out = "\n## Verdict\n\n";
  if (verdict.contains("headline")) out += "**" + markdown_cell(verdict["headline"]) + "**\n";
  for (const auto& table : verdict.value("tables", nlohmann::json::array())) {
    const auto columns = table.value("columns", nlohmann::json::array());
    if (columns.empty()) continue;
    out += fmt::format("\n**{}**\n\n|", markdown_cell(table.value("title", "")));
    for (const auto& c : columns) out += " " + markdown_cell(c) + " |";
    out += " |\n|";
    for (std::size_t i = 0; i <= columns.size(); ++i) out += "---|";
    out += "\n";
    for (const auto& row : table.value("rows", nlohmann::json::array())) {
      out += "|";
      for (const auto& cell : row.value("cells", nlohmann::json::array())) {
        out += " " + markdown_cell(cell) + " |";
      }
      const auto ok = row.value("ok", nlohmann::json());
      out += ok.is_boolean() ? (ok.get<bool>() ? " ok |" : " **no** |") : " |";
      out += "\n";
    }
  }
  return out;
}

}  // namespace crest::report
