#pragma once
// Where a read goes: the primary or one of its replicas. Pure routing state, no I/O, so it is
// tested with a ManualClock and no servers; MysqlDatabase's prober feeds it replica health.
//
// Servers are numbered 0 = primary, 1..n = replicas. An `eventual` read goes to a usable
// replica, round robin; a `strong` read, a read whose key was written within the
// read-your-writes window, any read with `reads.use_replicas` off, and any read while no replica is
// usable go to the primary. A replica is usable after a probe found it replicating with
// Seconds_Behind_Master <= max_replica_lag; a failed probe, a NULL or too large lag, or a
// connection error on a read takes it out until a later probe finds it healthy again.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "crest/core/clock.hpp"
#include "crest/store/model.hpp"

namespace crest::metrics {
class Gauge;
class Registry;
}  // namespace crest::metrics

namespace crest::store {

// How reads are spread: the one options type for it, from the `reads` setting to the router
// (MysqlOptions::reads is handed over as it is).
struct ReadRouting {
  bool use_replicas = true;  // the baseline switch `reads: primary|replicas`
  std::chrono::milliseconds max_replica_lag{2000};
  std::chrono::milliseconds read_your_writes_window{5000};
  std::size_t recent_writes_capacity = 100000;  // keys remembered (LRU); older ones are forgotten
};

struct ReplicaRouterOptions {
  std::vector<std::string> replica_names;  // labels, e.g. {"replica1", "replica2"}
  ReadRouting reads;
  // crest_replica_lag_seconds{replica} and crest_replica_usable{replica} (1/0).
  metrics::Registry* metrics = nullptr;
};

class ReplicaRouter {
 public:
  static constexpr int primary = 0;

  explicit ReplicaRouter(ReplicaRouterOptions options, Clock& clock = Clock::system());

  // The server for a read. `keys` name what is read ("user:7", "order:42"); if any of them was
  // written within the read-your-writes window, the primary serves it.
  int route_read(Consistency consistency, std::initializer_list<std::string_view> keys = {});
  // Remembers that `key` was just written (the caller wrote it on the primary).
  void record_write(std::string_view key);
  bool written_recently(std::string_view key) const;

  // A probe result for replica server `server` (1..n): its lag, or nullopt when the probe
  // failed or replication is not running.
  void report_probe(int server, std::optional<std::chrono::milliseconds> lag);
  // A read on the replica failed with a connection error: out until a probe says otherwise.
  void mark_unusable(int server);

  bool usable(int server) const;
  // Whether any read can go to a replica (there are some, and `use_replicas`): the one place
  // that decides, which MysqlDatabase asks before probing replicas at all.
  bool routes_to_replicas() const { return options_.reads.use_replicas && !replicas_.empty(); }
  int replica_count() const { return static_cast<int>(replicas_.size()); }
  const ReplicaRouterOptions& options() const { return options_; }

 private:
  struct Replica {
    std::atomic<bool> usable{false};
    metrics::Gauge* lag_seconds = nullptr;
    metrics::Gauge* usable_gauge = nullptr;
  };
  void set_usable(Replica& replica, bool usable);

  ReplicaRouterOptions options_;
  Clock& clock_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::atomic<std::size_t> next_{0};

  using Recent = std::list<std::pair<std::string, Clock::SteadyTime>>;  // front = newest
  mutable std::mutex recent_mutex_;
  Recent recent_;
  std::unordered_map<std::string_view, Recent::iterator> recent_index_;
};

}  // namespace crest::store
