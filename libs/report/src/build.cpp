// Building a report from its inputs and writing its three files.
#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "crest/report/inputs.hpp"

namespace crest::report {

Result<Report> build_report(const std::vector<PhaseInputs>& inputs, Slo slo, std::string title) {
  Report report;
  report.title = std::move(title);
  report.slo = slo;
  report.generated_at = fmt::format(
      "{:%Y-%m-%dT%H:%M:%SZ}",
      fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
  for (const auto& in : inputs) {
    auto phase = phase_from_load_json(in.name, in.load_json);
    if (!phase) {
      return phase.error();
    }
    for (const auto& file : in.prometheus) {
      if (auto added = add_prometheus_file(*phase, file); !added) {
        return added.error();
      }
    }
    const bool timed = !std::isnan(phase->started_at);
    if (!in.autoscaler_events.empty()) {
      if (auto added = add_autoscaler_events(*phase, in.autoscaler_events); !added) {
        return added.error();
      }
      if (!timed) {
        phase->notes.push_back(in.autoscaler_events +
                               ": not placed (the load run's JSON has no start_unix_ms)");
      }
    }
    if (!in.fault_events.empty()) {
      if (auto added = add_fault_events(*phase, in.fault_events); !added) {
        return added.error();
      }
      if (!timed) {
        phase->notes.push_back(in.fault_events +
                               ": not placed (the load run's JSON has no start_unix_ms)");
      }
    }
    if (!in.diagnosis.empty()) {
      if (auto added = add_diagnosis(*phase, in.diagnosis); !added) {
        return added.error();
      }
    }
    report.phases.push_back(std::move(*phase));
  }
  return report;
}

Result<std::vector<std::string>> write_report(const Report& report, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Error{ErrorKind::unavailable, dir + ": cannot create: " + ec.message()};
  }
  const std::pair<const char*, std::string> files[] = {
      {"report.html", render_html(report)},
      {"report.md", render_markdown(report)},
      {"report.json", to_json(report).dump(1) + "\n"},
  };
  std::vector<std::string> paths;
  for (const auto& [name, text] : files) {
    const std::string path = (std::filesystem::path(dir) / name).string();
    const std::string partial = path + ".partial";
    {
      std::ofstream out(partial, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out.flush()) {
        return Error{ErrorKind::unavailable, partial + ": cannot write"};
      }
    }
    std::filesystem::rename(partial, path, ec);  // a reader never sees half a report
    if (ec) {
      return Error{ErrorKind::unavailable, path + ": " + ec.message()};
    }
    paths.push_back(path);
  }
  return paths;
}

}  // namespace crest::report
