#include "crest/metrics/registry.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "text_format.hpp"

namespace crest::metrics {
namespace {

[[noreturn]] void fail(std::string_view name, std::string_view what) {
  std::string message = "metric '";
  message += name;
  message += "': ";
  message += what;
  throw std::invalid_argument(message);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// promtool's test: a lower-case letter followed by an upper-case one.
bool is_camel_case(std::string_view s) {
  for (std::size_t i = 1; i < s.size(); ++i) {
    if (s[i - 1] >= 'a' && s[i - 1] <= 'z' && s[i] >= 'A' && s[i] <= 'Z') {
      return true;
    }
  }
  return false;
}

std::string join(const std::vector<std::string>& names) {
  std::string out = "{";
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += i == 0 ? "" : ",";
    out += names[i];
  }
  out += "}";
  return out;
}

// One sample line: name{labels[,extra]} value
void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   std::string_view labels, std::string_view extra_labels, double value) {
  out += name;
  out += suffix;
  if (!labels.empty() || !extra_labels.empty()) {
    out += '{';
    out += labels;
    if (!labels.empty() && !extra_labels.empty()) {
      out += ',';
    }
    out += extra_labels;
    out += '}';
  }
  out += ' ';
  text_format::append_double(out, value);
  out += '\n';
}

// An unlabelled metric read at scrape time.
class CallbackFamily final : public detail::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type, ValueCallback callback)
      : FamilyBase(std::move(name), std::move(help), type, {}), callback_(std::move(callback)) {}

  void render(std::string& out) const override {
    std::optional<double> value;
    try {
      value = callback_();
    } catch (...) {
      // One failing probe (say, /proc unreadable) must not cost the scrape every other metric.
      return;
    }
    if (!value) {
      return;
    }
    render_header(out);
    append_sample(out, name(), "", "", "", *value);
  }

 private:
  ValueCallback callback_;
};

void validate_family(std::string_view name, std::string_view help, MetricType type,
                     const std::vector<std::string>& label_names) {
  if (!is_valid_metric_name(name)) {
    fail(name, "invalid metric name (must match [a-zA-Z_:][a-zA-Z0-9_:]*)");
  }
  if (help.empty()) {
    fail(name, "help text is required");
  }
  // The naming rules below are the ones `promtool check metrics` enforces; breaking them makes
  // the exposition fail that check.
  if (type == MetricType::counter && !ends_with(name, "_total")) {
    fail(name, "counter names must end in \"_total\"");
  }
  if (type != MetricType::counter && ends_with(name, "_total")) {
    fail(name, "only counter names may end in \"_total\"");
  }
  if (type != MetricType::histogram &&
      (ends_with(name, "_bucket") || ends_with(name, "_count") || ends_with(name, "_sum"))) {
    fail(name, "\"_bucket\", \"_count\" and \"_sum\" suffixes are reserved for histograms");
  }
  const std::string type_name = std::string("_") + to_string(type);
  if (ends_with(name, type_name) || name.find(type_name + "_") != std::string_view::npos) {
    fail(name, "metric names must not include their type '" + type_name.substr(1) + "'");
  }
  if (is_camel_case(name)) {
    fail(name, "metric names must be snake_case, not camelCase");
  }
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (is_camel_case(label)) {
      fail(name, "label name '" + label + "' must be snake_case, not camelCase");
    }
    if (!is_valid_label_name(label)) {
      fail(name, "invalid label name '" + label +
                     "' (must match [a-zA-Z_][a-zA-Z0-9_]* and not start with \"__\")");
    }
    if (type == MetricType::histogram && label == "le") {
      fail(name, "label name 'le' is reserved for histogram buckets");
    }
    if (std::find(label_names.begin(), label_names.begin() + static_cast<std::ptrdiff_t>(i),
                  label) != label_names.begin() + static_cast<std::ptrdiff_t>(i)) {
      fail(name, "duplicate label name '" + label + "'");
    }
  }
}

Buckets normalized_buckets(std::string_view name, Buckets buckets) {
  if (!buckets.empty() && std::isinf(buckets.back()) && buckets.back() > 0) {
    buckets.pop_back();  // +Inf is always there; accept it spelled out
  }
  if (buckets.empty()) {
    fail(name, "a histogram needs at least one finite bucket bound");
  }
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i])) {
      fail(name, "bucket bounds must be finite");
    }
    if (i > 0 && !(buckets[i - 1] < buckets[i])) {
      fail(name, "bucket bounds must be strictly increasing");
    }
  }
  return buckets;
}

}  // namespace

Buckets default_latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Buckets exponential_buckets(double start, double factor, int count) {
  if (!(start > 0) || !(factor > 1) || count < 1) {
    throw std::invalid_argument("exponential_buckets needs start > 0, factor > 1, count >= 1");
  }
  Buckets out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    out.push_back(start);
    start *= factor;
  }
  return out;
}

Buckets linear_buckets(double start, double width, int count) {
  if (!(width > 0) || count < 1) {
    throw std::invalid_argument("linear_buckets needs width > 0, count >= 1");
  }
  Buckets out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) {
    out.push_back(start + width * i);
  }
  return out;
}

bool is_valid_metric_name(std::string_view name) noexcept {
  if (name.empty()) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) {
      return false;
    }
  }
  return true;
}

bool is_valid_label_name(std::string_view name) noexcept {
  if (name.empty() || name.starts_with("__")) {
    return false;
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!alpha && !(digit && i > 0)) {
      return false;
    }
  }
  return true;
}

const char* to_string(MetricType type) noexcept {
  switch (type) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

// ---- Counter, Histogram ----

void Counter::inc(double amount) noexcept {
  if (!(amount >= 0)) {
    return;
  }
  // Whole amounts below 2^53 take the integer path, which stays exact under any contention.
  if (amount < 9007199254740992.0 && std::floor(amount) == amount) {
    whole_.fetch_add(static_cast<std::uint64_t>(amount), std::memory_order_relaxed);
    return;
  }
  fraction_.fetch_add(amount, std::memory_order_relaxed);
}

double Counter::value() const noexcept {
  return static_cast<double>(whole_.load(std::memory_order_relaxed)) +
         fraction_.load(std::memory_order_relaxed);
}

Histogram::Histogram(std::span<const double> upper_bounds)
    : upper_bounds_(upper_bounds),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(upper_bounds.size() + 1)) {}

void Histogram::observe(double value) noexcept {
  if (std::isnan(value)) {
    return;
  }
  // Buckets are "less than or equal": the first bound >= value takes it; past the end is +Inf.
  const auto it = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
  const auto index = static_cast<std::size_t>(it - upper_bounds_.begin());
  counts_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot out;
  out.cumulative_counts.reserve(upper_bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    out.cumulative_counts.push_back(running);
  }
  // _count is derived from the buckets so that it always equals the +Inf bucket, as Prometheus
  // requires, even while other threads observe.
  out.count = running;
  out.sum = sum_.load(std::memory_order_relaxed);
  return out;
}

// ---- Families ----

namespace detail {

FamilyBase::FamilyBase(std::string name, std::string help, MetricType type,
                       std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {}

void FamilyBase::render_header(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  text_format::append_help(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += to_string(type_);
  out += '\n';
}

}  // namespace detail

namespace {

template <typename Metric>
constexpr MetricType type_of() {
  if constexpr (std::is_same_v<Metric, Counter>) {
    return MetricType::counter;
  } else if constexpr (std::is_same_v<Metric, Gauge>) {
    return MetricType::gauge;
  } else {
    static_assert(std::is_same_v<Metric, Histogram>);
    return MetricType::histogram;
  }
}

}  // namespace

template <typename Metric>
Family<Metric>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                       Buckets buckets)
    : FamilyBase(std::move(name), std::move(help), type_of<Metric>(), std::move(label_names)),
      buckets_(std::move(buckets)) {
  for (const double bound : buckets_) {
    std::string le = "le=\"";
    text_format::append_double(le, bound);
    le += '"';
    rendered_bounds_.push_back(std::move(le));
  }
  rendered_bounds_.emplace_back("le=\"+Inf\"");
}

template <typename Metric>
Metric& Family<Metric>::with(std::initializer_list<std::string_view> label_values) {
  return with_values(label_values);
}

template <typename Metric>
Metric& Family<Metric>::with(std::span<const std::string_view> label_values) {
  return with_values(label_values);
}

template <typename Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& label_values) {
  return with_values(label_values);
}

template <typename Metric>
template <typename Values>
Metric& Family<Metric>::with_values(const Values& label_values) {
  if (label_values.size() != label_names().size()) {
    fail(name(), "expected " + std::to_string(label_names().size()) + " label values " +
                     join(label_names()) + ", got " + std::to_string(label_values.size()));
  }
  {
    std::shared_lock lock(mutex_);
    const auto it = children_.find(label_values);
    if (it != children_.end()) {
      return *it->second.metric;
    }
  }
  std::unique_lock lock(mutex_);
  if (const auto it = children_.find(label_values); it != children_.end()) {
    return *it->second.metric;  // another thread created it between the two locks
  }
  Child child;
  std::size_t i = 0;
  for (const auto& value : label_values) {
    child.rendered_labels += i == 0 ? "" : ",";
    child.rendered_labels += label_names()[i++];
    child.rendered_labels += "=\"";
    text_format::append_label_value(child.rendered_labels, value);
    child.rendered_labels += '"';
  }
  if constexpr (std::is_same_v<Metric, Histogram>) {
    child.metric = std::make_unique<Histogram>(std::span<const double>(buckets_));
  } else {
    child.metric = std::make_unique<Metric>();
  }
  std::vector<std::string> key(label_values.begin(), label_values.end());
  return *children_.emplace(std::move(key), std::move(child)).first->second.metric;
}

template <typename Metric>
std::size_t Family<Metric>::size() const {
  std::shared_lock lock(mutex_);
  return children_.size();
}

template <typename Metric>
void Family<Metric>::render(std::string& out) const {
  std::shared_lock lock(mutex_);
  if (children_.empty()) {
    return;  // a labelled family nobody has used yet has no series to show
  }
  render_header(out);
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      const Histogram::Snapshot snap = child.metric->snapshot();
      for (std::size_t b = 0; b < snap.cumulative_counts.size(); ++b) {
        append_sample(out, name(), "_bucket", child.rendered_labels, rendered_bounds_[b],
                      static_cast<double>(snap.cumulative_counts[b]));
      }
      append_sample(out, name(), "_sum", child.rendered_labels, "", snap.sum);
      append_sample(out, name(), "_count", child.rendered_labels, "",
                    static_cast<double>(snap.count));
    } else {
      append_sample(out, name(), "", child.rendered_labels, "", child.metric->value());
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---- Registry ----

Registry::Registry() = default;
Registry::~Registry() = default;

template <typename F>
F& Registry::add_family(std::string_view name, std::string_view help, MetricType type,
                        std::vector<std::string> label_names, Buckets buckets) {
  validate_family(name, help, type, label_names);
  if (type == MetricType::histogram) {
    buckets = normalized_buckets(name, std::move(buckets));
  }
  std::lock_guard lock(mutex_);
  if (const auto it = families_.find(name); it != families_.end()) {
    auto* existing = dynamic_cast<F*>(it->second.get());
    if (existing == nullptr) {
      fail(name, std::string("already registered as a ") + to_string(it->second->type()) +
                     (it->second->type() == type ? " read by a callback" : ""));
    }
    if (existing->label_names() != label_names) {
      fail(name, "already registered with labels " + join(existing->label_names()) + ", not " +
                     join(label_names));
    }
    if (existing->buckets() != buckets) {
      fail(name, "already registered with different buckets");
    }
    return *existing;
  }
  auto family = std::make_unique<F>(std::string(name), std::string(help), std::move(label_names),
                                    std::move(buckets));
  F& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

CounterFamily& Registry::counter_family(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names) {
  return add_family<CounterFamily>(name, help, MetricType::counter, std::move(label_names), {});
}

GaugeFamily& Registry::gauge_family(std::string_view name, std::string_view help,
                                    std::vector<std::string> label_names) {
  return add_family<GaugeFamily>(name, help, MetricType::gauge, std::move(label_names), {});
}

HistogramFamily& Registry::histogram_family(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names, Buckets buckets) {
  return add_family<HistogramFamily>(name, help, MetricType::histogram, std::move(label_names),
                                     std::move(buckets));
}

Counter& Registry::counter(std::string_view name, std::string_view help) {
  return counter_family(name, help, {}).with({});
}

Gauge& Registry::gauge(std::string_view name, std::string_view help) {
  return gauge_family(name, help, {}).with({});
}

Histogram& Registry::histogram(std::string_view name, std::string_view help, Buckets buckets) {
  return histogram_family(name, help, {}, std::move(buckets)).with({});
}

void Registry::add_callback(std::string_view name, std::string_view help, MetricType type,
                            ValueCallback callback) {
  validate_family(name, help, type, {});
  if (!callback) {
    fail(name, "callback is empty");
  }
  std::lock_guard lock(mutex_);
  if (families_.contains(name)) {
    fail(name, "already registered (a callback metric cannot be registered twice)");
  }
  families_.emplace(std::string(name),
                    std::make_unique<CallbackFamily>(std::string(name), std::string(help), type,
                                                     std::move(callback)));
}

void Registry::callback_gauge(std::string_view name, std::string_view help,
                              ValueCallback callback) {
  add_callback(name, help, MetricType::gauge, std::move(callback));
}

void Registry::callback_counter(std::string_view name, std::string_view help,
                                ValueCallback callback) {
  add_callback(name, help, MetricType::counter, std::move(callback));
}

std::string Registry::render() const {
  std::string out;
  render_to(out);
  return out;
}

void Registry::render_to(std::string& out) const {
  std::vector<const detail::FamilyBase*> families;
  {
    std::lock_guard lock(mutex_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) {
      families.push_back(family.get());
    }
  }
  // Families are never removed, so rendering can run unlocked: callbacks may be slow or even
  // register metrics themselves without blocking or deadlocking registration.
  for (const detail::FamilyBase* family : families) {
    family->render(out);
  }
}

}  // namespace crest::metrics
