#pragma once
// Saves what Prometheus recorded during a run window as the capture `crest report` reads:
// {"queries": {ID: {"title", "unit", "family", "expr", "data": <query_range answer>}}}.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crest/core/error.hpp"

namespace crest::demo {

struct CaptureQuery {
  std::string id;
  std::string title;
  std::string unit;
  std::string family;  // a crest::report family: resources, database, cache, queue, scaling, ...
  std::string expr;    // PromQL
};

// The local stack's series, one query per chart of the report: CPU and memory per service,
// throttling, service latency, database queries and threads, replica lag, cache hit ratio,
// queue depth and age, orders pending, instances per service.
std::vector<CaptureQuery> stack_capture_queries();

// Runs every query through /api/v1/query_range over [from, to] (Unix seconds). Prometheus
// unreachable is an error; a query Prometheus refuses is left out and named in "skipped".
Result<nlohmann::json> capture_prometheus(const std::string& base_url,
                                          const std::vector<CaptureQuery>& queries, double from,
                                          double to, double step_s = 1);

}  // namespace crest::demo
