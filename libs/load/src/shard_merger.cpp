#include "shard_merger.hpp"

#include <algorithm>

namespace crest::load {
namespace {

bool shaped_like_plan(const MetricSet& m, const Plan& plan) {
  return m.steps.size() == plan.step_names.size() && m.journeys.size() == plan.journeys.size() &&
         m.groups.size() == plan.groups.size() && m.checks.size() == plan.check_names.size() &&
         (m.scenarios.size() == plan.scenarios.size() ||
          (m.scenarios.empty() && scenario_is_whole_run(plan)));
}

bool shaped_like_plan(const TimelinePoint& p, const Plan& plan) {
  const auto n = plan.step_names.size();
  return p.step_requests.size() == n && p.step_failures.size() == n &&
         p.step_histograms.size() == n;
}

// Adds one shard's second into the merged second; false when a step histogram is malformed.
bool merge_point(TimelinePoint& into, const TimelinePoint& p) {
  into.t = std::max(into.t, p.t);
  into.active_vus += p.active_vus;
  into.allocated_vus += p.allocated_vus;
  into.requests += p.requests;
  into.failures += p.failures;
  into.dropped += p.dropped;
  into.bytes_received += p.bytes_received;
  into.bytes_sent += p.bytes_sent;
  into.duration.merge(p.duration);
  for (std::size_t i = 0; i < p.step_requests.size(); ++i) {
    into.step_requests[i] += p.step_requests[i];
    into.step_failures[i] += p.step_failures[i];
    auto a = LatencyHistogram::deserialise(into.step_histograms[i]);
    const auto b = LatencyHistogram::deserialise(p.step_histograms[i]);
    if (!a || !b) {
      return false;
    }
    a->merge(*b);
    into.step_histograms[i] = a->serialise();
  }
  return true;
}

}  // namespace

ShardMerger::ShardMerger(const Plan& plan, int shards,
                         std::function<void(const Progress&, bool)> on_tick,
                         std::function<bool(const MetricSet&, double)> should_abort)
    : plan_(plan),
      shards_(static_cast<std::size_t>(std::max(1, shards))),
      on_tick_(std::move(on_tick)),
      should_abort_(std::move(should_abort)),
      total_s_(static_cast<double>(plan.total_duration().count()) / 1e9) {}

MetricSet ShardMerger::empty_set() const {
  return MetricSet::for_plan(plan_);
}

std::string ShardMerger::take(int shard, ShardFrame&& f) {
  auto& s = shards_[idx(shard)];
  if (s.result || (s.final_seen && f.kind == ShardFrame::Kind::tick)) {
    return "sent a report after its last one";
  }
  if (f.kind == ShardFrame::Kind::result) {
    s.result = std::move(f);
    return "";
  }
  if (!shaped_like_plan(f.totals, plan_) || (f.last && !shaped_like_plan(*f.last, plan_))) {
    return "sent a report that does not match the plan";
  }
  total_s_ = f.total_s;
  s.totals = std::move(f.totals);
  if (f.last) {
    s.pending.push_back(std::move(*f.last));
  }
  s.final_seen = f.final;
  return "";
}

std::string ShardMerger::take_frames(int shard, std::string& inbox) {
  std::string_view view(inbox);
  std::string wrong;
  while (!result(shard)) {
    ShardFrame f;
    const auto status = decode_shard_frame(view, f);
    if (status == FrameStatus::incomplete) {
      break;
    }
    if (status == FrameStatus::malformed) {
      wrong = "sent a malformed report";
      break;
    }
    if (wrong = take(shard, std::move(f)); !wrong.empty()) {
      break;
    }
  }
  inbox.erase(0, inbox.size() - view.size());
  return wrong;
}

void ShardMerger::give_up(int shard) {
  shards_[idx(shard)].final_seen = true;
}

std::string ShardMerger::emit_ready(bool* abort_now, int* bad_shard) {
  for (;;) {
    bool any = false;
    for (const auto& s : shards_) {
      if (!s.pending.empty()) {
        any = true;
      } else if (!s.final_seen) {
        return "";  // this second is still on its way from s
      }
    }
    if (!any) {
      return "";
    }
    TimelinePoint merged;
    merged.step_requests.assign(plan_.step_names.size(), 0);
    merged.step_failures.assign(plan_.step_names.size(), 0);
    merged.step_histograms.assign(plan_.step_names.size(), LatencyHistogram().serialise());
    for (std::size_t i = 0; i < shards_.size(); ++i) {
      auto& s = shards_[i];
      if (s.pending.empty()) {
        continue;
      }
      if (!merge_point(merged, s.pending.front())) {
        if (bad_shard != nullptr) {
          *bad_shard = static_cast<int>(i);
        }
        return "sent a malformed report (a step histogram)";
      }
      s.pending.pop_front();
    }
    const bool last = std::all_of(shards_.begin(), shards_.end(),
                                  [](const Shard& s) { return s.final_seen && s.pending.empty(); });
    MetricSet totals = empty_set();
    for (const auto& s : shards_) {
      if (s.totals) {
        totals.merge(*s.totals);
      }
    }
    timeline_.push_back(std::move(merged));
    const auto& point = timeline_.back();
    if (on_tick_) {
      const Progress p{point.t, total_s_, point.active_vus, &totals, &point};
      on_tick_(p, last);
    }
    final_emitted_ = final_emitted_ || last;
    if (!last && !aborting_ && should_abort_ && should_abort_(totals, point.t)) {
      aborting_ = true;
      if (abort_now != nullptr) {
        *abort_now = true;
      }
    }
  }
}

void ShardMerger::finish(RunResult& out) {
  out.totals = empty_set();
  out.peak_vus = 0;
  out.threads = 0;
  for (auto& s : shards_) {
    if (s.totals) {
      out.totals.merge(*s.totals);
    }
    if (!s.result) {
      continue;
    }
    auto& r = *s.result;
    merge_recorded(out.recorded, std::move(r.recorded), kDefaultRecordLimit);
    out.elapsed_s = std::max(out.elapsed_s, r.elapsed_s);
    out.threads += r.threads;
    out.peak_vus += r.peak_vus;
    out.source_addresses = std::max(out.source_addresses, r.source_addresses);
    out.aborted = out.aborted || r.aborted;
  }
  out.elapsed_s = std::max(out.elapsed_s, 1e-9);
  out.timeline = std::move(timeline_);
  timeline_.clear();
  if (!final_emitted_ && on_tick_ && !out.timeline.empty()) {
    const Progress p{out.timeline.back().t, total_s_, out.timeline.back().active_vus, &out.totals,
                     &out.timeline.back()};
    on_tick_(p, true);
    final_emitted_ = true;
  }
}

}  // namespace crest::load
