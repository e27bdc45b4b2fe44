#pragma once
// Counters, gauges and histograms with labels, owned by a Registry that renders them in the
// Prometheus text exposition format 0.0.4. Creating a family or a child takes a lock; inc(),
// set() and observe() are lock-free, allocation-free and never throw, so they are safe on the
// request path. Cache the reference that with() returns: it stays valid as long as the Registry.
#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace crest::metrics {

// Upper bounds of histogram buckets, strictly increasing; +Inf is implicit.
using Buckets = std::vector<double>;

// 0.5 ms ... 10 s in 14 buckets: resolves both a cache hit and a request stuck behind a timeout.
Buckets default_latency_buckets();
// start, start*factor, ... (count bounds). Throws std::invalid_argument on start <= 0,
// factor <= 1 or count < 1.
Buckets exponential_buckets(double start, double factor, int count);
// start, start+width, ... (count bounds). Throws std::invalid_argument on width <= 0 or count < 1.
Buckets linear_buckets(double start, double width, int count);

// Prometheus data-model rules: [a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]* (and label
// names starting with "__" are reserved).
bool is_valid_metric_name(std::string_view name) noexcept;
bool is_valid_label_name(std::string_view name) noexcept;

enum class MetricType : std::uint8_t { counter, gauge, histogram };
const char* to_string(MetricType type) noexcept;

// A monotonically increasing value. Whole-number increments (the common case) are one atomic
// add on an integer, so they stay exact and never contend in a compare-and-swap loop.
class Counter {
 public:
  void inc() noexcept { whole_.fetch_add(1, std::memory_order_relaxed); }
  // Negative and NaN amounts are dropped: a counter that goes down reads as a restart.
  void inc(double amount) noexcept;
  double value() const noexcept;

 private:
  std::atomic<std::uint64_t> whole_{0};
  std::atomic<double> fraction_{0.0};
};

// A value that goes up and down.
class Gauge {
 public:
  void set(double value) noexcept { value_.store(value, std::memory_order_relaxed); }
  void inc(double amount = 1.0) noexcept { value_.fetch_add(amount, std::memory_order_relaxed); }
  void dec(double amount = 1.0) noexcept { value_.fetch_sub(amount, std::memory_order_relaxed); }
  double value() const noexcept { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

// Observations counted into fixed buckets. observe() is a binary search and two atomic adds.
class Histogram {
 public:
  struct Snapshot {
    std::vector<std::uint64_t> cumulative_counts;  // one per bound, then +Inf
    double sum = 0;
    std::uint64_t count = 0;  // equals cumulative_counts.back()
  };

  // upper_bounds must outlive the histogram (the family owning it keeps them).
  explicit Histogram(std::span<const double> upper_bounds);

  // NaN is dropped: it would turn _sum into NaN for the rest of the process's life.
  void observe(double value) noexcept;
  Snapshot snapshot() const;
  std::span<const double> upper_bounds() const noexcept { return upper_bounds_; }

 private:
  std::span<const double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket, not cumulative; last +Inf
  std::atomic<double> sum_{0.0};
};

namespace detail {

// Orders label-value tuples of any string-like element type, so lookups need no allocation.
struct LabelValuesLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    auto ai = a.begin();
    auto bi = b.begin();
    for (; ai != a.end() && bi != b.end(); ++ai, ++bi) {
      const int c = std::string_view(*ai).compare(std::string_view(*bi));
      if (c != 0) {
        return c < 0;
      }
    }
    return ai == a.end() && bi != b.end();
  }
};

class FamilyBase {
 public:
  FamilyBase(std::string name, std::string help, MetricType type,
             std::vector<std::string> label_names);
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;
  virtual ~FamilyBase() = default;

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  MetricType type() const noexcept { return type_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }

  // Appends this family's HELP, TYPE and samples to out.
  virtual void render(std::string& out) const = 0;

 protected:
  void render_header(std::string& out) const;

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

}  // namespace detail

// All the series of one metric name, one child per combination of label values.
template <typename Metric>
class Family final : public detail::FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         Buckets buckets = {});

  // The child for these label values (in label-name order), created on first use. Throws
  // std::invalid_argument if the number of values differs from the number of label names.
  Metric& with(std::initializer_list<std::string_view> label_values);
  Metric& with(std::span<const std::string_view> label_values);
  Metric& with(const std::vector<std::string>& label_values);

  std::size_t size() const;
  const Buckets& buckets() const noexcept { return buckets_; }  // histograms only
  void render(std::string& out) const override;

 private:
  template <typename Values>
  Metric& with_values(const Values& label_values);

  struct Child {
    std::string rendered_labels;  // a="x",b="y" escaped once at creation, not at every scrape
    std::unique_ptr<Metric> metric;
  };

  Buckets buckets_;
  std::vector<std::string> rendered_bounds_;  // le values, histograms only
  mutable std::shared_mutex mutex_;
  std::map<std::vector<std::string>, Child, detail::LabelValuesLess> children_;
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// Called at scrape time. Returning nullopt (or throwing) leaves the metric out of that scrape.
using ValueCallback = std::function<std::optional<double>()>;

// Owns metric families and renders them. Families are never removed, so every reference it hands
// out lives as long as the registry. Not a singleton: each process holds one in its context.
//
// Registering a name again with the same type, label names (and buckets) returns the existing
// family; anything else throws std::invalid_argument naming the metric. Names must also pass
// `promtool check metrics`: counters end in "_total", other types must not, non-histograms must
// not end in "_bucket", "_count" or "_sum", and help text is required.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  CounterFamily& counter_family(std::string_view name, std::string_view help,
                                std::vector<std::string> label_names);
  GaugeFamily& gauge_family(std::string_view name, std::string_view help,
                            std::vector<std::string> label_names);
  HistogramFamily& histogram_family(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names,
                                    Buckets buckets = default_latency_buckets());

  // Unlabelled shorthands: family with no labels, then with({}).
  Counter& counter(std::string_view name, std::string_view help);
  Gauge& gauge(std::string_view name, std::string_view help);
  Histogram& histogram(std::string_view name, std::string_view help,
                       Buckets buckets = default_latency_buckets());

  // Unlabelled metrics whose value is read at scrape time (process stats, pool sizes, queue
  // depth from a store). The callback runs without any registry lock held. A second
  // registration of the same name throws.
  void callback_gauge(std::string_view name, std::string_view help, ValueCallback callback);
  void callback_counter(std::string_view name, std::string_view help, ValueCallback callback);

  // Every family, sorted by name, in text format 0.0.4
  // (Content-Type: text/plain; version=0.0.4; charset=utf-8).
  std::string render() const;
  void render_to(std::string& out) const;  // appends; lets a scrape handler reuse its buffer

 private:
  template <typename F>
  F& add_family(std::string_view name, std::string_view help, MetricType type,
                std::vector<std::string> label_names, Buckets buckets);
  void add_callback(std::string_view name, std::string_view help, MetricType type,
                    ValueCallback callback);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<detail::FamilyBase>, std::less<>> families_;
};

inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace crest::metrics
