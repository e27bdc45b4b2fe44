// crest run --processes: the report frames, and whole runs split over real child processes (the
// crest binary, CREST_BINARY) against the in-process test target.
#include "crest/load/process_run.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>

#include "crest/load/outputs.hpp"
#include "load_target.hpp"

namespace crest::load {
namespace {

using crest::testing::LoadTarget;
using ::testing::HasSubstr;

std::string write_file(const std::string& name, const std::string& text) {
  const auto path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Plan load(const std::string& path) {
  auto p = load_plan(path);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return p.ok() ? std::move(p.value()) : Plan{};
}

ProcessRunOptions split(const std::string& plan_path, int processes) {
  ProcessRunOptions o;
  o.processes = processes;
  o.executable = CREST_BINARY;
  o.child_args = {"run", plan_path, "-q", "--threads", "1"};
  return o;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

TEST(ProcessFrames, TickAndResultRoundTrip) {
  ShardFrame tick;
  tick.elapsed_s = 2.000123;
  tick.total_s = 30;
  tick.active_vus = 25000;
  tick.final = true;
  tick.totals = MetricSet(2, 1, 0, 1);
  tick.totals.steps[1].duration.record_us(1234, 10);
  tick.totals.steps[1].requests = 10;
  TimelinePoint p;
  p.t = 2.000123;
  p.requests = 10;
  p.step_requests = {0, 10};
  p.step_failures = {0, 0};
  p.step_histograms = {LatencyHistogram().serialise(), tick.totals.steps[1].duration.serialise()};
  tick.last = p;
  ShardFrame result;
  result.kind = ShardFrame::Kind::result;
  result.elapsed_s = 2.5;
  result.peak_vus = 25000;
  result.threads = 2;
  result.source_addresses = 6;
  result.aborted = true;
  result.error = "cannot resolve nowhere.test: Host not found\n(twice)";
  result.recorded = {{"checkout", "order_id", {"17", "", "a:b 12\n"}, 4},
                     {"login", "token", {}, 0}};

  const std::string stream = encode_shard_frame(tick) + encode_shard_frame(result);
  std::string_view view(stream);
  ShardFrame a;
  ShardFrame b;
  ASSERT_EQ(decode_shard_frame(view, a), FrameStatus::complete);
  ASSERT_EQ(decode_shard_frame(view, b), FrameStatus::complete);
  EXPECT_TRUE(view.empty());
  EXPECT_EQ(a.kind, ShardFrame::Kind::tick);
  EXPECT_EQ(a.elapsed_s, tick.elapsed_s);
  EXPECT_EQ(a.active_vus, 25000);
  EXPECT_TRUE(a.final);
  EXPECT_EQ(a.totals, tick.totals);
  ASSERT_TRUE(a.last.has_value());
  EXPECT_EQ(*a.last, p);
  EXPECT_EQ(b.kind, ShardFrame::Kind::result);
  EXPECT_EQ(b.peak_vus, 25000);
  EXPECT_EQ(b.threads, 2);
  EXPECT_EQ(b.source_addresses, 6);
  EXPECT_TRUE(b.aborted);
  EXPECT_EQ(b.error, result.error);
  EXPECT_EQ(b.recorded, result.recorded);
}

TEST(ProcessFrames, PartialFramesWaitAndGarbageIsMalformed) {
  ShardFrame tick;
  tick.totals = MetricSet(1, 1, 1, 1);
  const auto bytes = encode_shard_frame(tick);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    std::string_view view(bytes.data(), n);
    ShardFrame f;
    EXPECT_EQ(decode_shard_frame(view, f), FrameStatus::incomplete) << n;
    EXPECT_EQ(view.size(), n);  // nothing consumed
  }
  auto frame_of = [](const std::string& payload) {
    std::string out(4, '\0');
    for (int i = 0; i < 4; ++i) {
      out[static_cast<std::size_t>(i)] = static_cast<char>((payload.size() >> (8 * i)) & 0xff);
    }
    return out + payload;
  };
  for (const std::string payload :
       {"", "hello", "tick 1 2 3 0 0 0\n", "tick 1 2 3 2 0 0\n", "result 1 1 1 1 0 5\nabc",
        "result 1 1 1 1 0\n", "tick 1 2 3 0 0 5\nms1 0", "tick x 2 3 0 0 0\n",
        // recorded values: fewer entries or values than announced, a bad count, bytes after them
        "result 1 1 1 1 0 0 1\n", "result 1 1 1 1 0 0 1\n1:s1:c1:01:2",
        "result 1 1 1 1 0 0 1\n1:s1:c1:01:x", "result 1 1 1 1 0 0 1\n1:s1:c1:01:11:v1:w",
        "result 1 1 1 1 0 0 0\n1:s", "result 1 1 1 1 0 0 1\n1:s1:c1:02:99999"}) {
    const auto framed = frame_of(payload);
    std::string_view view(framed);
    ShardFrame f;
    EXPECT_EQ(decode_shard_frame(view, f), FrameStatus::malformed) << payload;
  }
  std::string huge(4, '\xff');  // a length past kMaxShardFrameBytes
  std::string_view view(huge);
  ShardFrame f;
  EXPECT_EQ(decode_shard_frame(view, f), FrameStatus::malformed);
}

// Needs the engine's shard support (RunOptions::shard_index/shard_count): without it each child
// runs the whole schedule and every row is sent twice.
TEST(ProcessRun, ArrivalRateIsSplitWithoutDuplicates) {
  LoadTarget target({});
  std::string rows = "id\n";
  for (int i = 0; i < 200; ++i) {
    rows += std::to_string(1000 + i) + "\n";
  }
  write_file("split_rows.csv", rows);
  const auto path = write_file("split_rate.yaml", "target: " + target.url() + R"(
data:
  rows: {file: split_rows.csv, mode: sequential}
journeys: [{steps: [{name: row, request: {path: "/api/products/{{ rows.id }}"}, check: {status: 200}}]}]
load: {executor: constant-arrival-rate, rate: 100, duration: 2s, pre_allocated_vus: 4, max_vus: 20}
)");
  const auto plan = load(path);
  int ticks = 0;
  bool saw_final = false;
  auto o = split(path, 2);
  o.on_tick = [&](const Progress& p, bool final) {
    ++ticks;
    saw_final = saw_final || final;
    EXPECT_NE(p.totals, nullptr);
    EXPECT_NE(p.last, nullptr);
  };
  const auto r = run_processes(plan, o);
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.processes, 2);
  EXPECT_EQ(r.threads, 2);
  EXPECT_GE(r.totals.iterations(), 198u);  // 200 due; each process's last may be cut at the end
  EXPECT_LE(r.totals.iterations(), 200u);
  EXPECT_EQ(r.totals.failures(), 0u);
  EXPECT_EQ(r.totals.dropped, 0u);
  EXPECT_EQ(target.requests(), r.totals.requests());  // merged totals: every request once
  std::uint64_t seen = 0;
  for (int i = 0; i < 200; ++i) {
    const auto n = target.count("/api/products/" + std::to_string(1000 + i));
    EXPECT_LE(n, 1u) << "row " << i << " sent " << n << " times";
    seen += n;
  }
  EXPECT_EQ(seen, r.totals.requests());
  // The merged timeline adds up to the totals, second by second.
  std::uint64_t in_timeline = 0;
  for (const auto& point : r.timeline) {
    in_timeline += point.requests;
  }
  EXPECT_EQ(in_timeline, r.totals.requests());
  EXPECT_GE(r.timeline.size(), 2u);
  EXPECT_EQ(static_cast<std::size_t>(ticks), r.timeline.size());
  EXPECT_TRUE(saw_final);
  EXPECT_GT(r.max_rss_kib, 0u);
}

// The values of a `record: true` capture come back from every process: each request's once.
TEST(ProcessRun, RecordedValuesOfEveryProcessAreMerged) {
  LoadTarget target({});
  std::string rows = "id\n";
  for (int i = 0; i < 60; ++i) {
    rows += std::to_string(2000 + i) + "\n";
  }
  write_file("recorded_rows.csv", rows);
  const auto path = write_file("recorded_split.yaml", "target: " + target.url() + R"(
data:
  rows: {file: recorded_rows.csv, mode: sequential}
journeys:
  - steps:
      - name: row
        request: {path: "/api/products/{{ rows.id }}"}
        capture: [{name: product, json: $.id, record: true}]
load: {executor: shared-iterations, vus: 4, iterations: 60, max_duration: 10s}
)");
  const auto plan = load(path);
  const auto r = run_processes(plan, split(path, 2));
  ASSERT_TRUE(r.error.empty()) << r.error;
  ASSERT_EQ(r.recorded.size(), 1u);
  EXPECT_EQ(r.recorded[0].step, "row");
  EXPECT_EQ(r.recorded[0].capture, "product");
  EXPECT_EQ(r.recorded[0].not_kept, 0u);
  auto values = r.recorded[0].values;
  EXPECT_EQ(values.size(), r.totals.requests());
  std::sort(values.begin(), values.end());
  EXPECT_EQ(std::unique(values.begin(), values.end()), values.end());
  for (const auto& v : values) {
    EXPECT_EQ(target.count("/api/products/" + v), 1u) << v;
  }
}

// Needs the engine's shard support: VU indexes and unique rows must be disjoint across processes.
TEST(ProcessRun, UniqueRowsAndVusAreDisjointAcrossProcesses) {
  LoadTarget target({});
  write_file("split_users.csv", "id\n7001\n7002\n7003\n7004\n");
  const auto path = write_file("split_unique.yaml", "target: " + target.url() + R"(
data:
  users: {file: split_users.csv, mode: unique, on_exhausted: error}
journeys: [{steps: [{request: {path: "/api/products/{{ users.id }}"}, think: 20ms}]}]
load: {executor: constant-vus, vus: 4, duration: 500ms}
)");
  const auto r = run_processes(load(path), split(path, 2));
  ASSERT_TRUE(r.error.empty()) << r.error;
  EXPECT_EQ(r.peak_vus, 4);
  EXPECT_EQ(target.connections(), 4u);  // one per VU: 2 + 2, not 4 + 4
  for (int id = 7001; id <= 7004; ++id) {
    EXPECT_GT(target.count("/api/products/" + std::to_string(id)), 0u) << id;
  }
  EXPECT_EQ(r.totals.failures(), 0u);
  EXPECT_EQ(target.requests(), r.totals.requests());
}

TEST(ProcessRun, KilledChildFailsTheRunWithoutHanging) {
  LoadTarget target({});
  const auto path = write_file("split_kill.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}, think: 10ms}]}]
load: {executor: constant-vus, vus: 4, duration: 30s}
)");
  std::vector<pid_t> pids;
  auto o = split(path, 2);
  o.on_started = [&](const std::vector<pid_t>& started) { pids = started; };
  o.on_tick = [&](const Progress&, bool) {
    if (!pids.empty()) {
      ::kill(pids[1], SIGKILL);
    }
  };
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_processes(load(path), o);
  EXPECT_LT(seconds_since(start), 10.0);
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_THAT(r.error,
              HasSubstr("shard 1/2 (pid " + std::to_string(pids[1]) + "): was killed by signal 9"));
  // Both children are gone and reaped: no zombie, nothing left running.
  for (const auto pid : pids) {
    EXPECT_EQ(::kill(pid, 0), -1);
    EXPECT_EQ(errno, ESRCH);
  }
}

// A stand-in child (a shell script) exercises the parent's failure paths without crest. bash, not
// sh: the report descriptor can be 10 or more, and dash's `>&N` takes one digit only.
std::string fake_child(const std::string& name, const std::string& body) {
  const auto path = write_file(
      name, "#!/bin/bash\nwhile [ $# -gt 0 ]; do [ \"$1\" = --report-fd ] && fd=$2; shift; done\n" +
                body);
  ::chmod(path.c_str(), 0755);
  return path;
}

TEST(ProcessRun, MalformedReportStopsEveryChild) {
  LoadTarget target({});
  const auto path = write_file("split_fake.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 2, duration: 1s}
)");
  auto o = split(path, 2);
  o.executable = fake_child("garbage_child.sh",
                            "eval \"printf '\\005\\000\\000\\000hello' >&$fd\"\nexec sleep 30\n");
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_processes(load(path), o);
  EXPECT_LT(seconds_since(start), 10.0);
  EXPECT_THAT(r.error, HasSubstr("sent a malformed report"));
  EXPECT_THAT(r.error, ::testing::MatchesRegex("shard [01]/2 \\(pid [0-9]+\\): .*"));
}

TEST(ProcessRun, SilentOrMissingChildFails) {
  LoadTarget target({});
  const auto path = write_file("split_fake2.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 2, duration: 1s}
)");
  auto o = split(path, 2);
  o.executable = fake_child("silent_child.sh", "exec sleep 30\n");
  o.silence_timeout_s = 0.5;
  auto start = std::chrono::steady_clock::now();
  auto r = run_processes(load(path), o);
  EXPECT_LT(seconds_since(start), 10.0);
  EXPECT_THAT(r.error, HasSubstr("sent nothing for"));

  o.executable = fake_child("quiet_exit_child.sh", "exit 0\n");
  r = run_processes(load(path), o);
  EXPECT_THAT(r.error, HasSubstr("exited without reporting its result"));

  o.executable = ::testing::TempDir() + "/no-such-crest";
  start = std::chrono::steady_clock::now();
  r = run_processes(load(path), o);
  EXPECT_THAT(r.error, HasSubstr("exited with status 127 (could not run"));
  EXPECT_LT(seconds_since(start), 10.0);
}

// The whole command, as a user runs it: exit codes, outputs and the joined JTL file.
int crest_run(const std::string& args) {
  const int status = std::system((std::string(CREST_BINARY) + " run " + args).c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(ProcessRun, CrestRunWithProcessesWritesOneSetOfOutputs) {
  LoadTarget target({});
  const std::string dir = ::testing::TempDir();
  const std::string body = "target: " + target.url() + R"(
journeys: [{steps: [{name: hello, request: {path: /hello}, check: {status: 200}}]}]
load: {executor: constant-vus, vus: 4, duration: 1s}
)";
  const auto ok =
      write_file("cli_ok.yaml", body + "thresholds:\n  http_req_failed: ['rate < 0.5']\n");
  const auto breach =
      write_file("cli_breach.yaml", body + "thresholds:\n  http_reqs: ['count > 100000000']\n");
  const auto json = dir + "/cli_split.json";
  const auto jtl = dir + "/cli_split.jtl";
  const auto summary = dir + "/cli_split.txt";
  ASSERT_EQ(crest_run(ok + " --processes 2 -q --out json=" + json + " --out jtl=" + jtl + " > " +
                      summary),
            0);
  const auto requests = target.requests();
  EXPECT_GT(requests, 20u);
  EXPECT_THAT(read_file(summary), HasSubstr("on 2 processes"));
  const auto out = read_file(json);
  EXPECT_THAT(out, HasSubstr("\"processes\": 2"));
  EXPECT_THAT(out, HasSubstr("\"http_reqs\": " + std::to_string(requests) + ","));
  EXPECT_THAT(out, HasSubstr("\"process_max_rss_kib\": "));
  // One JTL: one header, one row per request, and no part files left behind.
  std::ifstream in(jtl);
  std::string line;
  std::uint64_t rows = 0;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, kJtlHeader);
  while (std::getline(in, line)) {
    EXPECT_NE(line, kJtlHeader);
    ++rows;
  }
  EXPECT_EQ(rows, requests);
  EXPECT_NE(::access((jtl + ".part-0").c_str(), F_OK), 0);
  EXPECT_NE(::access((jtl + ".part-1").c_str(), F_OK), 0);

  EXPECT_EQ(crest_run(breach + " --processes 2 -q > /dev/null"), 99);
  const auto before = target.requests();
  EXPECT_EQ(crest_run(ok + " --processes 0 -q 2> /dev/null"), 2);
  EXPECT_EQ(crest_run(ok + " --shard 3/2 --report-fd 1 -q 2> /dev/null"), 2);
  EXPECT_EQ(target.requests(), before);
  // The plan key does the same as the flag.
  const auto keyed = write_file("cli_keyed.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{name: hello, request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 2, duration: 300ms, processes: 2}
)");
  EXPECT_EQ(crest_run(keyed + " -q > " + summary), 0);
  EXPECT_THAT(read_file(summary), HasSubstr("on 2 processes"));
}

// Every option of the run that matters reaches the children: --iterations makes a constant-vus
// plan shared-iterations, and the processes share the one total.
TEST(ProcessRun, ChildrenAreGivenTheRunsIterations) {
  LoadTarget target({});
  const auto path = write_file("cli_iterations.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{name: hello, request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 4, duration: 5s}
)");
  const auto json = ::testing::TempDir() + "/cli_iterations.json";
  ASSERT_EQ(
      crest_run(path + " --processes 2 --iterations 9 -q --out json=" + json + " > /dev/null"), 0);
  EXPECT_EQ(target.count("/hello"), 9u);
  EXPECT_THAT(read_file(json), HasSubstr("\"http_reqs\": 9,"));
}

}  // namespace
}  // namespace crest::load
