// The three faces of a diagnosis: the terminal list, JSON, and a Markdown section for reports.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "crest/diagnose/diagnosis.hpp"

namespace crest::diagnose {

namespace {

std::string window_line(const Diagnosis& d) {
  return fmt::format("{} .. {} ({}, {:.0f} s)", format_time(d.window.onset),
                     format_time(d.window.end),
                     d.window.detected ? "onset of " + d.window.trigger : d.window.trigger,
                     d.window.end - d.window.onset);
}

std::string escape_markdown(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|' || c == '<' || c == '>') {
      out += '\\';
    }
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

}  // namespace

std::string format_text(const Diagnosis& d) {
  if (!d.has_window) {
    return "crest diagnose: no anomaly found (no SLO series moved and no change point stands out); "
           "give --onset to score against a time you choose\n";
  }
  std::string out = fmt::format("incident window: {}\nscoring: {}, {} series\n\n", window_line(d),
                                d.scorer, d.ranking.size());
  if (d.no_rule_fits) {
    out += "no rule fits: no named cause matches the top evidence. Top evidence:\n";
    for (const auto& e : d.top_evidence) {
      out += "  - " + e.text + "\n";
    }
  } else {
    out += "causes, most likely first:\n";
    int i = 0;
    for (const auto& c : d.causes) {
      out += fmt::format("{:2}. {}  [{} / {}, confidence {:.2f}]\n", ++i, c.title, c.component,
                         c.mechanism, c.confidence);
      for (const auto& e : c.evidence) {
        out += fmt::format("      {:<10} {}\n", e.kind, e.text);
      }
      out += "      remedy:    " + c.remedy + "\n";
    }
  }
  out += "\ncomponents by anomaly score:\n";
  for (std::size_t i = 0; i < d.components.size() && i < 8; ++i) {
    out += fmt::format("  {:8.1f}  {:<24} {}\n", d.components[i].score, d.components[i].component,
                       d.components[i].top_series);
  }
  return out;
}

std::string format_json(const Diagnosis& d) {
  using nlohmann::json;
  json j;
  j["window"] = d.has_window ? json{{"onset", format_time(d.window.onset)},
                                    {"end", format_time(d.window.end)},
                                    {"detected", d.window.detected},
                                    {"trigger", d.window.trigger}}
                             : json(nullptr);
  j["scorer"] = d.scorer;
  j["no_rule_fits"] = d.no_rule_fits;
  auto evidence_json = [](const std::vector<Evidence>& list) {
    json out = json::array();
    for (const auto& e : list) {
      out.push_back(
          {{"kind", e.kind}, {"text", e.text}, {"t", format_time(e.t)}, {"score", e.score}});
    }
    return out;
  };
  json causes = json::array();
  for (const auto& c : d.causes) {
    causes.push_back({{"title", c.title},
                      {"component", c.component},
                      {"mechanism", c.mechanism},
                      {"confidence", c.confidence},
                      {"remedy", c.remedy},
                      {"evidence", evidence_json(c.evidence)}});
  }
  j["causes"] = causes;
  j["top_evidence"] = evidence_json(d.top_evidence);
  json components = json::array();
  for (const auto& c : d.components) {
    components.push_back(
        {{"component", c.component}, {"score", c.score}, {"top_series", c.top_series}});
  }
  j["components"] = components;
  json ranking = json::array();
  for (std::size_t i = 0; i < d.ranking.size() && i < 50; ++i) {
    const auto& s = d.ranking[i];
    ranking.push_back({{"series", s.series->display_name()},
                       {"signal", to_string(s.kind.signal)},
                       {"component", s.kind.component},
                       {"score", s.score},
                       {"normal", s.normal_centre},
                       {"peak", s.peak},
                       {"peak_t", format_time(s.peak_t)},
                       {"first_anomalous", format_time(s.first_anomalous_t)}});
  }
  j["ranking"] = ranking;
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string format_markdown(const Diagnosis& d) {
  std::string out = "## Diagnosis\n\n";
  if (!d.has_window) {
    return out + "No anomaly found: no SLO series moved and no change point stands out.\n";
  }
  out += fmt::format("Incident window: {}. Scoring: {}.\n\n", escape_markdown(window_line(d)),
                     d.scorer);
  if (d.no_rule_fits) {
    out += "**No rule fits** the top evidence; here it is as measured:\n\n";
    for (const auto& e : d.top_evidence) {
      out += "- `" + e.text + "`\n";
    }
  } else {
    out += "| # | cause | component | mechanism | confidence |\n|---|---|---|---|---|\n";
    int i = 0;
    for (const auto& c : d.causes) {
      out += fmt::format("| {} | {} | {} | {} | {:.2f} |\n", ++i, escape_markdown(c.title),
                         c.component, c.mechanism, c.confidence);
    }
    for (const auto& c : d.causes) {
      out += fmt::format("\n### {}\n\n", escape_markdown(c.title));
      for (const auto& e : c.evidence) {
        out += fmt::format("- {}: `{}`\n", e.kind, e.text);
      }
      out += "\nRemedy: " + c.remedy + "\n";
    }
  }
  out += "\n| component | anomaly score | top series |\n|---|---|---|\n";
  for (std::size_t i = 0; i < d.components.size() && i < 8; ++i) {
    out += fmt::format("| {} | {:.1f} | `{}` |\n", d.components[i].component, d.components[i].score,
                       d.components[i].top_series);
  }
  return out;
}

}  // namespace crest::diagnose
