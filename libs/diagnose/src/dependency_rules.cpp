// Rules on queues and dependencies: the order queue and worker, DynamoDB, downstream calls,
// connection pools.
#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "crest/diagnose/parsers.hpp"
#include "diagnosis_rules.hpp"

namespace crest::diagnose::detail {

void Rules::queues() {
  for (const auto* s : top({Signal::queue_depth, Signal::queue_oldest_age,
                            Signal::queue_dead_letters, Signal::outbox_pending},
                           [](auto& x) { return x.increased; })) {
    const auto& component = s->kind.component;
    if (s->kind.signal == Signal::queue_dead_letters) {
      add({fmt::format("poison messages: dead-lettered on {}", component.substr(6)),
           component,
           "poison_messages",
           confidence(0.8, s),
           "inspect the dead-letter queue, fix the consumer's handling, redrive",
           {series_evidence(*s)}});
      continue;
    }
    if (s->kind.signal == Signal::outbox_pending) {
      add({fmt::format("{} outbox not draining: publishing to the queue fails", s->kind.component),
           "sqs",
           "queue_unreachable",
           confidence(0.65, s),
           "restore the queue endpoint; orders stay safe in the outbox and are published when it "
           "returns",
           {series_evidence(*s)}});
      continue;
    }
    if (has_cause(component)) {
      continue;
    }
    const auto* consumed = any(Signal::throughput, component, [](auto& x) {
      const auto& n = x.series->name;
      return n.find("deleted") != std::string::npos || n.find("received") != std::string::npos;
    });
    const bool worker_down = consumed && consumed->normal_centre > 0 &&
                             consumed->window_median < 0.2 * consumed->normal_centre;
    const auto* worker_restarts =
        any(Signal::restarts, "worker", [](auto& x) { return x.increased && x.score >= 3; });
    std::vector<Evidence> evidence{series_evidence(*s)};
    if (consumed != nullptr) {
      evidence.push_back(series_evidence(*consumed));
    }
    const bool down = worker_down || worker_restarts != nullptr;
    // Consumers that receive more than usual and delete no more than usual fail on what they
    // receive: the same messages come back after their visibility timeout, again and again,
    // until the redrive policy moves them to the dead-letter queue.
    const auto* received = any(Signal::throughput, component, [](auto& x) {
      return x.series->name.find("received") != std::string::npos;
    });
    const auto* deleted = any(Signal::throughput, component, [](auto& x) {
      return x.series->name.find("deleted") != std::string::npos;
    });
    // Messages over the window, from a per-second series (a counter's rate).
    const auto window_total = [&](const ScoredSeries& x) {
      const Series rate = x.kind.counter ? to_rate(*x.series) : *x.series;
      double total = 0;
      for (std::size_t i = 1; i < rate.t.size(); ++i) {
        if (rate.t[i] >= d_.window.onset && rate.t[i] <= d_.window.end) {
          total += rate.v[i] * (rate.t[i] - rate.t[i - 1]);
        }
      }
      return total;
    };
    bool redelivered = false;
    if (!down && received != nullptr && deleted != nullptr && received->increased &&
        received->score >= 3) {
      const double excess = window_total(*received) - window_total(*deleted);
      const double usual = std::max(0.0, received->normal_centre - deleted->normal_centre) *
                           (d_.window.end - d_.window.onset);
      redelivered = excess > usual + std::max(5.0, 0.1 * window_total(*deleted));
    }
    if (redelivered) {
      std::vector<Evidence> poison{series_evidence(*s), series_evidence(*received),
                                   series_evidence(*deleted)};
      add({fmt::format("{}: messages received again and again, not deleted: the consumer fails on "
                       "them (poison messages)",
                       component.substr(6)),
           component, "poison_messages", confidence(0.7, s),
           "look at the consumer's errors for these messages; a redrive policy (maxReceiveCount) "
           "moves them to the dead-letter queue so they stop blocking the others",
           std::move(poison)});
      continue;
    }
    add({fmt::format("{} backlog growing{}", component.substr(6), down ? ", worker down" : ""),
         component, down ? "worker_down" : "queue_backlog", confidence(down ? 0.85 : 0.65, s),
         "scale the workers on queue depth and oldest message age (KEDA/HPA on an external "
         "metric); restart "
         "a dead worker: messages wait safely in the queue",
         std::move(evidence)});
  }
}

void Rules::dynamodb() {
  for (const auto* s : top({Signal::dynamodb_throttles, Signal::dynamodb_latency},
                           [](auto& x) { return x.increased; })) {
    const bool throttled = s->kind.signal == Signal::dynamodb_throttles;
    const auto who = s->kind.instance.empty() ? std::string() : " on " + s->kind.instance;
    add({throttled ? "DynamoDB throttling" + who : "DynamoDB latency up" + who,
         "dynamodb",
         throttled ? "dynamodb_throttling" : "dynamodb_latency",
         confidence(throttled ? 0.85 : 0.6, s),
         throttled ? "on-demand capacity (or higher provisioned capacity with auto scaling), "
                     "spread hot keys, "
                     "keep retries with backoff and jitter"
                   : "check the table's latency metrics and hot partitions; add a cache in front "
                     "of hot reads",
         {series_evidence(*s)}});
  }
}

void Rules::downstream() {
  for (const auto* s : top({Signal::downstream_latency, Signal::downstream_errors},
                           [](auto& x) { return x.increased; })) {
    const auto& component = s->kind.component;
    if (component.rfind("db:", 0) == 0) {
      if (!has_cause(component)) {
        add({fmt::format("{} DB slow as its clients see it", component.substr(3)),
             component,
             "db_saturation",
             confidence(0.5, s),
             "look at the database's load and top statements (crest db top)",
             {series_evidence(*s)}});
      }
      continue;
    }
    const bool errors = s->kind.signal == Signal::downstream_errors;
    add({fmt::format("calls to {} {}", component, errors ? "failing" : "slow"),
         component,
         errors ? "downstream_errors" : "downstream_latency",
         confidence(0.5, s),
         "timeouts, retries with backoff and a circuit breaker on that dependency; then find why "
         "it is slow",
         {series_evidence(*s)}});
  }
}

void Rules::pool_wait() {
  for (const auto* s : top({Signal::pool_wait}, [](auto& x) { return x.increased; })) {
    const bool db_cause = std::any_of(d_.causes.begin(), d_.causes.end(), [](const Cause& c) {
      return c.component.rfind("db:", 0) == 0;
    });
    if (db_cause) {
      continue;
    }
    add({fmt::format("{} waits for database connections (pool exhausted)", s->kind.component),
         s->kind.component,
         "pool_exhaustion",
         confidence(0.5, s),
         "size the pool to the database's capacity and the instance's concurrency; find slow "
         "transactions",
         {series_evidence(*s)}});
  }
}

}  // namespace crest::diagnose::detail
