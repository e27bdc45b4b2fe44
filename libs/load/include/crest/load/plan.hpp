#pragma once
// A load plan: target, data feeds, weighted journeys of steps, the load model and thresholds.
// Parsed from YAML (docs/load.md) and validated completely before anything is sent; every error
// names the file, line and column and what was expected.
#include <chrono>
#include <cstdint>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/load/condition.hpp"
#include "crest/load/template.hpp"
#include "crest/load/threshold.hpp"

namespace crest::load {

using Duration = std::chrono::nanoseconds;

// "$.a.b[0].c": object keys and array indices; "[*]" is every element of an array.
struct JsonPath {
  static constexpr std::size_t kEveryIndex = static_cast<std::size_t>(-1);  // "[*]"
  std::string text;
  std::vector<std::variant<std::string, std::size_t>> parts;
  static Result<JsonPath> parse(std::string_view text);
};

struct Capture {
  enum class Kind : std::uint8_t { json, regex, header, cookie };
  Kind kind = Kind::json;
  std::string name;
  int slot = -1;
  std::string source;  // the path, pattern, header or cookie name as written
  JsonPath path;
  std::regex pattern;
  int group = 1;
  // Which match when there are several ("[*]" paths, a regex matching more than once): 1-based,
  // or 0 for one at random (JMeter's match number 0).
  int match = 1;
  bool has_default = false;  // nothing found: store default_value, and the sample does not fail
  std::string default_value;
  // `record: true`: each value it takes on a passed request is kept for the run's output
  // (RunResult::recorded). Index into Plan::recorded, or -1.
  int recorded = -1;
};

struct Check {
  enum class Kind : std::uint8_t {
    status_in,
    body_contains,
    body_matches,    // a regex searched in the body
    header_equals,   // header `text` equals `expected`
    header_matches,  // header `text` matches `pattern`
    json,            // the value at `path` compared by `op` with `expected_json`
    latency_below
  };
  enum class Op : std::uint8_t { eq, ne, lt, le, gt, ge, exists, not_exists };
  Kind kind = Kind::status_in;
  std::string name;  // "<step>: status in [200]", or the check's own `name:`: its summary label
  int id = -1;       // index into Plan::check_names
  std::vector<int> statuses;
  std::string text;      // body_contains text; header name
  std::string expected;  // header_equals value
  std::regex pattern;    // body_matches, header_matches
  JsonPath path;
  Op op = Op::eq;
  std::string expected_json;  // compact JSON of the expected value (json)
  Duration limit{};
};

struct ThinkTime {
  enum class Kind : std::uint8_t { none, constant, uniform, normal };
  Kind kind = Kind::none;
  Duration a{};  // constant value, uniform low, normal mean
  Duration b{};  // uniform high, normal standard deviation
};

struct Origin {
  bool tls = false;
  std::string host;
  std::uint16_t port = 80;
  std::string host_header;  // "host[:port]" as sent
};

struct Step {
  std::string name;         // the metric label; defaults to "METHOD path-template"
  int metric = -1;          // index into Plan::step_names (steps of the same name share a series)
  int group = -1;           // index into Plan::groups of the innermost transaction, or -1
  std::vector<int> groups;  // every enclosing transaction, outermost first
  std::vector<std::pair<std::string, std::string>> tags;  // `tags:`; thresholds filter on them
  Duration timeout{};  // this step's request timeout; zero: the plan's
  std::string method;
  int origin = 0;
  Template target;  // path and query
  std::vector<std::pair<std::string, Template>> headers;
  bool has_body = false;
  Template body;
  std::string content_type;
  std::vector<Capture> captures;
  std::vector<Check> checks;
  ThinkTime think;
  bool needs_body = false;     // a capture or check reads the body
  bool records = false;        // a capture has `record: true`
  bool checks_status = false;  // a status check decides success; otherwise >= 400 is a failure
};

// A journey's steps and blocks (if, loop, transaction) as a flat program the engine runs with a
// program counter: no recursion, no allocation per block.
struct Instruction {
  enum class Kind : std::uint8_t {
    request,      // steps[step]
    jump_unless,  // to `target` unless conditions[condition] holds (if:)
    jump,         // to `target` (the end of an if's then-branch, over its else)
    loop_begin,   // push a loop: `count` times, or while conditions[condition] (bounded by
                  // `bound`); zero rounds jump to `target` (after the loop's loop_next)
    loop_next,    // another round: back to `target` (the instruction after loop_begin), or pop
    group_begin,  // a transaction starts: groups[group]
    group_end,
  };
  Kind kind = Kind::request;
  int step = -1;
  int condition = -1;
  int target = -1;
  int group = -1;
  Template count;  // loop_begin with a count (a number or a template rendering to one)
  int bound = 0;   // loop_begin with `while`: the most rounds
};

struct Journey {
  std::string name;
  double weight = 1;
  std::vector<Step> steps;  // the requests, in plan order
  std::vector<Instruction> program;
  std::vector<Condition> conditions;
};

struct Group {  // a transaction (`transaction:` or `group:`)
  std::string name;
};

struct Feed {
  enum class Mode : std::uint8_t { sequential, random, unique };
  std::string name;
  Mode mode = Mode::sequential;
  bool recycle = false;  // unique feed exhausted: start over (true) or fail the virtual user
  std::vector<std::string> columns;
  std::vector<int> slots;  // slot of "name.column" per column
  std::vector<std::vector<std::string>> rows;
};

struct Stage {
  Duration duration{};
  double target = 0;
};

enum class Executor : std::uint8_t {
  constant_vus,
  ramping_vus,
  constant_arrival_rate,
  ramping_arrival_rate,
  per_vu_iterations,  // each of `vus` VUs runs `iterations` iterations (within max_duration)
  shared_iterations,  // `vus` VUs share `iterations` iterations (within max_duration)
};
const char* to_string(Executor e);

struct LoadSpec {
  Executor executor = Executor::constant_vus;
  int vus = 1;
  Duration duration = std::chrono::seconds(10);
  int start_vus = 0;
  std::vector<Stage> stages;
  double rate = 0;  // arrivals per time_unit
  Duration time_unit = std::chrono::seconds(1);
  double start_rate = 0;
  int pre_allocated_vus = 0;
  int max_vus = 0;
  Duration pacing{};  // minimum iteration duration (closed models)
  Duration graceful_stop = std::chrono::seconds(30);
  int threads = 0;              // event loops; 0 = one per core
  int source_addresses = 0;     // loopback source addresses to spread over; 0 = automatic
  int processes = 0;            // processes to split the run over (crest run --processes); 0 = one
  std::int64_t iterations = 0;  // per-vu-iterations (per VU), shared-iterations (in total)

  // Open model (arrival-rate executors): iterations start on a schedule, whatever the VUs do.
  bool is_open_model() const {
    return executor == Executor::constant_arrival_rate ||
           executor == Executor::ramping_arrival_rate;
  }
  bool is_iteration_based() const {
    return executor == Executor::per_vu_iterations || executor == Executor::shared_iterations;
  }
  Duration total_duration() const;  // duration (max_duration), or the sum of the stages
  int peak_vus() const;             // the most virtual users this model can use
};

// One population of a run (`scenarios:`; `load:` is the one scenario named `default`): its own
// executor, journeys and weights, start time, tags and environment. Every scenario of a plan runs
// at once in the same event loops.
struct Scenario {
  std::string name;
  LoadSpec load;
  Duration start_time{};  // from the start of the run
  // The journeys it picks from (indexes into Plan::journeys) and their weights.
  std::vector<std::pair<std::size_t, double>> journeys;
  std::vector<std::pair<std::string, std::string>> tags;  // on every sample of the scenario
  // `env:`: {{ env.NAME }} reads these inside the scenario (variable slot, value).
  std::vector<std::pair<int, std::string>> env;
  // Its VUs' global indexes start here (the sum of the earlier scenarios' peak VUs), so VU
  // numbers and random streams are distinct across scenarios.
  std::uint64_t first_vu = 0;
  Duration end() const { return start_time + load.total_duration(); }
};

struct Plan {
  std::string file;
  Origin target;
  std::vector<Origin> origins;  // [0] is the target
  std::vector<std::pair<std::string, Template>> headers;
  Duration connect_timeout = std::chrono::seconds(5);
  Duration request_timeout = std::chrono::seconds(30);
  bool tls_insecure = false;
  bool cookies = true;
  VarTable vars;
  std::vector<std::string> initial_values;  // per slot
  std::vector<Feed> feeds;
  std::vector<Journey> journeys;
  std::vector<Group> groups;
  std::vector<std::string> step_names;   // metric series, by Step::metric
  std::vector<std::string> check_names;  // by Check::id
  // Captures with `record: true`, one per step name and capture name (steps of the same name
  // share one list, as they share a series). By Capture::recorded.
  struct RecordedCapture {
    std::string step;
    std::string capture;
  };
  std::vector<RecordedCapture> recorded;
  // `load:` as written, or the first scenario's; run-wide keys (threads, source_addresses,
  // processes) are read here. The engine runs `scenarios` (always at least one).
  LoadSpec load;
  std::vector<Scenario> scenarios;
  std::vector<Threshold> thresholds;
  // setup: and teardown: run once, by one VU, before and after the load (within their timeout);
  // the values setup captures start every VU's variables. Index into `journeys`, or -1: they are
  // journeys (their steps have series and checks like any other) with weight 0.
  int setup = -1;
  int teardown = -1;
  Duration setup_timeout = std::chrono::seconds(60);
  Duration teardown_timeout = std::chrono::seconds(60);
  // {{ env.NAME }}: its variable slot and NAME (the value, from -e or the environment, is in
  // initial_values).
  std::vector<std::pair<int, std::string>> env_slots;

  int peak_vus() const;                             // every scenario's peak VUs, summed
  Duration total_duration() const;                  // until the last scenario ends
  int scenario_index(std::string_view name) const;  // -1 when none has that name
};

struct PlanOverrides {
  std::optional<int> vus;
  std::optional<double> rate;
  std::optional<Duration> duration;
  std::optional<std::string> target;
  std::optional<int> threads;
  std::optional<int> processes;
  std::optional<std::int64_t> iterations;  // --iterations
  std::vector<std::pair<std::string, std::string>> vars;
};

// Parses a plan file; errors read "file:line:column: message".
Result<Plan> load_plan(const std::string& path, const PlanOverrides& overrides = {});
Result<Plan> parse_plan(const std::string& yaml_text, const std::string& file_name,
                        const PlanOverrides& overrides = {}, const std::string& base_dir = ".");

// "250ms", "1.5s", "2m", "1h", "300us"; a bare number is milliseconds when allowed.
Result<Duration> parse_duration(std::string_view text, bool bare_is_ms = false);
Result<Origin> parse_origin(std::string_view url, std::string* path_out = nullptr);

}  // namespace crest::load
