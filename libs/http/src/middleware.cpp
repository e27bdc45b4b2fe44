#include "crest/http/middleware.hpp"

#include <chrono>
#include <random>

#include <fmt/format.h>

#include "crest/core/error.hpp"
#include "crest/metrics/registry.hpp"

namespace crest::http {
namespace {

// Ids for correlation, not secrets: a fast per-thread generator is enough.
std::string random_hex(std::size_t digits) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digits, '0');
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) bits = engine();
    out[i] = kHex[bits & 0xF];
    bits >>= 4;
  }
  return out;
}

bool is_hex(std::string_view text, std::size_t length) {
  if (text.size() != length) return false;
  bool all_zero = true;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    all_zero = all_zero && c == '0';
  }
  return !all_zero;  // the spec forbids all-zero ids
}

bool is_sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool is_probe(const Request& request) {
  return request.path == "/healthz" || request.path == "/readyz" || request.path == "/metrics";
}

}  // namespace

Handler compose(std::vector<Middleware> chain, Handler inner) {
  Handler handler = std::move(inner);
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    handler = [middleware = std::move(*it), next = std::move(handler)](Request& request) {
      return middleware(request, next);
    };
  }
  return handler;
}

Middleware request_id() {
  return [](Request& request, const Handler& next) {
    const auto given = request.headers.get("X-Request-Id");
    request.context.request_id =
        given && is_sane_request_id(*given) ? std::string(*given) : random_hex(16);
    Response response = next(request);
    response.headers.set("X-Request-Id", request.context.request_id);
    return response;
  };
}

Middleware trace_context(const log::Logger& logger) {
  return [logger](Request& request, const Handler& next) {
    // traceparent: version "00", 32-hex trace id, 16-hex parent id, 2-hex flags.
    const auto header = request.headers.get("traceparent");
    std::string parent;
    if (header && header->size() == 55 && header->substr(0, 3) == "00-" && (*header)[35] == '-' &&
        (*header)[52] == '-' && is_hex(header->substr(3, 32), 32) &&
        is_hex(header->substr(36, 16), 16)) {
      request.context.trace_id = std::string(header->substr(3, 32));
      parent = std::string(header->substr(36, 16));
    } else {
      request.context.trace_id = random_hex(32);
    }
    request.context.span_id = random_hex(16);
    nlohmann::json fields{{"request_id", request.context.request_id},
                          {"trace_id", request.context.trace_id},
                          {"span_id", request.context.span_id}};
    if (!parent.empty()) fields["parent_span_id"] = parent;
    request.context.logger = logger.with(fields);
    Response response = next(request);
    response.headers.set("traceparent", request.context.outgoing_traceparent());
    return response;
  };
}

Middleware access_log() {
  return [](Request& request, const Handler& next) {
    const auto start = std::chrono::steady_clock::now();
    Response response = next(request);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto level = is_probe(request)        ? log::Level::debug
                       : response.status >= 500 ? log::Level::error
                                                : log::Level::info;
    if (request.context.logger.enabled(level)) {
      const nlohmann::json fields{{"http_request_method", request.method},
                                  {"url_path", request.path.substr(0, 256)},
                                  {"http_route", request.context.route},
                                  {"http_response_status_code", response.status},
                                  {"duration_ms", seconds * 1e3},
                                  {"response_bytes", response.body.size()},
                                  {"client_address", request.remote_address}};
      request.context.logger.write(level, "request", &fields);
    }
    return response;
  };
}

Middleware request_metrics(metrics::Registry& registry) {
  auto& duration = registry.histogram_family(
      "http_server_request_duration_seconds", "Duration of HTTP server requests.",
      {"http_route", "http_request_method", "http_response_status_code"});
  auto& active =
      registry.gauge_family("http_server_active_requests", "Number of active HTTP server requests.",
                            {"http_request_method"});
  return [&duration, &active](Request& request, const Handler& next) {
    // Unknown methods share one label value so clients cannot grow the series set.
    static constexpr std::string_view kKnown[] = {"GET",   "POST", "PUT",    "DELETE",
                                                  "PATCH", "HEAD", "OPTIONS"};
    std::string_view method = "_OTHER";
    for (auto known : kKnown) {
      if (request.method == known) method = known;
    }
    auto& in_flight = active.with({method});
    in_flight.inc();
    const auto start = std::chrono::steady_clock::now();
    Response response = next(request);
    in_flight.dec();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Unmatched paths all count under one route, for the same reason.
    const std::string_view route =
        request.context.route.empty() ? std::string_view("_unmatched") : request.context.route;
    const std::string status = std::to_string(response.status);
    duration.with({route, method, status}).observe(seconds);
    return response;
  };
}

Middleware error_mapping() {
  return [](Request& request, const Handler& next) {
    try {
      return next(request);
    } catch (const ServiceUnavailable& e) {
      Response r = Response::error(e.status(), e.code(), e.what());
      r.headers.set("Retry-After", std::to_string(e.retry_after_seconds));
      return r;
    } catch (const HttpError& e) {
      return Response::error(e.status(), e.code(), e.what());
    } catch (const std::exception& e) {
      request.context.logger.error("unhandled exception", {{"error", e.what()}});
      return Response::error(
          500, "internal",
          "internal error; see the server log for request " + request.context.request_id);
    }
  };
}

std::vector<Middleware> standard_middleware(const log::Logger& logger,
                                            metrics::Registry& registry) {
  return {request_id(), trace_context(logger), access_log(), request_metrics(registry),
          error_mapping()};
}

}  // namespace crest::http
