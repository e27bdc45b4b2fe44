#pragma once
// Generic anomaly scoring (docs/diagnose.md, "Method"): the incident window from the SLO series,
// then every candidate series scored by how far it left its own pre-onset normal, robustly
// (median and IQR, as BARO does) or, for comparison, by a plain mean/stddev z-score (NSigma).
// Nothing here knows a fault; the ranking is the same for any series name.
#include <optional>
#include <string>
#include <vector>

#include "crest/diagnose/series.hpp"

namespace crest::diagnose {

// What a series measures, read from its name and labels.
enum class Signal {
  slo_latency,
  slo_errors,
  cpu,
  cpu_throttling,
  memory,
  restarts,
  in_flight,
  pool_wait,
  db_load,
  db_digest_load,
  db_slow_queries,
  db_queries,
  db_connections,
  replica_lag,
  replica_running,
  cache_hits,
  cache_misses,
  cache_hit_ratio,
  cache_errors,
  cache_up,
  queue_depth,
  queue_oldest_age,
  queue_dead_letters,
  outbox_pending,
  dynamodb_throttles,
  dynamodb_latency,
  downstream_latency,
  downstream_errors,
  replicas_desired,
  replicas_current,
  replicas_max,
  capacity_wait,
  db_rows_examined,  // rows one SQL digest reads per second  // pods pending, nodes being
                     // provisioned: the age of the oldest waiting
  lb_active_servers,
  lb_server_up,
  lb_errors,
  // The balancer's time for a backend beyond the service's own (lb_added_response_seconds).
  lb_added_latency,
  target_up,  // Prometheus' own `up`: the target answered its scrape
  log_errors,
  log_warnings,
  throughput,
  other,
};
const char* to_string(Signal signal);

struct SeriesKind {
  Signal signal = Signal::other;
  std::string component;  // service, db server, cache, queue, proxy...
  std::string instance;   // pod / instance when the series has one
  bool counter = false;   // scored as a per-second rate
  bool skipped = false;   // not scored: histogram buckets, long polls
  bool per_call = false;  // a mean latency per call (`*_seconds_per_call`), not time per second
  // A capacity wait that others wait on (a node being provisioned), not a pod's own wait.
  bool provides_capacity = false;
};
SeriesKind classify(const Series& series);

// Counter to per-second rate (a drop is a reset: the new value is the increase).
// The key that pairs a dependency's time spent (`X_seconds_sum`) with its call counter
// (`X_seconds_count`, `crest_db_queries_total`, `crest_aws_requests_total` over outcomes); empty
// for any other series.
std::string calls_key_of(const Series& series);

Series to_rate(const Series& counter);

// Replaces the per-instance series (labels pod, instance, node) of one component by their
// combination: summed for work and events (counters become per-second rates, `per_second`), the
// largest for a queue's depth and age that every instance reports; CPU keeps its per-instance
// series beside the sum. Scaling out then moves a component's series no more than it moves the
// component, and an instance that appears mid-incident is not an anomaly of its own.
void aggregate_instances(std::vector<Series>& series);

// Adds derived series: cache hit ratio from hits and misses per cache.
void add_derived_series(std::vector<Series>& series);

// The time the load balancer adds to a service's requests. From HAProxy's
// `haproxy_backend_response_time_average_seconds{proxy}` (a sliding average over the backend's
// last 512 requests) and `haproxy_backend_http_responses_total{proxy}`, the balancer's mean time
// per request over the last 100 or more requests is recovered (`lb_request_seconds{service}`) and
// compared with the service's own mean time per request (a named Prometheus query, per `service`)
// over the same requests. A service that is slow itself also keeps requests waiting before its
// handler starts the clock (accept queue, busy event loop), so the balancer may see up to about
// twice its own time; beyond that, something between the two adds it:
// lb_added_response_seconds{service} = max(0, balancer's time per request - 2 * own highest mean
// over those requests).
inline constexpr const char* kOwnMeanSeries = "service_own_request_seconds_mean";
inline constexpr const char* kLbRequestSeries = "lb_request_seconds";
inline constexpr const char* kLbAddedSeries = "lb_added_response_seconds";
inline constexpr double kLbOwnFactor = 2;

struct AnomalyWindow {
  double onset = 0;
  double end = 0;
  bool detected = false;  // false: no SLO series moved (or --onset given)
  std::string trigger;    // the SLO series whose onset was earliest
};

struct WindowOptions {
  double threshold = 4;  // robust deviations above normal
  int consecutive = 3;   // samples in a row
  double reference_fraction = 0.25;
  std::size_t min_reference = 10;
};
// The onset from the SLO series among `series` (classified as slo_latency / slo_errors).
// nullopt when there are no SLO series, or none of them moved.
std::optional<AnomalyWindow> find_anomaly_window(const std::vector<Series>& series,
                                                 const WindowOptions& options = {});
// Without SLO series: the median change point of every series (most different halves).
std::optional<AnomalyWindow> change_point_window(const std::vector<Series>& series);

// Health events: a scrape target that stopped answering for `consecutive` scrapes in a row after
// answering through its normal (a dead or frozen process), or a container that restarted or was
// OOM-killed. Users need not notice either (another instance takes the traffic, a queue holds the
// work), so the symptom may show later or never. nullopt when neither happened after the normal.
std::optional<AnomalyWindow> find_health_window(const std::vector<Series>& series,
                                                const WindowOptions& options = {});
// How long before the symptom a health event still opens its window: a killed instance's
// replacement takes its first requests cold some 30 s later.
inline constexpr double kHealthLead = 60;
// The symptom's window, opened at the health event when that came first by at most kHealthLead;
// the health event's own window when no symptom moved.
std::optional<AnomalyWindow> merge_health_window(std::optional<AnomalyWindow> symptom,
                                                 const std::optional<AnomalyWindow>& health);

enum class Scorer { robust, nsigma };

struct ScoredSeries {
  const Series* series = nullptr;  // points into the caller's vector
  SeriesKind kind;
  double score = 0;          // max |x - centre| / scale over the window
  double normal_centre = 0;  // median (robust) or mean (nsigma) before the onset
  double normal_scale = 0;   // IQR or stddev (after the flat-series floor)
  double peak = 0;           // the value at the highest score
  double peak_t = 0;
  double window_median = 0;      // typical value during the window
  bool increased = true;         // the peak is above normal
  double first_anomalous_t = 0;  // first sample above the score threshold, else peak_t
};

struct ScoringOptions {
  Scorer scorer = Scorer::robust;
  double first_anomalous_threshold = 3;
  std::size_t min_normal_samples = 5;
};
// Every series with enough samples before the onset and at least one in the window, highest
// score first. SLO series are scored too (they describe the symptom) but flagged by their kind.
std::vector<ScoredSeries> score_series(const std::vector<Series>& series,
                                       const AnomalyWindow& window,
                                       const ScoringOptions& options = {});

struct ComponentScore {
  std::string component;
  double score = 0;
  std::string top_series;
};
// Components (not SLO, not the load generator) by their best series' score.
std::vector<ComponentScore> rank_components(const std::vector<ScoredSeries>& scored);

}  // namespace crest::diagnose
