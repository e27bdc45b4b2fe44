#include "sql_dialect.hpp"

#include "crest/metrics/registry.hpp"

namespace crest::store {

DbServerMetrics::DbServerMetrics(metrics::Registry* registry, const std::string& db_server) {
  if (registry == nullptr) {
    return;
  }
  auto& seconds = registry->histogram_family("crest_db_query_duration_seconds",
                                             "Time of one database operation (a transaction).",
                                             {"db_server", "operation"});
  auto& total =
      registry->counter_family("crest_db_queries_total", "Database operations (transactions) run.",
                               {"db_server", "operation"});
  read_seconds = &seconds.with({db_server, "read"});
  write_seconds = &seconds.with({db_server, "write"});
  reads = &total.with({db_server, "read"});
  writes = &total.with({db_server, "write"});
}

void DbServerMetrics::record(bool is_write,
                             std::chrono::steady_clock::duration elapsed) const noexcept {
  if (reads == nullptr) {
    return;
  }
  const double seconds = std::chrono::duration<double>(elapsed).count();
  (is_write ? write_seconds : read_seconds)->observe(seconds);
  (is_write ? writes : reads)->inc();
}

}  // namespace crest::store
