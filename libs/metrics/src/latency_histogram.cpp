#include "crest/metrics/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>

namespace crest::metrics {
namespace {

// 3 significant digits need 2 * 10^3 distinct values per bucket: rounded up to 2^11.
constexpr int kSubBucketHalfMagnitude = 10;
constexpr std::uint64_t kSubBucketCount = 2048;
constexpr std::uint64_t kSubBucketHalf = 1024;
constexpr std::uint64_t kSubBucketMask = kSubBucketCount - 1;

constexpr std::size_t compute_bucket_count() {
  std::uint64_t smallest_untrackable = kSubBucketCount;
  std::size_t buckets = 1;
  while (smallest_untrackable <= LatencyHistogram::kHighestUs) {
    smallest_untrackable <<= 1;
    ++buckets;
  }
  return buckets;
}
constexpr std::size_t kBucketCount = compute_bucket_count();
constexpr std::size_t kSlots = (kBucketCount + 1) * kSubBucketHalf;

}  // namespace

std::size_t LatencyHistogram::bucket_slots() noexcept {
  return kSlots;
}

std::size_t LatencyHistogram::index_of(std::uint64_t v) noexcept {
  const int pow2ceiling = 64 - std::countl_zero(v | kSubBucketMask);
  const int bucket = pow2ceiling - (kSubBucketHalfMagnitude + 1);
  const auto sub = static_cast<std::int64_t>(v >> bucket);
  return static_cast<std::size_t>(((bucket + 1) << kSubBucketHalfMagnitude) +
                                  (sub - static_cast<std::int64_t>(kSubBucketHalf)));
}

std::uint64_t LatencyHistogram::value_at_index(std::size_t index) noexcept {
  auto bucket = static_cast<int>(index >> kSubBucketHalfMagnitude) - 1;
  auto sub = static_cast<std::uint64_t>(index & (kSubBucketHalf - 1)) + kSubBucketHalf;
  if (bucket < 0) {
    sub -= kSubBucketHalf;
    bucket = 0;
  }
  return sub << bucket;
}

std::uint64_t LatencyHistogram::lowest_equivalent(std::uint64_t v) noexcept {
  return value_at_index(index_of(v));
}

std::uint64_t LatencyHistogram::highest_equivalent(std::uint64_t v) noexcept {
  const int pow2ceiling = 64 - std::countl_zero(v | kSubBucketMask);
  const int bucket = pow2ceiling - (kSubBucketHalfMagnitude + 1);
  const std::uint64_t sub = v >> bucket;
  const int adjusted = bucket + (sub >= kSubBucketCount ? 1 : 0);
  const std::uint64_t range = std::uint64_t{1} << adjusted;
  return lowest_equivalent(v) + range - 1;
}

LatencyHistogram::LatencyHistogram() : counts_(new std::uint64_t[kSlots]()) {}

LatencyHistogram::LatencyHistogram(const LatencyHistogram& other)
    : counts_(new std::uint64_t[kSlots]),
      total_(other.total_),
      min_(other.min_),
      max_(other.max_),
      sum_(other.sum_),
      clamped_(other.clamped_) {
  std::memcpy(counts_.get(), other.counts_.get(), kSlots * sizeof(std::uint64_t));
}

LatencyHistogram& LatencyHistogram::operator=(const LatencyHistogram& other) {
  if (this != &other) {
    if (!counts_) {
      counts_.reset(new std::uint64_t[kSlots]);
    }
    std::memcpy(counts_.get(), other.counts_.get(), kSlots * sizeof(std::uint64_t));
    total_ = other.total_;
    min_ = other.min_;
    max_ = other.max_;
    sum_ = other.sum_;
    clamped_ = other.clamped_;
  }
  return *this;
}

LatencyHistogram::SlotRange LatencyHistogram::used_slots() const noexcept {
  return total_ == 0 ? SlotRange{1, 0} : SlotRange{index_of(min_), index_of(max_)};
}

void LatencyHistogram::record_us(std::uint64_t v, std::uint64_t count) noexcept {
  if (v > kHighestUs) {
    v = kHighestUs;
    clamped_ += count;
  }
  counts_[index_of(v)] += count;
  total_ += count;
  sum_ += v * count;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void LatencyHistogram::merge(const LatencyHistogram& other) noexcept {
  if (other.total_ == 0) {
    return;
  }
  const auto [first, last] = other.used_slots();
  for (std::size_t i = first; i <= last; ++i) {
    counts_[i] += other.counts_[i];
  }
  total_ += other.total_;
  sum_ += other.sum_;
  clamped_ += other.clamped_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void LatencyHistogram::reset() noexcept {
  // An unwritten histogram (most of a load engine's series at each one-second tick) costs nothing.
  if (total_ != 0) {
    const auto [first, last] = used_slots();
    std::memset(counts_.get() + first, 0, (last - first + 1) * sizeof(std::uint64_t));
  }
  total_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
  clamped_ = 0;
}

std::uint64_t LatencyHistogram::max_us() const noexcept {
  return total_ == 0 ? 0 : max_;
}

double LatencyHistogram::mean_us() const noexcept {
  return total_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(total_);
}

std::uint64_t LatencyHistogram::percentile_us(double p) const noexcept {
  if (total_ == 0) {
    return 0;
  }
  p = std::clamp(p, 0.0, 100.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_)));
  rank = std::clamp<std::uint64_t>(rank, 1, total_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kSlots; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      // Never report beyond the exact extremes we saw.
      return std::clamp(highest_equivalent(value_at_index(i)), min_, max_);
    }
  }
  return max_;
}

std::uint64_t LatencyHistogram::count_at_or_below_us(std::uint64_t v) const noexcept {
  if (v >= kHighestUs) {
    return total_;
  }
  const std::size_t last = index_of(v);
  std::uint64_t n = 0;
  for (std::size_t i = 0; i <= last; ++i) {
    n += counts_[i];
  }
  return n;
}

bool LatencyHistogram::operator==(const LatencyHistogram& other) const noexcept {
  return total_ == other.total_ && min_ == other.min_ && max_ == other.max_ && sum_ == other.sum_ &&
         clamped_ == other.clamped_ &&
         std::memcmp(counts_.get(), other.counts_.get(), kSlots * sizeof(std::uint64_t)) == 0;
}

std::string LatencyHistogram::serialise() const {
  std::string out = "lh1 " + std::to_string(total_) + ' ' +
                    std::to_string(min_ == UINT64_MAX ? 0 : min_) + ' ' + std::to_string(max_) +
                    ' ' + std::to_string(sum_) + ' ' + std::to_string(clamped_);
  const auto [first, last] = used_slots();
  for (std::size_t i = first; i <= last; ++i) {
    if (counts_[i] != 0) {
      out += ' ';
      out += std::to_string(i);
      out += ':';
      out += std::to_string(counts_[i]);
    }
  }
  return out;
}

namespace {
bool read_u64(std::string_view& text, std::uint64_t& out, char terminator) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  if (ec != std::errc() || ptr == text.data()) {
    return false;
  }
  if (ptr != end) {
    if (*ptr != terminator) {
      return false;
    }
    ++ptr;
  } else if (terminator == ':') {
    return false;
  }
  text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
  return true;
}
}  // namespace

std::optional<LatencyHistogram> LatencyHistogram::deserialise(std::string_view text) {
  if (text.substr(0, 4) != "lh1 ") {
    return std::nullopt;
  }
  text.remove_prefix(4);
  LatencyHistogram h;
  std::uint64_t total = 0;
  std::uint64_t min = 0;
  std::uint64_t max = 0;
  std::uint64_t sum = 0;
  std::uint64_t clamped = 0;
  if (!read_u64(text, total, ' ') || !read_u64(text, min, ' ') || !read_u64(text, max, ' ') ||
      !read_u64(text, sum, ' ') || !read_u64(text, clamped, ' ')) {
    return std::nullopt;
  }
  // Counts outside the slots of min and max would survive a reset and skew a merge.
  const std::size_t first = index_of(std::min(min, kHighestUs));
  const std::size_t last = index_of(std::min(max, kHighestUs));
  std::uint64_t seen = 0;
  while (!text.empty()) {
    std::uint64_t index = 0;
    std::uint64_t count = 0;
    if (!read_u64(text, index, ':') || !read_u64(text, count, ' ') || index >= kSlots ||
        (count != 0 && (index < first || index > last))) {
      return std::nullopt;
    }
    h.counts_[index] += count;
    seen += count;
  }
  if (seen != total || (total > 0 && (min > max || max > kHighestUs))) {
    return std::nullopt;
  }

  h.total_ = total;
  h.min_ = total == 0 ? UINT64_MAX : min;
  h.max_ = max;
  h.sum_ = sum;
  h.clamped_ = clamped;
  return h;
}

}  // namespace crest::metrics
