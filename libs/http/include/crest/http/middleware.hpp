#pragma once
// The middleware chain: each middleware gets the request and the rest of the chain.
#include <functional>
#include <vector>

#include "crest/http/router.hpp"

namespace crest::metrics {
class Registry;
}

namespace crest::http {

using Middleware = std::function<Response(Request&, const Handler& next)>;

// Wraps `inner` in `chain`, first element outermost.
Handler compose(std::vector<Middleware> chain, Handler inner);

// Takes a sane X-Request-Id or makes one; echoes it on the response.
Middleware request_id();
// Continues a W3C traceparent or starts a trace; binds ids to the request's logger.
Middleware trace_context(const log::Logger& logger);
// One JSON log line per request (health and metrics probes only at debug level).
Middleware access_log();
// http_server_request_duration_seconds and http_server_active_requests.
Middleware request_metrics(metrics::Registry& registry);
// Typed exceptions to status codes and a JSON error body; anything else is a logged 500.
Middleware error_mapping();

// The standard chain, in order: request id, trace context, access log, metrics, error mapping.
std::vector<Middleware> standard_middleware(const log::Logger& logger, metrics::Registry& registry);

}  // namespace crest::http
