#pragma once
// The engine's shared state, read by its units: engine.cpp (the VU lifecycle), exchange.cpp (one
// request/response over a Connection), run_plan.cpp (setup) and aggregator.cpp (the once-a-second
// collection). Not part of the library's interface.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "connection.hpp"
#include "crest/load/engine.hpp"
#include "crest/load/response_parser.hpp"
#include "crest/load/schedule.hpp"
#include "event_loop.hpp"
#include "feed.hpp"
#include "jtl.hpp"
#include "sample.hpp"

namespace crest::load {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
inline constexpr auto kNoDeadline = TimePoint::max();

// A VU's generator seed: the run's seed and the VU's global index through splitmix64, so
// neighbouring VUs (and runs) get unrelated streams.
constexpr std::uint64_t vu_seed(std::uint64_t run_seed, std::uint64_t global_index) {
  std::uint64_t z = run_seed + (global_index + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

struct VirtualUser {
  VirtualUser(std::uint64_t run_seed, std::uint64_t global_index)
      : index(global_index), rng(vu_seed(run_seed, global_index)) {}
  std::uint64_t index;  // 0-based across all loops (and processes)
  io::Timer timer;
  Rng rng;
  std::vector<std::string> vars;
  std::vector<int> unique_rows;                          // per feed, -1 until taken
  std::vector<std::unique_ptr<Connection>> connections;  // per origin
  CookieJar jar;
  ResponseParser parser;
  std::string request;  // the rendered request
  std::string body;
  ReadBuffer response;
  TimePoint deadline = kNoDeadline;
  Connection* deadline_connection = nullptr;
  bool timed_out = false;
  bool running = false;
  bool dead = false;       // its data feed ran out: it stops
  bool exhausted = false;  // an iteration-based executor has no more iterations for it
  bool pacing_wait = false;
  bool debugging = false;  // --http-debug prints this iteration's exchanges
  std::uint64_t iteration = 0;
  // The interpreter's state within an iteration (reused, so no allocation once grown).
  struct OpenGroup {
    int group = -1;
    TimePoint start{};
    JtlTransaction transaction;
  };
  struct OpenLoop {
    std::int64_t done = 0;
    std::int64_t limit = 0;
  };
  std::vector<OpenGroup> groups;
  std::vector<OpenLoop> loops;
  std::string scratch_left;  // rendered condition operands, loop counts
  std::string scratch_right;
  TimePoint intended{};
  SteadyClock::duration lag{};
};

// A loop's metrics with one writer, the loop's thread: it records into `recording` without a
// lock, and when the aggregator asks for a new interval (requested > published) it swaps
// `recording` with the emptied `handoff` and publishes. The aggregator reads `handoff` only once
// published == requested, and asks again only after it has emptied it (shared nothing, as
// Seastar's per-core metrics).
struct LoopMetrics {
  LoopMetrics(std::size_t steps, std::size_t journeys, std::size_t groups, std::size_t checks)
      : recording(steps, journeys, groups, checks), handoff(steps, journeys, groups, checks) {}
  MetricSet recording;
  MetricSet handoff;
  std::atomic<std::uint64_t> requested{0};
  std::atomic<std::uint64_t> published{0};
  void publish_if_requested() {
    const auto wanted = requested.load(std::memory_order_acquire);
    if (wanted != published.load(std::memory_order_relaxed)) {
      std::swap(recording, handoff);
      published.store(wanted, std::memory_order_release);
    }
  }
};

struct Engine;

struct EventLoop {
  EventLoop(Engine& owner, int loop_index, const Plan& plan)
      : engine(owner),
        index(loop_index),
        metrics(plan.step_names.size(), plan.journeys.size(), plan.groups.size(),
                plan.check_names.size()) {}
  Engine& engine;
  int index;  // among all loops of the run (every process's)
  io::Loop io;
  io::Timer control_timer;
  io::Timer sweep_timer;
  io::Timer arrival_timer;
  LoopMetrics metrics;
  std::string jtl_rows;
  std::vector<std::unique_ptr<VirtualUser>> vus;
  std::vector<VirtualUser*> free_vus;
  std::size_t max_vus_here = 0;
  int running = 0;
  int target = 0;
  bool stopping = false;
  bool aborted = false;
  bool done = false;
  std::atomic<bool> finished{false};  // its thread no longer touches `metrics`
  std::vector<bool> check_passed;
  std::string missing_capture;
};

struct Engine {
  Engine(const Plan& run_plan, const RunOptions& run_options)
      : plan(run_plan), options(run_options), feeds(run_plan) {}
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine() { loops.clear(); }  // connections before the endpoints' TLS context

  const Plan& plan;
  const RunOptions& options;
  std::unique_ptr<Endpoints> endpoints;
  ArrivalSchedule arrivals;
  VuSchedule vu_schedule;
  TimePoint start{};
  TimePoint end{};
  TimePoint hard_deadline{};
  int loop_count = 1;  // event loops in the whole run, across processes
  int source_addresses = 1;
  std::vector<double> cumulative_weights;  // over `pickable`
  std::vector<std::size_t> pickable;       // journeys chosen by weight (not setup/teardown)
  int forced_journey = -1;                 // setup/teardown runs: every iteration is this journey
  std::atomic<std::int64_t> iterations_claimed{0};  // shared-iterations
  std::int64_t shared_budget = 0;           // this process's share of a shared-iterations total
  std::atomic<int> debugged_iterations{0};  // --http-debug
  std::mutex debug_mutex;                   // one exchange's lines together on stderr
  void print_exchange(const VirtualUser& vu, const Step& step, const Sample& sample);
  FeedDealer feeds;
  std::atomic<int> active_vus{0};
  std::atomic<int> allocated_vus{0};  // VUs created (new_vu), busy or idle
  std::atomic<int> peak_active{0};
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> hard_stop_requested{false};
  std::atomic<int> loops_done{0};
  std::vector<std::unique_ptr<EventLoop>> loops;
  JtlFile jtl;
  std::mutex notes_mutex;  // only on failure paths, once per step and kind
  std::vector<std::string> notes;
  std::set<std::string> noted;
  std::vector<std::string> final_vars;  // the variables of the last finished iteration (setup)

  // The first failure of a kind on a step, explained once (RunResult::notes).
  void note_once(const Step& step, FailureKind kind, const std::function<std::string()>& text);
  void note_once(const std::string& key, const std::function<std::string()>& text);

  // engine.cpp: the VU lifecycle.
  VirtualUser& new_vu(EventLoop& loop, std::uint64_t global_index);
  void run_loop(EventLoop& loop);

 private:
  void vu_started();
  const Journey& pick_journey(VirtualUser& vu);
  SteadyClock::duration think_time(VirtualUser& vu, const ThinkTime& think);
  io::Task<void> iteration(EventLoop& loop, VirtualUser& vu);
  bool claim_iteration(VirtualUser& vu);
  void close_group(EventLoop& loop, VirtualUser& vu, const Journey& journey, TimePoint now);
  io::Task<void> vu_loop(EventLoop& loop, VirtualUser& vu);
  io::Task<void> arrival_iteration(EventLoop& loop, VirtualUser& vu);
  io::Task<void> arrival_loop(EventLoop& loop);
  void hard_stop(EventLoop& loop);
  void note_capture_failure(const VirtualUser& vu, const Step& step, const std::string& capture);
  io::Task<void> sweep(EventLoop& loop);
  io::Task<void> control(EventLoop& loop);
  void record(EventLoop& loop, VirtualUser& vu, const Journey& journey, const Step& step,
              const Sample& sample);

  // exchange.cpp: one request and its response.
  io::Task<void> exchange(EventLoop& loop, VirtualUser& vu, const Step& step, Sample& sample);
  io::Task<void> connect(EventLoop& loop, VirtualUser& vu, Connection& connection, int origin,
                         Sample& sample);
  static void arm(VirtualUser& vu, Connection& connection, TimePoint now,
                  SteadyClock::duration timeout);
  static void disarm(VirtualUser& vu);
};

}  // namespace crest::load
