#include "sample.hpp"

#include <algorithm>

namespace crest::load {
namespace {

std::uint64_t to_us(std::chrono::steady_clock::duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us < 0 ? 0 : static_cast<std::uint64_t>(us);
}

}  // namespace

const char* failure_message(FailureKind kind) {
  switch (kind) {
    case FailureKind::connect_refused:
      return "connection refused";
    case FailureKind::connect_error:
      return "connect failed";
    case FailureKind::timeout:
      return "timed out";
    case FailureKind::reset:
      return "connection reset or closed";
    case FailureKind::tls:
      return "TLS handshake or I/O failed";
    case FailureKind::protocol:
      return "malformed HTTP response";
    case FailureKind::http_status:
      return "HTTP error status";
    case FailureKind::check_failed:
      return "check failed";
    case FailureKind::capture_failed:
      return "capture found nothing";
    case FailureKind::data_exhausted:
      return "data feed exhausted";
    case FailureKind::invalid_request:
      return "invalid request";
    case FailureKind::none:
      break;
  }
  return "";
}

namespace {

void record_series(StepStats& series, const Sample& sample,
                   std::chrono::steady_clock::duration lag) {
  ++series.requests;
  if (sample.failure != FailureKind::none) {
    ++series.failures;
    ++series.by_kind[static_cast<std::size_t>(sample.failure)];
  }
  const auto status_class =
      sample.got_response ? static_cast<std::size_t>(std::clamp(sample.status / 100, 1, 5)) : 0;
  series.by_status_class[status_class] += 1;
  series.service.record_us(to_us(sample.service));
  series.duration.record_us(to_us(sample.service + lag));
  if (sample.got_response) {
    series.ttfb.record_us(to_us(sample.ttfb));
  }
  if (sample.connected) {
    ++series.connects;
    series.connect_us_sum += to_us(sample.connect);
  }
  series.bytes_sent += sample.sent;
  series.bytes_received += sample.received;
}

}  // namespace

void record_sample(MetricSet& metrics, const Step& step, const Sample& sample,
                   std::chrono::steady_clock::duration lag, const std::vector<bool>& check_passed,
                   int scenario) {
  record_series(metrics.steps[static_cast<std::size_t>(step.metric)], sample, lag);
  ScenarioStats* in_scenario =
      scenario >= 0 && static_cast<std::size_t>(scenario) < metrics.scenarios.size()
          ? &metrics.scenarios[static_cast<std::size_t>(scenario)]
          : nullptr;
  if (in_scenario != nullptr) {
    record_series(in_scenario->requests, sample, lag);
  }
  if (sample.got_response) {
    for (std::size_t i = 0; i < step.checks.size(); ++i) {
      const bool ok = i < check_passed.size() && check_passed[i];
      ++metrics.checks[static_cast<std::size_t>(step.checks[i].id)][ok ? 0 : 1];
      if (in_scenario != nullptr) {
        ++in_scenario->checks[ok ? 0 : 1];
      }
    }
  }
}

}  // namespace crest::load
