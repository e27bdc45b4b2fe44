#include "crest/autoscale/controller.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>
#include <sstream>
#include <thread>

#include "crest/autoscale/event_log.hpp"

namespace crest::autoscale {
namespace {

using namespace std::chrono_literals;

class FakeTarget final : public ScaleTarget {
 public:
  explicit FakeTarget(int n) {
    scale_to(n);
    make_ready();
  }
  int replicas() const override { return replicas_; }
  std::vector<Instance> instances() const override { return instances_; }
  void scale_to(int n) override {
    replicas_ = n;
    scale_calls.push_back(n);
    while (static_cast<int>(instances_.size()) < n) {
      instances_.push_back(
          {"web-" + std::to_string(next_++), InstancePhase::started, 0.5, 256.0 * 1024 * 1024});
    }
    while (static_cast<int>(instances_.size()) > n) {
      instances_.pop_back();
    }
  }
  void make_ready() {
    for (auto& i : instances_) {
      i.phase = InstancePhase::ready;
    }
    scale_calls.clear();
  }
  std::vector<int> scale_calls;

 private:
  int replicas_ = 0;
  int next_ = 1;
  std::vector<Instance> instances_;
};

class FakeMetrics final : public MetricsReader {
 public:
  Result<InstanceValues> instance_values(const std::string&, const std::vector<std::string>& names,
                                         const MetricQuery& metric) override {
    if (failing.count(metric.name) != 0) {
      return Error{ErrorKind::unavailable, metric.name + " unavailable"};
    }
    InstanceValues out;
    for (const auto& name : names) {
      out[name] = per_instance[metric.name];
    }
    return out;
  }
  Result<double> external_value(const MetricQuery& metric) override {
    return external[metric.name];
  }
  std::map<std::string, double> per_instance;
  std::map<std::string, double> external;
  std::set<std::string> failing;
};

HpaSpec web_hpa() {
  HpaSpec spec;
  spec.name = "web";
  spec.target_name = "web";
  spec.min_replicas = 2;
  spec.max_replicas = 10;
  spec.metrics.push_back(
      {MetricSourceType::resource, "cpu", {}, MetricTargetType::utilization, 60});
  spec.metrics.push_back(
      {MetricSourceType::pods, "latency_p95", {}, MetricTargetType::average_value, 0.25});
  spec.scale_down.stabilization_window_seconds = 0;
  return spec;
}

struct Fixture {
  FakeTarget target{2};
  FakeMetrics metrics;
  ManualClock clock;
  std::ostringstream log_text;
  AutoscaleEventLog log{log_text, clock};
  LocalAutoscaler autoscaler{{web_hpa()}, metrics, {{"web", &target}}, clock, {}, &log};
};

TEST(LocalAutoscaler, ScalesUpOnCpuAboveTarget) {
  Fixture f;
  f.metrics.per_instance = {{"cpu", 0.6}, {"latency_p95", 0.1}};  // 120 % of a 0.5 request
  const auto decisions = f.autoscaler.sync_once();
  ASSERT_EQ(decisions.size(), 1U);
  EXPECT_EQ(decisions[0].current, 2);
  EXPECT_EQ(decisions[0].desired, 4);
  EXPECT_TRUE(decisions[0].scaled);
  EXPECT_EQ(f.target.scale_calls, std::vector<int>{4});
  ASSERT_EQ(decisions[0].metrics.size(), 2U);
  EXPECT_DOUBLE_EQ(*decisions[0].metrics[0].value, 120);
}

TEST(LocalAutoscaler, TakesTheLargestProposalOverMetrics) {
  Fixture f;
  f.metrics.per_instance = {{"cpu", 0.3}, {"latency_p95", 0.75}};  // cpu on target, latency x3
  const auto d = f.autoscaler.sync_once()[0];
  EXPECT_EQ(d.metrics[0].proposal, 2);
  EXPECT_EQ(d.metrics[1].proposal, 6);
  EXPECT_EQ(d.desired, 6);
}

TEST(LocalAutoscaler, NewInstancesCountAsZeroUntilReady) {
  Fixture f;
  f.metrics.per_instance = {{"cpu", 0.6}, {"latency_p95", 0.1}};
  f.autoscaler.sync_once();  // 2 -> 4, two instances started, not ready
  f.clock.advance(5s);
  // The two ready ones still at 120 %; the new ones count as 0 %: (120+120+0+0)/4 = 60 %.
  const auto d = f.autoscaler.sync_once()[0];
  EXPECT_EQ(d.desired, 4);
  EXPECT_FALSE(d.scaled);
}

TEST(LocalAutoscaler, DoesNotScaleDownWhenAMetricIsUnreadable) {
  Fixture f;
  f.target.scale_to(6);
  f.target.make_ready();
  f.metrics.per_instance = {{"cpu", 0.05}};
  f.metrics.failing = {"latency_p95"};
  const auto d = f.autoscaler.sync_once()[0];
  EXPECT_EQ(d.desired, 6);
  EXPECT_EQ(d.reason, "FailedGetMetrics");
  EXPECT_EQ(d.metrics[1].error, "latency_p95 unavailable");
  EXPECT_TRUE(f.target.scale_calls.empty());
}

TEST(LocalAutoscaler, OverridesCapDisableAndClear) {
  Fixture f;
  f.metrics.per_instance = {{"cpu", 1.5}, {"latency_p95", 0.1}};  // 300 %: wants 10
  ASSERT_TRUE(f.autoscaler.set_max_replicas("web", 3).ok());
  EXPECT_EQ(f.autoscaler.sync_once()[0].desired, 3);
  f.target.make_ready();
  ASSERT_TRUE(f.autoscaler.set_enabled("web", false).ok());
  f.clock.advance(30s);
  const auto disabled = f.autoscaler.sync_once()[0];
  EXPECT_EQ(disabled.desired, 3);
  EXPECT_EQ(disabled.reason, "ScalingDisabled");
  ASSERT_TRUE(f.autoscaler.clear_overrides("web").ok());
  EXPECT_GT(f.autoscaler.sync_once()[0].desired, 3);
  EXPECT_EQ(f.autoscaler.set_min_replicas("nope", 2).error().kind, ErrorKind::not_found);
  EXPECT_EQ(f.autoscaler.set_min_replicas("web", 0).error().kind, ErrorKind::invalid_argument);
}

TEST(LocalAutoscaler, RaisedMinimumScalesUpAtOnce) {
  Fixture f;
  f.metrics.per_instance = {{"cpu", 0.3}, {"latency_p95", 0.25}};
  ASSERT_TRUE(f.autoscaler.set_min_replicas("web", 5).ok());
  const auto d = f.autoscaler.sync_once()[0];
  EXPECT_EQ(d.desired, 5);
  EXPECT_EQ(d.reason, "TooFewReplicas");
  const auto status = f.autoscaler.status();
  ASSERT_EQ(status.size(), 1U);
  EXPECT_EQ(status[0].min_replicas, 5);
  EXPECT_EQ(status[0].desired, 5);
  EXPECT_EQ(status[0].current, 2);
  EXPECT_EQ(status[0].pending, 3);
}

TEST(LocalAutoscaler, ExternalQueueBacklogScalesWorkers) {
  FakeTarget target{2};
  FakeMetrics metrics;
  ManualClock clock;
  HpaSpec spec;
  spec.name = spec.target_name = "worker";
  spec.min_replicas = 1;
  spec.max_replicas = 20;
  spec.metrics.push_back({MetricSourceType::external,
                          "crest_queue_approximate_messages",
                          {{"queue", "orders"}},
                          MetricTargetType::average_value,
                          20});
  metrics.external["crest_queue_approximate_messages"] = 130;
  LocalAutoscaler autoscaler({spec}, metrics, {{"worker", &target}}, clock);
  EXPECT_EQ(autoscaler.sync_once()[0].desired, 6);  // default scale-up: +4 or x2 per 15 s
  EXPECT_EQ(autoscaler.sync_period(), 5000ms);
}

TEST(LocalAutoscaler, RejectsAnHpaWithoutTarget) {
  FakeMetrics metrics;
  ManualClock clock;
  EXPECT_THROW(LocalAutoscaler({web_hpa()}, metrics, {}, clock), std::invalid_argument);
  auto bad = web_hpa();
  bad.max_replicas = 1;
  FakeTarget target{2};
  EXPECT_THROW(LocalAutoscaler({bad}, metrics, {{"web", &target}}, clock), std::invalid_argument);
}

TEST(LocalAutoscaler, WritesOneDecisionLinePerSync) {
  Fixture f;
  f.metrics.per_instance = {{"cpu", 0.6}, {"latency_p95", 0.1}};
  f.autoscaler.sync_once();
  f.log.pod("web", "web-3", PodTransition::ready);
  std::istringstream lines(f.log_text.str());
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  const auto decision = nlohmann::json::parse(line);
  EXPECT_EQ(decision["kind"], "decision");
  EXPECT_EQ(decision["service"], "web");
  EXPECT_EQ(decision["current"], 2);
  EXPECT_EQ(decision["desired"], 4);
  EXPECT_EQ(decision["metrics"][0]["metric"], "cpu");
  EXPECT_EQ(decision["metrics"][0]["value"], 120.0);
  EXPECT_EQ(decision["metrics"][0]["target"], 60.0);
  ASSERT_TRUE(std::getline(lines, line));
  const auto pod = nlohmann::json::parse(line);
  EXPECT_EQ(pod["kind"], "pod");
  EXPECT_EQ(pod["transition"], "ready");
  EXPECT_EQ(pod["instance"], "web-3");
  EXPECT_FALSE(std::getline(lines, line));
}

TEST(LocalAutoscaler, RunSyncsEveryPeriodAndStopsPromptly) {
  FakeTarget target{2};
  FakeMetrics metrics;
  metrics.per_instance = {{"cpu", 0.3}, {"latency_p95", 0.25}};
  ManualClock clock;
  std::ostringstream log_text;
  AutoscaleEventLog log(log_text, clock);
  AutoscalerOptions options;
  options.sync_period = 20ms;
  LocalAutoscaler autoscaler({web_hpa()}, metrics, {{"web", &target}}, clock, options, &log);
  const auto start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration ran{};
  {
    std::jthread loop([&](std::stop_token stop) { autoscaler.run(stop); });
    std::this_thread::sleep_for(110ms);
    ran = std::chrono::steady_clock::now() - start;
    loop.request_stop();
  }  // joined: run() returned without waiting out a period
  EXPECT_LT(std::chrono::steady_clock::now() - start - ran, 500ms);
  const auto text = log_text.str();
  const auto syncs = std::count(text.begin(), text.end(), '\n');
  EXPECT_GE(syncs, 3);  // one at once, then one per 20 ms
  EXPECT_LE(syncs, ran / 20ms + 2);
}

TEST(EventLog, TimestampsAreUtcRfc3339WithMilliseconds) {
  const Clock::WallTime t{std::chrono::milliseconds(1'796'029'200'042LL)};
  EXPECT_EQ(format_rfc3339_ms(t), "2026-11-30T09:00:00.042Z");
  EXPECT_EQ(format_rfc3339_ms(Clock::WallTime{}), "1970-01-01T00:00:00.000Z");
}

}  // namespace
}  // namespace crest::autoscale
