#pragma once
// A log-linear latency histogram in the manner of HdrHistogram: values from 1 µs to 1 h with
// three significant digits, in a fixed array allocated once at construction. Recording never
// allocates; merging is exact (bucket-wise addition); the serialised form round-trips exactly,
// so histograms from threads or processes combine without loss. Not thread-safe: one writer.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace crest::metrics {

class LatencyHistogram {
 public:
  static constexpr std::uint64_t kLowestUs = 1;
  static constexpr std::uint64_t kHighestUs = 3'600'000'000ULL;  // one hour
  static constexpr int kSignificantDigits = 3;

  LatencyHistogram();
  LatencyHistogram(const LatencyHistogram& other);
  LatencyHistogram& operator=(const LatencyHistogram& other);
  LatencyHistogram(LatencyHistogram&&) noexcept = default;
  LatencyHistogram& operator=(LatencyHistogram&&) noexcept = default;
  ~LatencyHistogram() = default;

  // Values above one hour are clamped to one hour (and counted in clamped()).
  void record_us(std::uint64_t micros, std::uint64_t count = 1) noexcept;
  void record(std::chrono::nanoseconds d) noexcept {
    record_us(d.count() <= 0 ? 0 : static_cast<std::uint64_t>(d.count() + 500) / 1000);
  }

  void merge(const LatencyHistogram& other) noexcept;
  void reset() noexcept;

  std::uint64_t count() const noexcept { return total_; }
  std::uint64_t clamped() const noexcept { return clamped_; }
  std::uint64_t min_us() const noexcept { return total_ == 0 ? 0 : min_; }
  std::uint64_t max_us() const noexcept;  // exact largest sample (tracked beside the buckets)
  double mean_us() const noexcept;
  // The value at percentile p (0..100): the highest value equivalent to the sample of rank
  // ceil(p/100 * count), so it is never below the exact nearest-rank percentile and at most
  // 0.1 % above it.
  std::uint64_t percentile_us(double p) const noexcept;
  // Samples whose value is <= micros (for Prometheus cumulative buckets). Exact at bucket
  // boundaries; within 0.1 % of micros otherwise.
  std::uint64_t count_at_or_below_us(std::uint64_t micros) const noexcept;

  // Text form: "lh1 <total> <min> <max> <sum> <clamped> [<index>:<count> ...]" (non-zero buckets).
  std::string serialise() const;
  static std::optional<LatencyHistogram> deserialise(std::string_view text);

  // Bucket arithmetic, exposed for tests.
  static std::size_t index_of(std::uint64_t micros) noexcept;
  static std::uint64_t lowest_equivalent(std::uint64_t micros) noexcept;
  static std::uint64_t highest_equivalent(std::uint64_t micros) noexcept;
  static std::size_t bucket_slots() noexcept;

  bool operator==(const LatencyHistogram& other) const noexcept;

 private:
  static std::uint64_t value_at_index(std::size_t index) noexcept;
  // The slots that can hold counts: from min_'s to max_'s (record_us, merge and deserialise keep
  // every count there), none when empty. Merge, reset and serialise visit only these.
  struct SlotRange {
    std::size_t first;
    std::size_t last;
  };
  SlotRange used_slots() const noexcept;

  std::unique_ptr<std::uint64_t[]> counts_;
  std::uint64_t total_ = 0;
  std::uint64_t min_ = UINT64_MAX;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t clamped_ = 0;
};

}  // namespace crest::metrics
