#include "crest/store/replica_router.hpp"

#include "crest/metrics/registry.hpp"

namespace crest::store {

ReplicaRouter::ReplicaRouter(ReplicaRouterOptions options, Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  metrics::GaugeFamily* lag = nullptr;
  metrics::GaugeFamily* usable = nullptr;
  if (options_.metrics != nullptr) {
    lag = &options_.metrics->gauge_family("crest_replica_lag_seconds",
                                          "Replication lag of a read replica at its last probe.",
                                          {"replica"});
    usable = &options_.metrics->gauge_family(
        "crest_replica_usable", "1 if the read replica serves reads, 0 if taken out.", {"replica"});
  }
  for (const auto& name : options_.replica_names) {
    auto replica = std::make_unique<Replica>();
    if (lag != nullptr) {
      replica->lag_seconds = &lag->with({name});
      replica->usable_gauge = &usable->with({name});
    }
    replicas_.push_back(std::move(replica));
  }
  options_.reads.recent_writes_capacity =
      std::max<std::size_t>(options_.reads.recent_writes_capacity, 1);
}

void ReplicaRouter::set_usable(Replica& replica, bool usable) {
  replica.usable.store(usable, std::memory_order_relaxed);
  if (replica.usable_gauge != nullptr) {
    replica.usable_gauge->set(usable ? 1.0 : 0.0);
  }
}

int ReplicaRouter::route_read(Consistency consistency,
                              std::initializer_list<std::string_view> keys) {
  if (consistency == Consistency::strong || !routes_to_replicas()) {
    return primary;
  }
  for (const auto key : keys) {
    if (written_recently(key)) {
      return primary;
    }
  }
  const std::size_t n = replicas_.size();
  const std::size_t start = next_.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t candidate = (start + i) % n;
    if (replicas_[candidate]->usable.load(std::memory_order_relaxed)) {
      return static_cast<int>(candidate) + 1;
    }
  }
  return primary;
}

void ReplicaRouter::record_write(std::string_view key) {
  if (!routes_to_replicas()) {
    return;
  }
  const auto now = clock_.now();
  const std::lock_guard lock(recent_mutex_);
  if (const auto it = recent_index_.find(key); it != recent_index_.end()) {
    it->second->second = now;
    recent_.splice(recent_.begin(), recent_, it->second);
    return;
  }
  if (recent_.size() >= options_.reads.recent_writes_capacity) {
    recent_index_.erase(recent_.back().first);
    recent_.pop_back();
  }
  recent_.emplace_front(std::string(key), now);
  recent_index_.emplace(recent_.front().first, recent_.begin());
}

bool ReplicaRouter::written_recently(std::string_view key) const {
  const auto now = clock_.now();
  const std::lock_guard lock(recent_mutex_);
  const auto it = recent_index_.find(key);
  return it != recent_index_.end() &&
         now - it->second->second < options_.reads.read_your_writes_window;
}

void ReplicaRouter::report_probe(int server, std::optional<std::chrono::milliseconds> lag) {
  if (server < 1 || server > replica_count()) {
    return;
  }
  Replica& replica = *replicas_[static_cast<std::size_t>(server) - 1];
  if (lag && replica.lag_seconds != nullptr) {
    replica.lag_seconds->set(std::chrono::duration<double>(*lag).count());
  }
  set_usable(replica, lag.has_value() && *lag <= options_.reads.max_replica_lag);
}

void ReplicaRouter::mark_unusable(int server) {
  if (server >= 1 && server <= replica_count()) {
    set_usable(*replicas_[static_cast<std::size_t>(server) - 1], false);
  }
}

bool ReplicaRouter::usable(int server) const {
  if (server == primary) {
    return true;
  }
  return server >= 1 && server <= replica_count() &&
         replicas_[static_cast<std::size_t>(server) - 1]->usable.load(std::memory_order_relaxed);
}

}  // namespace crest::store
