#include "crest/http/middleware.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <shared_mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "crest/http/errors.hpp"
#include "crest/metrics/registry.hpp"

namespace crest::http {
namespace {

// Ids for correlation, not secrets: a fast per-thread generator is enough. Written in place.
template <std::size_t Capacity>
void random_hex(log::InlineText<Capacity>& id, std::size_t digits) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  char* out = id.resize(digits);
  std::uint64_t bits = 0;
  for (std::size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) bits = engine();
    out[i] = kHex[bits & 0xF];
    bits >>= 4;
  }
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

// The ids are written into the request logger's fixed buffers (log::CorrelationIds): no string
// is built per request, and the logger shares the service's bound fields instead of copying them.
Middleware request_id() {
  return [](Request& request, const Handler& next) {
    log::CorrelationIds ids = request.context.logger.ids();
    const auto given = request.headers.get("X-Request-Id");
    if (given && is_sane_request_id(*given)) {
      ids.request_id.assign(*given);
    } else {
      random_hex(ids.request_id, 16);
    }
    request.context.logger = request.context.logger.with_ids(ids);
    Response response = next(request);
    response.headers.set("X-Request-Id", std::string(request.context.request_id()));
    return response;
  };
}

Middleware trace_context(const log::Logger& logger) {
  return [logger](Request& request, const Handler& next) {
    // traceparent: version "00", 32-hex trace id, 16-hex parent id, 2-hex flags.
    log::CorrelationIds ids = request.context.logger.ids();
    const auto header = request.headers.get("traceparent");
    if (header && header->size() == 55 && header->substr(0, 3) == "00-" && (*header)[35] == '-' &&
        (*header)[52] == '-' && is_hex(header->substr(3, 32), 32) &&
        is_hex(header->substr(36, 16), 16)) {
      ids.trace_id.assign(header->substr(3, 32));
      ids.parent_span_id.assign(header->substr(36, 16));
    } else {
      random_hex(ids.trace_id, 32);
      ids.parent_span_id.resize(0);  // no parent span
    }
    random_hex(ids.span_id, 16);
    request.context.logger = logger.with_ids(ids);
    Response response = next(request);
    std::array<char, 55> traceparent{};
    request.context.write_outgoing_traceparent(traceparent);
    response.headers.set("traceparent", std::string(traceparent.data(), traceparent.size()));
    return response;
  };
}

// The line is written from plain fields (log::Field), no JSON object; nothing is built when the
// level is off.
Middleware access_log() {
  return [](Request& request, const Handler& next) {
    const auto start = std::chrono::steady_clock::now();
    Response response = next(request);
    const auto level = is_probe(request)        ? log::Level::debug
                       : response.status >= 500 ? log::Level::error
                                                : log::Level::info;
    if (request.context.logger.enabled(level)) {
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const log::Field fields[] = {{"http_request_method", std::string_view(request.method)},
                                   {"url_path", std::string_view(request.path).substr(0, 256)},
                                   {"http_route", request.context.route},
                                   {"http_response_status_code", response.status},
                                   {"duration_ms", seconds * 1e3},
                                   {"response_bytes", response.body.size()},
                                   {"client_address", std::string_view(request.remote_address)}};
      request.context.logger.write(level, "request", fields);
    }
    return response;
  };
}

namespace {

// The metric children of the request metrics, resolved once per method and once per (route,
// method, status) and then found by the route pattern's address (the Router holds the pattern for
// the server's lifetime), not looked up by label strings per request. Children are created on first
// use, so /metrics shows only series that were observed, as before.
class RequestSeries {
 public:
  static constexpr std::string_view kMethods[] = {"GET",   "POST", "PUT",     "DELETE",
                                                  "PATCH", "HEAD", "OPTIONS", "_OTHER"};

  explicit RequestSeries(metrics::Registry& registry)
      : duration_(registry.histogram_family(
            "http_server_request_duration_seconds", "Duration of HTTP server requests.",
            {"http_route", "http_request_method", "http_response_status_code"})),
        active_(registry.gauge_family("http_server_active_requests",
                                      "Number of active HTTP server requests.",
                                      {"http_request_method"})) {}

  // Unknown methods share one label value so clients cannot grow the series set.
  static std::size_t method_index(std::string_view method) {
    for (std::size_t i = 0; i + 1 < std::size(kMethods); ++i) {
      if (method == kMethods[i]) return i;
    }
    return std::size(kMethods) - 1;
  }

  metrics::Gauge& active(std::size_t method) {
    metrics::Gauge* gauge = active_children_[method].load(std::memory_order_acquire);
    if (gauge == nullptr) {
      gauge = &active_.with({kMethods[method]});  // the same child whichever thread comes first
      active_children_[method].store(gauge, std::memory_order_release);
    }
    return *gauge;
  }

  metrics::Histogram& duration(std::string_view route, std::size_t method, int status) {
    const Key key{route.data(), route.size(), method, status};
    {
      std::shared_lock lock(mutex_);
      if (const auto it = durations_.find(key); it != durations_.end()) return *it->second;
    }
    const std::string status_text = std::to_string(status);
    metrics::Histogram& child = duration_.with({route, kMethods[method], status_text});
    std::unique_lock lock(mutex_);
    durations_.emplace(key, &child);
    return child;
  }

 private:
  struct Key {
    const char* route;  // the pattern's address in the Router
    std::size_t route_size;
    std::size_t method;
    int status;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& key) const noexcept {
      return std::hash<const void*>{}(key.route) ^ (key.route_size * 31U) ^ (key.method << 20U) ^
             (static_cast<std::size_t>(key.status) << 8U);
    }
  };

  metrics::Family<metrics::Histogram>& duration_;
  metrics::Family<metrics::Gauge>& active_;
  std::array<std::atomic<metrics::Gauge*>, std::size(kMethods)> active_children_{};
  std::shared_mutex mutex_;
  std::unordered_map<Key, metrics::Histogram*, KeyHash> durations_;
};

}  // namespace

Middleware request_metrics(metrics::Registry& registry) {
  auto series = std::make_shared<RequestSeries>(registry);
  return [series](Request& request, const Handler& next) {
    const std::size_t method = RequestSeries::method_index(request.method);
    auto& in_flight = series->active(method);
    in_flight.inc();
    const auto start = std::chrono::steady_clock::now();
    Response response = next(request);
    in_flight.dec();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Unmatched paths all count under one route, for the same reason.
    static constexpr std::string_view kUnmatched = "_unmatched";
    const std::string_view route =
        request.context.route.empty() ? kUnmatched : request.context.route;
    series->duration(route, method, response.status).observe(seconds);
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
      return Response::error(500, "internal",
                             "internal error; see the server log for request " +
                                 std::string(request.context.request_id()));
    }
  };
}

std::vector<Middleware> standard_middleware(const log::Logger& logger,
                                            metrics::Registry& registry) {
  return {request_id(), trace_context(logger), access_log(), request_metrics(registry),
          error_mapping()};
}

}  // namespace crest::http
