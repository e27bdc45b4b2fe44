#pragma once
// What crosses a process boundary in a run split over processes (crest run --processes): the
// exact text forms of the metrics and the length-prefixed frames that carry them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crest/load/stats.hpp"

namespace crest::load {

// Exact text forms, so that the processes of one run (crest run --processes) ship their metrics
// to the parent without loss: every counter and every histogram (LatencyHistogram::serialise)
// round-trips. Line-based: "ms1 <sizes> <dropped> <interrupted>", then per step a counter line
// and three histogram lines, per journey a counter line and one histogram, per group a histogram,
// then one line of check counts. Malformed or truncated input gives nullopt, never a crash.
std::string serialise(const MetricSet& m);
std::optional<MetricSet> deserialise_metric_set(std::string_view text);
// "tp2 <t> <busy vus> <allocated vus> <counters> <steps>", the duration histogram, then per step
// "<requests> <failures>" and its histogram text (kept as it is: a line of its own).
std::string serialise(const TimelinePoint& p);
std::optional<TimelinePoint> deserialise_timeline_point(std::string_view text);

// One message from a shard to the parent. On the wire: a 4-byte little-endian payload length,
// then the payload, text:
//   "tick <elapsed_s> <total_s> <active_vus> <final 0|1> <point bytes> <totals bytes>\n"
//       followed by serialise(TimelinePoint) and serialise(MetricSet) of those lengths;
//   "result <elapsed_s> <peak_vus> <threads> <source_addresses> <aborted 0|1> <error bytes>
//    <recorded entries>\n"
//       followed by the error text (empty when the run went well), then per recorded capture
//       the strings step, capture, not_kept, value count and the values, each as "<bytes>:"
//       then the bytes: the shard's last frame.
struct ShardFrame {
  enum class Kind : std::uint8_t { tick, result };
  Kind kind = Kind::tick;
  double elapsed_s = 0;  // tick: Progress::elapsed_s; result: RunResult::elapsed_s
  double total_s = 0;
  int active_vus = 0;
  bool final = false;
  std::optional<TimelinePoint> last;
  MetricSet totals;
  int peak_vus = 0;
  int threads = 0;
  int source_addresses = 1;
  bool aborted = false;
  std::string error;
  std::vector<RecordedValues> recorded;  // result: the shard's `record: true` captures
};

inline constexpr std::size_t kMaxShardFrameBytes = 256u << 20;

std::string encode_shard_frame(const ShardFrame& frame);
enum class FrameStatus : std::uint8_t { complete, incomplete, malformed };
// Takes one frame off the front of `bytes` (advancing it) when a whole one is there.
FrameStatus decode_shard_frame(std::string_view& bytes, ShardFrame& out);

// A tick frame built straight from a Progress's parts (no ShardFrame copy of the totals).
std::string encode_tick_frame(double elapsed_s, double total_s, int active_vus, bool final,
                              const TimelinePoint* last, const MetricSet& totals);

// A coordinated run (crest run --coordinator, crest worker) speaks these frames over TCP, framed
// as above (4-byte little-endian length, then text). Coordinator to worker: challenge, shard,
// stop, abort, refuse. Worker to coordinator: hello, then the shard frames of its run process.
//   "challenge <nonce hex>\n"
//   "hello <cores> <mac hex>\n" <worker name>         mac = HMAC-SHA256(token, nonce " " name)
//   "shard <index> <count> <start unix ms> <args> <files>\n" <plan name> <plan text>
//       <arg>... (<path> <contents>)...                 every string as "<bytes>:" then the bytes
//   "stop\n" (graceful), "abort\n" (abort_on_fail), "refuse\n" <reason>
struct ControlFrame {
  enum class Kind : std::uint8_t { challenge, hello, shard, stop, abort, refuse };
  Kind kind = Kind::stop;
  std::string nonce;   // challenge
  int cores = 0;       // hello: the worker's cores (the run's event loops per shard follow them)
  std::string mac;     // hello
  std::string worker;  // hello: the worker's name
  int shard_index = 0;
  int shard_count = 1;
  std::int64_t start_unix_ms = 0;  // shard: when every worker starts (the shared start time)
  std::string plan_name;
  std::string plan_text;
  std::vector<std::string> args;  // shard: crest run's arguments after the plan (--vus, -e ...)
  std::vector<std::pair<std::string, std::string>> files;  // data files: path as in the plan
  std::string reason;                                      // refuse
};

inline constexpr std::size_t kMaxControlFrameBytes = 256u << 20;

std::string encode_control_frame(const ControlFrame& frame);
FrameStatus decode_control_frame(std::string_view& bytes, ControlFrame& out);

// The proof a worker gives that it holds the token without sending it: lower-case hex of
// HMAC-SHA256(token, nonce + " " + worker).
std::string worker_mac(std::string_view token, std::string_view nonce, std::string_view worker);
bool same_mac(std::string_view a, std::string_view b);  // constant time

}  // namespace crest::load
