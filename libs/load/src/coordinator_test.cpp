// crest run --coordinator and crest worker: the control frames, and whole runs with the
// coordinator and its workers as separate crest processes on loopback (CREST_BINARY) against the
// in-process test target.
#include "crest/load/coordinator.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "crest/load/wire.hpp"
#include "load_target.hpp"

namespace crest::load {
namespace {

using crest::testing::LoadTarget;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr const char* kToken = "coordinator-test-token-0123456789";

std::string dir() {
  return ::testing::TempDir();
}

std::string write_file(const std::string& name, const std::string& text) {
  const auto path = dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A crest process started through the shell (for redirections), stopped by its pid.
class Crest {
 public:
  Crest(const std::string& args, const std::string& name) : out_(dir() + "/" + name) {
    // A previous run's output must not answer err_says() before this process writes its own.
    std::remove((out_ + ".out").c_str());
    std::remove((out_ + ".err").c_str());
    const std::string cmd = std::string("exec ") + CREST_BINARY + " " + args + " > " + out_ +
                            ".out 2> " + out_ + ".err";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), nullptr);
      ::_exit(127);
    }
  }
  ~Crest() {
    if (!reaped_) {
      ::kill(pid_, SIGKILL);
      wait(10);
    }
  }
  pid_t pid() const { return pid_; }
  // The exit code, or -1 (and the process killed) when it is not done within timeout_s.
  int wait(double timeout_s) {
    const auto until = Clock::now() + std::chrono::duration<double>(timeout_s);
    while (!reaped_) {
      const pid_t got = ::waitpid(pid_, &status_, WNOHANG);
      if (got == pid_) {
        reaped_ = true;
        break;
      }
      if (Clock::now() > until) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        reaped_ = true;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }
  std::string out() const { return read_file(out_ + ".out"); }
  std::string err() const { return read_file(out_ + ".err"); }
  // Waits until standard error holds `text` (bounded).
  bool err_says(const std::string& text, double timeout_s = 10) const {
    const auto until = Clock::now() + std::chrono::duration<double>(timeout_s);
    while (Clock::now() < until) {
      if (err().find(text) != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  std::string out_;
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

std::string worker_args(int port, const std::string& name, const std::string& token = kToken) {
  return "worker --coordinator 127.0.0.1:" + std::to_string(port) + " --name " + name +
         " --token " + token + " --connect-timeout 10s";
}

std::string coordinator_args(const std::string& plan, int port, int workers,
                             const std::string& extra = "") {
  return "run " + plan + " -q --coordinator 127.0.0.1:" + std::to_string(port) + " --workers " +
         std::to_string(workers) + " --token " + kToken + " --wait-workers 20s " + extra;
}

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_file(path), nullptr, false);
}

TEST(ControlFrames, RoundTripAndGarbageIsMalformed) {
  ControlFrame shard;
  shard.kind = ControlFrame::Kind::shard;
  shard.shard_index = 2;
  shard.shard_count = 3;
  shard.start_unix_ms = 1790000000123;
  shard.plan_name = "plan.yaml";
  shard.plan_text = "target: x\n12:34 with: colons\n";
  shard.args = {"--vus", "10", "-e", "k=v w"};
  shard.files = {{"../data/users.csv", "id\n1\n"}, {"empty.csv", ""}};
  ControlFrame hello;
  hello.kind = ControlFrame::Kind::hello;
  hello.cores = 8;
  hello.worker = "pod-3 with spaces";
  hello.mac = worker_mac(kToken, "00ff", hello.worker);
  ControlFrame refuse;
  refuse.kind = ControlFrame::Kind::refuse;
  refuse.reason = "wrong token";
  const auto stream =
      encode_control_frame(shard) + encode_control_frame(hello) + encode_control_frame(refuse);
  std::string_view view(stream);
  ControlFrame a;
  ControlFrame b;
  ControlFrame c;
  ASSERT_EQ(decode_control_frame(view, a), FrameStatus::complete);
  ASSERT_EQ(decode_control_frame(view, b), FrameStatus::complete);
  ASSERT_EQ(decode_control_frame(view, c), FrameStatus::complete);
  EXPECT_TRUE(view.empty());
  EXPECT_EQ(a.shard_index, 2);
  EXPECT_EQ(a.shard_count, 3);
  EXPECT_EQ(a.start_unix_ms, shard.start_unix_ms);
  EXPECT_EQ(a.plan_text, shard.plan_text);
  EXPECT_EQ(a.args, shard.args);
  EXPECT_EQ(a.files, shard.files);
  EXPECT_EQ(b.worker, hello.worker);
  EXPECT_EQ(b.cores, 8);
  EXPECT_TRUE(same_mac(b.mac, worker_mac(kToken, "00ff", "pod-3 with spaces")));
  EXPECT_FALSE(same_mac(b.mac, worker_mac("another token", "00ff", "pod-3 with spaces")));
  EXPECT_FALSE(same_mac(b.mac, worker_mac(kToken, "00fe", "pod-3 with spaces")));
  EXPECT_EQ(c.reason, "wrong token");

  const auto whole = encode_control_frame(shard);
  for (std::size_t n = 0; n < whole.size(); ++n) {
    std::string_view part(whole.data(), n);
    ControlFrame f;
    EXPECT_EQ(decode_control_frame(part, f), FrameStatus::incomplete) << n;
  }
  auto frame_of = [](const std::string& payload) {
    std::string out(4, '\0');
    for (int i = 0; i < 4; ++i) {
      out[static_cast<std::size_t>(i)] = static_cast<char>((payload.size() >> (8 * i)) & 0xff);
    }
    return out + payload;
  };
  for (const std::string payload :
       {"", "stop", "stop\nx", "challenge XYZ\n", "hello 0 ab\n1:a", "hello 2 ab\n5:a",
        "shard 3 3 1 0 0\n1:p0:", "shard 0 1 1 9 0\n1:p0:", "shard 0 1 1 0 0\n1:p0:extra",
        "refuse\n", "tick 1 2 3 0 0 0\n"}) {
    const auto framed = frame_of(payload);
    std::string_view v(framed);
    ControlFrame f;
    EXPECT_EQ(decode_control_frame(v, f), FrameStatus::malformed) << payload;
  }
}

TEST(PlanDataFiles, ShipsRelativeFilesAndRefusesAbsoluteOnes) {
  write_file("dist_rows.csv", "id\n1\n");
  const auto ok = write_file("dist_files.yaml", R"(target: http://127.0.0.1:1
data:
  rows: {file: dist_rows.csv}
journeys: [{steps: [{request: {path: "/{{ rows.id }}"}}]}]
)");
  auto files = plan_data_files(ok);
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].first, "dist_rows.csv");
  EXPECT_EQ((*files)[0].second, "id\n1\n");
  const auto absolute = write_file("dist_abs.yaml", R"(target: http://127.0.0.1:1
data:
  rows: {file: /etc/hostname}
journeys: [{steps: [{request: {path: "/{{ rows.id }}"}}]}]
)");
  files = plan_data_files(absolute);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.error().message, HasSubstr("dist_abs.yaml:3: data.rows.file"));
  EXPECT_THAT(files.error().message, HasSubstr("relative to the plan"));
}

// Three workers: the merged totals are the sum of the workers' own, and each merged histogram is
// their bucket-by-bucket sum; the data file (../data/, beside the plan's folder) reaches them.
TEST(CoordinatedRun, MergedResultIsExactlyTheSumOfTheWorkers) {
  LoadTarget target({});
  ::mkdir((dir() + "/dist_merge").c_str(), 0755);
  ::mkdir((dir() + "/dist_merge/plans").c_str(), 0755);
  ::mkdir((dir() + "/dist_merge/data").c_str(), 0755);
  write_file("dist_merge/data/ids.csv", "id\n101\n102\n103\n");
  const auto plan = write_file("dist_merge/plans/merge.yaml", "target: " + target.url() + R"(
data:
  ids: {file: ../data/ids.csv, mode: sequential}
journeys: [{steps: [{name: product, request: {path: "/api/products/{{ ids.id }}"}, check: {status: 200}, think: 2ms}]}]
load: {executor: constant-vus, vus: 6, duration: 1500ms}
)");
  const int port = free_port();
  Crest coordinator(coordinator_args(plan, port, 3, "--out json=" + dir() + "/dist_merge.json"),
                    "dist_merge_c");
  std::vector<std::unique_ptr<Crest>> workers;
  for (int i = 0; i < 3; ++i) {
    const auto name = "merge-w" + std::to_string(i);
    workers.push_back(std::make_unique<Crest>(
        worker_args(port, name) + " --out json=" + dir() + "/" + name + ".json", name));
  }
  ASSERT_EQ(coordinator.wait(30), 0) << coordinator.err();
  std::uint64_t sum = 0;
  std::optional<LatencyHistogram> summed;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(workers[static_cast<std::size_t>(i)]->wait(10), 0)
        << workers[static_cast<std::size_t>(i)]->err();
    const auto own = read_json(dir() + "/merge-w" + std::to_string(i) + ".json");
    ASSERT_TRUE(own.is_object());
    const auto n = own["http_reqs"].get<std::uint64_t>();
    EXPECT_GT(n, 0u) << "worker " << i << " sent nothing";
    sum += n;
    auto h = LatencyHistogram::deserialise(
        own["steps"][0]["http_req_duration"]["histogram"].get<std::string>());
    ASSERT_TRUE(h.has_value());
    if (summed) {
      summed->merge(*h);
    } else {
      summed = std::move(h);
    }
  }
  const auto merged = read_json(dir() + "/dist_merge.json");
  ASSERT_TRUE(merged.is_object());
  EXPECT_EQ(merged["http_reqs"].get<std::uint64_t>(), sum);
  EXPECT_EQ(sum, target.requests());
  EXPECT_EQ(merged["http_req_failed"].get<std::uint64_t>(), 0u);  // every row was there
  EXPECT_EQ(merged["workers"], 3);
  EXPECT_EQ(merged["partial"], false);
  auto h = LatencyHistogram::deserialise(
      merged["steps"][0]["http_req_duration"]["histogram"].get<std::string>());
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(*h == *summed);
  std::uint64_t in_timeline = 0;
  for (const auto& point : merged["timeline"]) {
    in_timeline += point["requests"].get<std::uint64_t>();
  }
  EXPECT_EQ(in_timeline, sum);
  for (const char* id : {"101", "102", "103"}) {
    EXPECT_GT(target.count(std::string("/api/products/") + id), 0u) << id;
  }
  EXPECT_THAT(coordinator.out(), HasSubstr("on 3 worker(s)"));
}

// shared-iterations: the workers share one total, so the merged count is exact, not approximate.
TEST(CoordinatedRun, SharedIterationsAreExactAcrossWorkers) {
  LoadTarget target({});
  const auto plan = write_file("dist_shared.yaml", "target: " + target.url() + R"(
journeys:
  - steps:
      - name: checkout
        request: {method: POST, path: /api/checkout, headers: {Idempotency-Key: k}}
        capture: [{name: order, json: $.order_id, record: true}]
        check: {status: 202}
load: {executor: shared-iterations, vus: 6, iterations: 301, max_duration: 30s}
)");
  const int port = free_port();
  Crest coordinator(coordinator_args(plan, port, 3, "--out json=" + dir() + "/dist_shared.json"),
                    "dist_shared_c");
  std::vector<std::unique_ptr<Crest>> workers;
  for (int i = 0; i < 3; ++i) {
    const auto name = "shared-w" + std::to_string(i);
    workers.push_back(std::make_unique<Crest>(
        worker_args(port, name) + " --out json=" + dir() + "/" + name + ".json", name));
  }
  ASSERT_EQ(coordinator.wait(30), 0) << coordinator.err();
  std::uint64_t sum = 0;
  std::uint64_t recorded_sum = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(workers[static_cast<std::size_t>(i)]->wait(10), 0);
    const auto own = read_json(dir() + "/shared-w" + std::to_string(i) + ".json");
    sum += own["http_reqs"].get<std::uint64_t>();
    recorded_sum += own["recorded"]["checkout"]["order"]["count"].get<std::uint64_t>();
  }
  const auto merged = read_json(dir() + "/dist_shared.json");
  EXPECT_EQ(merged["http_reqs"].get<std::uint64_t>(), 301u);
  EXPECT_EQ(merged["iterations"].get<std::uint64_t>(), 301u);
  EXPECT_EQ(sum, 301u);
  EXPECT_EQ(target.requests(), 301u);
  // The recorded order ids of every worker, merged: each order the target issued, once.
  const auto orders = merged["recorded"]["checkout"]["order"]["values"];
  std::set<std::string> distinct;
  for (const auto& id : orders) distinct.insert(id.get<std::string>());
  EXPECT_EQ(orders.size(), 301u);
  EXPECT_EQ(distinct.size(), 301u);
  EXPECT_TRUE(distinct.contains("o-1") && distinct.contains("o-301"));
  EXPECT_EQ(recorded_sum, 301u);
}

// scenarios: every scenario is split over the workers; a shared-iterations scenario's total is
// exact across them, and a tag threshold on a scenario is evaluated on the merged totals.
TEST(CoordinatedRun, EveryScenarioIsSplitOverTheWorkers) {
  LoadTarget target({});
  const auto plan = write_file("dist_scenarios.yaml", "target: " + target.url() + R"(
journeys:
  - {name: a, steps: [{name: a, request: {path: /a}}]}
  - {name: b, steps: [{name: b, request: {path: /b}}]}
scenarios:
  pool: {executor: shared-iterations, vus: 4, iterations: 101, journeys: [a], tags: {kind: api}}
  each: {executor: per-vu-iterations, vus: 3, iterations: 5, start_time: 200ms, journeys: [b]}
thresholds:
  "http_reqs{kind:api}": ["count == 101"]
  "iterations{scenario:each}": ["count == 15"]
)");
  const int port = free_port();
  Crest coordinator(coordinator_args(plan, port, 2, "--out json=" + dir() + "/dist_scenarios.json"),
                    "dist_scenarios_c");
  std::vector<std::unique_ptr<Crest>> workers;
  for (int i = 0; i < 2; ++i) {
    const auto name = "scenario-w" + std::to_string(i);
    workers.push_back(std::make_unique<Crest>(worker_args(port, name), name));
  }
  ASSERT_EQ(coordinator.wait(30), 0) << coordinator.err() << coordinator.out();
  for (auto& worker : workers) {
    ASSERT_EQ(worker->wait(10), 0);
  }
  EXPECT_EQ(target.count("/a"), 101u);
  EXPECT_EQ(target.count("/b"), 15u);
  const auto merged = read_json(dir() + "/dist_scenarios.json");
  EXPECT_EQ(merged["scenarios"][0]["requests"].get<std::uint64_t>(), 101u);
  EXPECT_EQ(merged["scenarios"][1]["iterations"].get<std::uint64_t>(), 15u);
}

// 40 arrivals over two workers: 20 each passes "count < 30" on its own; the run as a whole fails.
TEST(CoordinatedRun, ThresholdsAreEvaluatedOnTheMergedTotals) {
  LoadTarget target({});
  const auto plan = write_file("dist_threshold.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{name: hello, request: {path: /hello}}]}]
load: {executor: constant-arrival-rate, rate: 40, duration: 1s, pre_allocated_vus: 4, max_vus: 8}
thresholds:
  http_reqs: ['count < 30']
)");
  const int port = free_port();
  Crest coordinator(coordinator_args(plan, port, 2, "--out json=" + dir() + "/dist_thr.json"),
                    "dist_thr_c");
  Crest a(worker_args(port, "thr-a") + " --out json=" + dir() + "/thr-a.json", "thr-a");
  Crest b(worker_args(port, "thr-b") + " --out json=" + dir() + "/thr-b.json", "thr-b");
  EXPECT_EQ(coordinator.wait(30), 99) << coordinator.err();
  EXPECT_EQ(a.wait(10), 0);
  EXPECT_EQ(b.wait(10), 0);
  for (const char* own : {"/thr-a.json", "/thr-b.json"}) {
    const auto j = read_json(dir() + own);
    EXPECT_LT(j["http_reqs"].get<int>(), 30) << own;
  }
  const auto merged = read_json(dir() + "/dist_thr.json");
  EXPECT_EQ(merged["http_reqs"].get<int>(), 40);
  EXPECT_THAT(coordinator.out(), HasSubstr("✗ http_reqs: count < 30"));
}

TEST(CoordinatedRun, AKilledWorkerEndsTheRunNamingIt) {
  LoadTarget target({});
  const auto plan = write_file("dist_kill.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}, think: 10ms}]}]
load: {executor: constant-vus, vus: 4, duration: 30s, graceful_stop: 1s}
)");
  const int port = free_port();
  Crest coordinator(coordinator_args(plan, port, 2), "dist_kill_c");
  Crest a(worker_args(port, "kill-a"), "kill-a");
  Crest b(worker_args(port, "kill-b"), "kill-b");
  ASSERT_TRUE(b.err_says("running shard"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ::kill(b.pid(), SIGKILL);
  const auto start = Clock::now();
  EXPECT_EQ(coordinator.wait(15), 1);
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 10.0);
  EXPECT_THAT(coordinator.err(), HasSubstr("worker 'kill-b'"));
  EXPECT_THAT(coordinator.err(), HasSubstr("was lost"));
  // The other worker is told to stop, and does.
  EXPECT_NE(a.wait(15), -1);
}

TEST(CoordinatedRun, ToleratedLostWorkerMarksTheResultPartial) {
  LoadTarget target({});
  const auto plan = write_file("dist_partial.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}, think: 10ms}]}]
load: {executor: constant-vus, vus: 4, duration: 3s, graceful_stop: 1s}
)");
  const int port = free_port();
  Crest coordinator(
      coordinator_args(plan, port, 2,
                       "--tolerate-lost-workers --out json=" + dir() + "/dist_partial.json"),
      "dist_partial_c");
  Crest a(worker_args(port, "partial-a"), "partial-a");
  Crest b(worker_args(port, "partial-b"), "partial-b");
  ASSERT_TRUE(b.err_says("running shard"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  ::kill(b.pid(), SIGKILL);
  EXPECT_EQ(coordinator.wait(20), 0) << coordinator.err();
  EXPECT_EQ(a.wait(10), 0);
  const auto j = read_json(dir() + "/dist_partial.json");
  EXPECT_EQ(j["partial"], true);
  ASSERT_EQ(j["lost_workers"].size(), 1u);
  EXPECT_THAT(j["lost_workers"][0].get<std::string>(), HasSubstr("'partial-b'"));
  EXPECT_THAT(coordinator.out(), HasSubstr("PARTIAL"));
  EXPECT_GT(j["http_reqs"].get<std::uint64_t>(), 0u);
}

TEST(CoordinatedRun, WrongTokenIsRefusedAndTheRunGoesOn) {
  LoadTarget target({});
  const auto plan = write_file("dist_token.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 1, duration: 300ms}
)");
  const int port = free_port();
  Crest coordinator(coordinator_args(plan, port, 1), "dist_token_c");
  Crest intruder(worker_args(port, "intruder", "not-the-token-0123456789"), "intruder");
  EXPECT_EQ(intruder.wait(10), 1);
  EXPECT_THAT(intruder.err(), HasSubstr("refused this worker: wrong token"));
  EXPECT_THAT(coordinator.err(), HasSubstr("refused a worker 'intruder'"));
  EXPECT_EQ(target.requests(), 0u);
  Crest good(worker_args(port, "good"), "good");
  EXPECT_EQ(coordinator.wait(20), 0) << coordinator.err();
  EXPECT_EQ(good.wait(10), 0);
  EXPECT_GT(target.requests(), 0u);
}

TEST(CoordinatedRun, AWorkerConnectingTwiceIsRefused) {
  LoadTarget target({});
  const auto plan = write_file("dist_twice.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}, think: 10ms}]}]
load: {executor: constant-vus, vus: 2, duration: 2s}
)");
  const int port = free_port();
  Crest coordinator(coordinator_args(plan, port, 2), "dist_twice_c");
  Crest first(worker_args(port, "twin"), "twin-1");
  ASSERT_TRUE(coordinator.err_says("'twin'"));
  Crest second(worker_args(port, "twin"), "twin-2");
  EXPECT_EQ(second.wait(10), 1);
  EXPECT_THAT(second.err(), HasSubstr("a worker named 'twin' is already connected"));
  Crest other(worker_args(port, "other"), "other");
  ASSERT_TRUE(other.err_says("running shard"));
  Crest late(worker_args(port, "twin"), "twin-3");  // once the run has started
  EXPECT_EQ(late.wait(10), 1);
  EXPECT_THAT(late.err(), HasSubstr("the run has started with its 2 worker(s)"));
  EXPECT_EQ(coordinator.wait(20), 0) << coordinator.err();
  EXPECT_EQ(first.wait(10), 0);
  EXPECT_EQ(other.wait(10), 0);
}

TEST(CoordinatedRun, BoundedWaitsAndUsageErrors) {
  LoadTarget target({});
  const auto plan = write_file("dist_wait.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}}]}]
load: {executor: constant-vus, vus: 2, duration: 300ms}
)");
  int port = free_port();
  Crest alone("run " + plan + " -q --coordinator 127.0.0.1:" + std::to_string(port) +
                  " --workers 2 --token " + kToken + " --wait-workers 1s",
              "dist_alone");
  Crest one(worker_args(port, "only-one"), "only-one");
  EXPECT_EQ(alone.wait(10), 1);
  EXPECT_THAT(alone.err(), HasSubstr("1 of 2 worker(s) joined within 1s (joined: only-one)"));
  EXPECT_EQ(one.wait(10), 1);
  EXPECT_THAT(one.err(), HasSubstr("the run did not start"));

  port = free_port();  // nobody listens there
  Crest orphan("worker --coordinator 127.0.0.1:" + std::to_string(port) + " --token " + kToken +
                   " --connect-timeout 1s",
               "dist_orphan");
  EXPECT_EQ(orphan.wait(10), 1);
  EXPECT_THAT(orphan.err(), HasSubstr("cannot reach the coordinator"));

  Crest no_token("run " + plan + " -q --coordinator 127.0.0.1:1 --workers 2", "dist_no_token");
  EXPECT_EQ(no_token.wait(10), 2);
  EXPECT_THAT(no_token.err(), HasSubstr("token of 16 characters"));
  Crest with_processes(coordinator_args(plan, 1, 2, "--processes 2"), "dist_processes");
  EXPECT_EQ(with_processes.wait(10), 2);
  Crest worker_no_token("worker --coordinator 127.0.0.1:1", "dist_worker_no_token");
  EXPECT_EQ(worker_no_token.wait(10), 2);
  EXPECT_EQ(target.requests(), 0u);
}

TEST(CoordinatedRun, InterruptStopsEveryWorker) {
  LoadTarget target({});
  const auto plan = write_file("dist_interrupt.yaml", "target: " + target.url() + R"(
journeys: [{steps: [{request: {path: /hello}, think: 10ms}]}]
load: {executor: constant-vus, vus: 2, duration: 60s}
)");
  const int port = free_port();
  Crest coordinator(coordinator_args(plan, port, 2, "--out json=" + dir() + "/dist_int.json"),
                    "dist_int_c");
  Crest a(worker_args(port, "int-a"), "int-a");
  Crest b(worker_args(port, "int-b"), "int-b");
  ASSERT_TRUE(b.err_says("running shard"));
  ASSERT_TRUE(a.err_says("running shard"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  ::kill(coordinator.pid(), SIGINT);
  EXPECT_EQ(coordinator.wait(20), 105) << coordinator.err();
  EXPECT_EQ(a.wait(10), 0) << a.err();
  EXPECT_EQ(b.wait(10), 0) << b.err();
  const auto j = read_json(dir() + "/dist_int.json");
  EXPECT_EQ(j["stop_reason"], "interrupted");
  EXPECT_GT(j["http_reqs"].get<std::uint64_t>(), 0u);
}

}  // namespace
}  // namespace crest::load
