#include "jtl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iterator>

#include "crest/load/outputs.hpp"

namespace crest::load {
namespace {

void csv_field(std::string& out, std::string_view value) {
  if (value.find_first_of(",\"\n\r") == std::string_view::npos) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (char c : value) {
    if (c == '"') {
      out.push_back('"');
    }
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

void append_jtl_row(std::string& rows, const JtlRow& row) {
  const auto& sample = row.sample;
  const auto ms = [](std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  const auto timestamp =
      std::chrono::duration_cast<std::chrono::milliseconds>(sample.wall_start.time_since_epoch())
          .count();
  auto out = std::back_inserter(rows);
  fmt::format_to(out, "{},{},", timestamp, ms(sample.service));
  csv_field(rows, row.step.name);
  rows.push_back(',');
  if (sample.got_response) {
    fmt::format_to(out, "{},", sample.status);
    csv_field(rows, row.reason);
  } else {
    fmt::format_to(out, "Non HTTP response code: {},Non HTTP response message: {}",
                   to_string(sample.failure), failure_message(sample.failure));
  }
  rows.push_back(',');
  csv_field(rows,
            fmt::format("{} 1-{}", row.thread_group.empty() ? row.journey.name : row.thread_group,
                        row.vu_number));
  fmt::format_to(out, ",text,{},", sample.failure == FailureKind::none ? "true" : "false");
  if (sample.failure == FailureKind::check_failed && sample.failed_check >= 0) {
    csv_field(rows, row.plan.check_names[static_cast<std::size_t>(sample.failed_check)]);
  } else if (sample.failure != FailureKind::none) {
    csv_field(rows, sample.message.empty() ? std::string_view(failure_message(sample.failure))
                                           : sample.message);
  }
  fmt::format_to(out, ",{},{},{},{},", sample.received, sample.sent, row.active_vus,
                 row.active_vus);
  const auto& origin = row.plan.origins[static_cast<std::size_t>(row.step.origin)];
  const std::string_view first_line = row.request.substr(0, row.request.find("\r\n"));
  const auto first_space = first_line.find(' ');
  const auto last_space = first_line.rfind(' ');
  std::string url = std::string(origin.tls ? "https://" : "http://") + origin.host_header;
  url.append(first_line.substr(first_space + 1, last_space - first_space - 1));
  csv_field(rows, url);
  fmt::format_to(out, ",{},0,{}\n", sample.got_response ? ms(sample.ttfb) : 0, ms(sample.connect));
}

void JtlTransaction::add(const Sample& sample) {
  if (samples++ == 0) {
    start = sample.wall_start;
  }
  failures += sample.failure == FailureKind::none ? 0 : 1;
  elapsed += sample.service;
  latency += sample.got_response ? sample.ttfb : std::chrono::steady_clock::duration{};
  connect += sample.connect;
  received += sample.received;
  sent += sample.sent;
}

void append_jtl_transaction_row(std::string& rows, std::string_view name, const JtlTransaction& t,
                                const Journey& journey, std::uint64_t vu_number, int active_vus,
                                std::chrono::steady_clock::duration span,
                                std::string_view thread_group) {
  const auto ms = [](std::chrono::steady_clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  const auto timestamp =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.start.time_since_epoch()).count();
  auto out = std::back_inserter(rows);
  fmt::format_to(out, "{},{},", timestamp, ms(t.elapsed));
  csv_field(rows, name);
  fmt::format_to(out, ",{},", t.failures == 0 ? "200" : "");
  csv_field(rows,
            fmt::format("Number of samples in transaction : {}, number of failing samples : {}",
                        t.samples, t.failures));
  rows.push_back(',');
  csv_field(rows,
            fmt::format("{} 1-{}", thread_group.empty() ? journey.name : thread_group, vu_number));
  fmt::format_to(out, ",,{},,{},{},{},{},null,{},{},{}\n", t.failures == 0 ? "true" : "false",
                 t.received, t.sent, active_vus, active_vus, ms(t.latency),
                 std::max<std::int64_t>(0, ms(span - t.elapsed)), ms(t.connect));
}

JtlFile::~JtlFile() {
  if (file_ != nullptr) {
    std::fclose(file_);
  }
}

Result<void> JtlFile::open(const std::string& path, bool append) {
  file_ = std::fopen(path.c_str(), append ? "a" : "w");
  if (file_ == nullptr) {
    return Error{ErrorKind::unavailable, "cannot write " + path};
  }
  if (!append) {
    std::fprintf(file_, "%s\n", kJtlHeader);
  }
  return {};
}

void JtlFile::write(std::string& rows) {
  if (file_ == nullptr || rows.empty()) {
    return;
  }
  std::lock_guard lock(mutex_);
  std::fwrite(rows.data(), 1, rows.size(), file_);
  rows.clear();
}

}  // namespace crest::load
