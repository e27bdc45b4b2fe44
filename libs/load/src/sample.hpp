#pragma once
// One sample: what happened to one request, as the engine records it (metrics, JTL row) and as
// the checks and captures judge it.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crest/load/plan.hpp"
#include "crest/load/response_parser.hpp"
#include "crest/load/stats.hpp"

namespace crest::load {

struct Sample {
  FailureKind failure = FailureKind::none;
  int status = 0;
  std::chrono::system_clock::time_point wall_start;  // only taken when a JTL is written
  std::chrono::steady_clock::duration service{};
  std::chrono::steady_clock::duration ttfb{};
  std::chrono::steady_clock::duration connect{};
  bool connected = false;
  bool got_response = false;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::string_view message;
  int failed_check = -1;
};

// The fixed text of a failure kind ("connection refused"), for JTL rows.
const char* failure_message(FailureKind kind);

// Adds the sample to a step's series and its checks' counts (check_passed: per check of the step,
// from judge_response). `lag` is how late the iteration started (coordinated omission).
// `scenario` also records it into that scenario's series (-1: none, as setup and teardown).
void record_sample(MetricSet& metrics, const Step& step, const Sample& sample,
                   std::chrono::steady_clock::duration lag, const std::vector<bool>& check_passed,
                   int scenario = -1);

// The after-response work (capture.cpp): cookies into the jar, the status verdict, checks (into
// check_passed) and captures (into vars); downgrades sample.failure accordingly.
struct ResponseContext {
  const Plan& plan;
  const Step& step;
  const ResponseParser& parser;
  std::string_view response;
  CookieJar& jar;
  std::vector<std::string>& vars;
  std::chrono::steady_clock::duration lag;
  Rng* rng = nullptr;  // captures with `match: random`
};
// A capture that found nothing is named in *missing_capture.
void judge_response(const ResponseContext& context, std::vector<bool>& check_passed, Sample& sample,
                    std::string* missing_capture);

}  // namespace crest::load
