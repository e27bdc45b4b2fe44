#pragma once
// Merges the reports of the shards of one run (the processes of crest run --processes, the
// workers of a coordinated run) exactly: totals add bucket by bucket, and second k of the merged
// timeline is every shard's second k, emitted once every shard still running has sent it.
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crest/load/engine.hpp"
#include "crest/load/wire.hpp"

namespace crest::load {

class ShardMerger {
 public:
  ShardMerger(const Plan& plan, int shards, std::function<void(const Progress&, bool)> on_tick,
              std::function<bool(const MetricSet&, double)> should_abort);

  // Takes one frame of a shard; returns what is wrong with it ("" when it is fine).
  std::string take(int shard, ShardFrame&& frame);
  // Takes every whole frame at the front of a shard's `inbox` (the bytes read from its pipe or
  // socket so far) and removes them, up to and including its result frame; a partial frame
  // stays for later. Returns "" or what is wrong ("sent a malformed report", or take()'s).
  std::string take_frames(int shard, std::string& inbox);
  // Merges, in order, every second that all shards still running have sent; calls on_tick per
  // second. Returns "" or what went wrong (a malformed step histogram of that shard index).
  // *abort_now becomes true the first time should_abort says so.
  std::string emit_ready(bool* abort_now, int* bad_shard);
  // A shard given up on (a lost worker tolerated): what it sent stays, nothing more is awaited.
  void give_up(int shard);
  const std::optional<ShardFrame>& result(int shard) const { return shards_[idx(shard)].result; }
  bool aborting() const { return aborting_; }
  // Fills the totals, the run figures (elapsed, threads, peak VUs, ...) from every shard that
  // sent its result, and the final tick if none was emitted.
  void finish(RunResult& out);

 private:
  struct Shard {
    std::deque<TimelinePoint> pending;  // its seconds not yet merged
    std::optional<MetricSet> totals;    // cumulative, from its latest tick
    bool final_seen = false;
    std::optional<ShardFrame> result;
  };
  static std::size_t idx(int shard) { return static_cast<std::size_t>(shard); }
  MetricSet empty_set() const;

  const Plan& plan_;
  std::vector<Shard> shards_;
  std::function<void(const Progress&, bool)> on_tick_;
  std::function<bool(const MetricSet&, double)> should_abort_;
  std::vector<TimelinePoint> timeline_;
  double total_s_ = 0;
  bool aborting_ = false;
  bool final_emitted_ = false;
};

}  // namespace crest::load
