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

struct LoopScenario;

struct VirtualUser {
  VirtualUser(std::uint64_t run_seed, std::uint64_t global_index, std::uint64_t index_in_scenario,
              int scenario_index, LoopScenario& loop_share)
      : index(global_index),
        number_in_scenario(index_in_scenario),
        scenario(scenario_index),
        share(&loop_share),
        rng(vu_seed(run_seed, global_index)) {}
  std::uint64_t index;               // 0-based across all scenarios, loops (and processes)
  std::uint64_t number_in_scenario;  // 0-based within its scenario: the schedule's VU number
  int scenario;                      // index into Plan::scenarios
  LoopScenario* share;               // its scenario's state on its loop
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
  explicit LoopMetrics(const MetricSet& empty) : recording(empty), handoff(empty) {}
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

// One scenario for the whole process: its schedule, time window and journey choice.
struct ScenarioRun {
  ScenarioRun(const Scenario& scenario_spec, int scenario_index)
      : spec(scenario_spec), index(scenario_index) {}
  const Scenario& spec;
  int index;
  ArrivalSchedule arrivals;
  VuSchedule vu_schedule;
  TimePoint start{};  // the run's start + start_time
  TimePoint end{};
  TimePoint hard_deadline{};                        // end + graceful_stop
  std::vector<double> cumulative_weights;           // over `pickable`
  std::vector<std::size_t> pickable;                // its journeys
  std::atomic<std::int64_t> iterations_claimed{0};  // shared-iterations
  std::int64_t shared_budget = 0;  // this process's share of a shared-iterations total
  int arrival_loops = 1;  // open model: arrivals are dealt over the loops 0..arrival_loops-1
};

// One scenario's share of one event loop: its VUs there and where it stands.
struct LoopScenario {
  io::Timer arrival_timer;
  std::vector<VirtualUser*> vus;  // owned by EventLoop::vus
  std::vector<VirtualUser*> free_vus;
  std::size_t max_vus_here = 0;
  int running = 0;  // its VU coroutines (and arrival coroutine) alive
  int target = 0;   // closed model: VUs (by number in the scenario) that should run now
  bool started = false;
  bool stopping = false;
  bool aborted = false;  // hard stop: its iterations are cut
  bool done = false;
};

struct EventLoop {
  EventLoop(Engine& owner, int loop_index, const Plan& plan)
      : engine(owner), index(loop_index), metrics(MetricSet::for_plan(plan)) {
    for (std::size_t i = 0; i < plan.scenarios.size(); ++i) {
      scenarios.push_back(std::make_unique<LoopScenario>());
    }
  }
  Engine& engine;
  int index;  // among all loops of the run (every process's)
  io::Loop io;
  io::Timer control_timer;
  io::Timer sweep_timer;
  LoopMetrics metrics;
  std::string jtl_rows;
  std::vector<std::unique_ptr<VirtualUser>> vus;
  std::vector<std::unique_ptr<LoopScenario>> scenarios;  // by Plan::scenarios
  int running = 0;                                       // coroutines of every scenario
  bool done = false;
  std::atomic<bool> finished{false};  // its thread no longer touches `metrics`
  std::vector<bool> check_passed;
  std::string missing_capture;
  // `record: true` captures' values taken on this loop (by Plan::recorded), without a lock: read
  // once the loop's thread is joined. At most record_limit each; the rest only counted.
  std::vector<RecordedValues> recorded;
  std::size_t record_limit = 0;
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
  std::vector<std::unique_ptr<ScenarioRun>> scenarios;  // by Plan::scenarios
  TimePoint start{};
  TimePoint hard_deadline{};  // the last scenario's
  int loop_count = 1;         // event loops in the whole run, across processes
  int source_addresses = 1;
  int forced_journey = -1;                  // setup/teardown runs: every iteration is this journey
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

  // engine.cpp: the VU lifecycle. `number` is the VU's 0-based number within its scenario.
  VirtualUser& new_vu(EventLoop& loop, int scenario, std::uint64_t number);
  void run_loop(EventLoop& loop);

 private:
  void vu_started();
  const Journey& pick_journey(VirtualUser& vu);
  void control_scenario(EventLoop& loop, ScenarioRun& scenario, LoopScenario& share, TimePoint now);
  SteadyClock::duration think_time(VirtualUser& vu, const ThinkTime& think);
  io::Task<void> iteration(EventLoop& loop, VirtualUser& vu);
  bool claim_iteration(VirtualUser& vu);
  void close_group(EventLoop& loop, VirtualUser& vu, const Journey& journey, TimePoint now);
  io::Task<void> vu_loop(EventLoop& loop, VirtualUser& vu);
  io::Task<void> arrival_iteration(EventLoop& loop, VirtualUser& vu);
  io::Task<void> arrival_loop(EventLoop& loop, ScenarioRun& scenario, LoopScenario& share);
  void hard_stop(EventLoop& loop, LoopScenario& share);
  void note_capture_failure(const VirtualUser& vu, const Step& step, const std::string& capture);
  io::Task<void> sweep(EventLoop& loop);
  io::Task<void> control(EventLoop& loop);
  void record(EventLoop& loop, VirtualUser& vu, const Journey& journey, const Step& step,
              const Sample& sample);
  static void keep_recorded(EventLoop& loop, const VirtualUser& vu, const Step& step);
  std::string_view thread_group(const VirtualUser& vu) const;  // JTL threadName

  // exchange.cpp: one request and its response.
  io::Task<void> exchange(EventLoop& loop, VirtualUser& vu, const Step& step, Sample& sample);
  io::Task<void> connect(EventLoop& loop, VirtualUser& vu, Connection& connection, int origin,
                         Sample& sample);
  static void arm(VirtualUser& vu, Connection& connection, TimePoint now,
                  SteadyClock::duration timeout);
  static void disarm(VirtualUser& vu);
};

}  // namespace crest::load
