#include "crest/load/wire.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <vector>

namespace crest::load {
namespace {

// Reads "\n"-separated lines, then space-separated fields of one line; every read says whether
// it worked, so malformed input ends in nullopt rather than a crash or a huge allocation.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : rest_(text) {}
  bool line(std::string_view& out) {
    const auto nl = rest_.find('\n');
    if (nl == std::string_view::npos) {
      return false;  // every line, the last included, ends with a newline
    }
    out = rest_.substr(0, nl);
    rest_.remove_prefix(nl + 1);
    return true;
  }
  bool at_end() const { return rest_.empty(); }
  std::size_t remaining() const { return rest_.size(); }

 private:
  std::string_view rest_;
};

class FieldReader {
 public:
  explicit FieldReader(std::string_view line) : rest_(line) {}
  bool tag(std::string_view expected) {
    if (rest_.substr(0, expected.size()) != expected) {
      return false;
    }
    rest_.remove_prefix(expected.size());
    return true;
  }
  template <typename T>
  bool number(T& out) {
    if (rest_.empty() || rest_.front() != ' ') {
      return false;
    }
    rest_.remove_prefix(1);
    const auto [ptr, ec] = std::from_chars(rest_.data(), rest_.data() + rest_.size(), out);
    if (ec != std::errc() || ptr == rest_.data()) {
      return false;
    }
    rest_.remove_prefix(static_cast<std::size_t>(ptr - rest_.data()));
    return true;
  }
  bool end() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

void append_fields(std::string& out) {
  out += '\n';
}
template <typename T, typename... Rest>
void append_fields(std::string& out, const T& first, const Rest&... rest) {
  out += ' ';
  if constexpr (std::is_floating_point_v<T>) {
    out += fmt::format("{}", first);  // shortest form that reads back as the same double
  } else {
    out += std::to_string(first);
  }
  append_fields(out, rest...);
}

bool read_histogram(LineReader& in, LatencyHistogram& out) {
  std::string_view line;
  if (!in.line(line)) {
    return false;
  }
  auto h = LatencyHistogram::deserialise(line);
  if (!h) {
    return false;
  }
  out = std::move(*h);
  return true;
}

// "TAG n1 n2 …\n": a list of counters on one line.
template <typename Container>
void append_numbers(std::string& out, std::string_view tag, const Container& numbers) {
  out += tag;
  for (auto n : numbers) {
    out += ' ';
    out += std::to_string(n);
  }
  out += '\n';
}

// Reads a line written by append_numbers into every element of `numbers` (its size says how many).
template <typename Container>
bool read_numbers(LineReader& in, std::string_view tag, Container& numbers) {
  std::string_view line;
  if (!in.line(line)) {
    return false;
  }
  FieldReader f(line);
  if (!f.tag(tag)) {
    return false;
  }
  for (auto& n : numbers) {
    if (!f.number(n)) {
      return false;
    }
  }
  return f.end();
}

// A count read from the input may only ask for as many items as the remaining bytes can hold,
// so "ms1 4000000000 ..." cannot allocate gigabytes before failing.
bool plausible(std::uint64_t count, std::size_t min_bytes_each, const LineReader& in) {
  return count <= in.remaining() / min_bytes_each;
}

constexpr std::size_t kMinHistogramLine = 14;  // "lh1 0 0 0 0 0\n"

void append_step(std::string& out, const StepStats& s) {
  out += "s";
  append_fields(out, s.requests, s.failures, s.connects, s.connect_us_sum, s.bytes_sent,
                s.bytes_received);
  append_numbers(out, "k", s.by_kind);
  append_numbers(out, "c", s.by_status_class);
  for (const auto* h : {&s.duration, &s.service, &s.ttfb}) {
    out += h->serialise();
    out += '\n';
  }
}

void append_journey(std::string& out, const JourneyStats& j) {
  out += "j";
  append_fields(out, j.iterations, j.failed);
  out += j.iteration.serialise();
  out += '\n';
}

bool read_step(LineReader& in, StepStats& s) {
  std::string_view line;
  if (!in.line(line)) {
    return false;
  }
  FieldReader counters(line);
  if (!counters.tag("s") || !counters.number(s.requests) || !counters.number(s.failures) ||
      !counters.number(s.connects) || !counters.number(s.connect_us_sum) ||
      !counters.number(s.bytes_sent) || !counters.number(s.bytes_received) || !counters.end()) {
    return false;
  }
  return read_numbers(in, "k", s.by_kind) && read_numbers(in, "c", s.by_status_class) &&
         read_histogram(in, s.duration) && read_histogram(in, s.service) &&
         read_histogram(in, s.ttfb);
}

bool read_journey(LineReader& in, JourneyStats& j) {
  std::string_view line;
  if (!in.line(line)) {
    return false;
  }
  FieldReader f(line);
  return f.tag("j") && f.number(j.iterations) && f.number(j.failed) && f.end() &&
         read_histogram(in, j.iteration);
}

}  // namespace

std::string serialise(const MetricSet& m) {
  std::string out = "ms1";
  append_fields(out, m.steps.size(), m.journeys.size(), m.groups.size(), m.checks.size(), m.dropped,
                m.interrupted);
  for (const auto& s : m.steps) {
    append_step(out, s);
  }
  for (const auto& j : m.journeys) {
    append_journey(out, j);
  }
  for (const auto& g : m.groups) {
    out += g.serialise();
    out += '\n';
  }
  out += "ck";
  for (const auto& c : m.checks) {
    append_fields(out, c[0], c[1]);
    out.pop_back();
  }
  out += '\n';
  out += "sc";
  append_fields(out, m.scenarios.size());
  for (const auto& sc : m.scenarios) {
    append_step(out, sc.requests);
    append_journey(out, sc.iterations);
    out += "x";
    append_fields(out, sc.dropped, sc.checks[0], sc.checks[1]);
  }
  return out;
}

std::optional<MetricSet> deserialise_metric_set(std::string_view text) {
  LineReader in(text);
  std::string_view line;
  std::uint64_t n_steps = 0;
  std::uint64_t n_journeys = 0;
  std::uint64_t n_groups = 0;
  std::uint64_t n_checks = 0;
  MetricSet m;
  if (!in.line(line)) {
    return std::nullopt;
  }
  {
    FieldReader f(line);
    if (!f.tag("ms1") || !f.number(n_steps) || !f.number(n_journeys) || !f.number(n_groups) ||
        !f.number(n_checks) || !f.number(m.dropped) || !f.number(m.interrupted) || !f.end()) {
      return std::nullopt;
    }
  }
  if (!plausible(n_steps, 3 + 3 * kMinHistogramLine, in) ||
      !plausible(n_journeys, 2 + kMinHistogramLine, in) ||
      !plausible(n_groups, kMinHistogramLine, in) || !plausible(n_checks, 4, in)) {
    return std::nullopt;
  }
  // Items are built as their lines parse (not resized up front): memory follows valid input.
  for (std::uint64_t i = 0; i < n_steps; ++i) {
    if (!read_step(in, m.steps.emplace_back())) {
      return std::nullopt;
    }
  }
  for (std::uint64_t i = 0; i < n_journeys; ++i) {
    if (!read_journey(in, m.journeys.emplace_back())) {
      return std::nullopt;
    }
  }
  for (std::uint64_t i = 0; i < n_groups; ++i) {
    if (!read_histogram(in, m.groups.emplace_back())) {
      return std::nullopt;
    }
  }
  if (!in.line(line)) {
    return std::nullopt;
  }
  FieldReader checks(line);
  if (!checks.tag("ck")) {
    return std::nullopt;
  }
  m.checks.resize(n_checks);
  for (auto& c : m.checks) {
    if (!checks.number(c[0]) || !checks.number(c[1])) {
      return std::nullopt;
    }
  }
  if (!checks.end() || !in.line(line)) {
    return std::nullopt;
  }
  std::uint64_t n_scenarios = 0;
  FieldReader scenarios(line);
  if (!scenarios.tag("sc") || !scenarios.number(n_scenarios) || !scenarios.end() ||
      !plausible(n_scenarios, 6 + 4 * kMinHistogramLine, in)) {
    return std::nullopt;
  }
  for (std::uint64_t i = 0; i < n_scenarios; ++i) {
    auto& sc = m.scenarios.emplace_back();
    if (!read_step(in, sc.requests) || !read_journey(in, sc.iterations) || !in.line(line)) {
      return std::nullopt;
    }
    FieldReader f(line);
    if (!f.tag("x") || !f.number(sc.dropped) || !f.number(sc.checks[0]) ||
        !f.number(sc.checks[1]) || !f.end()) {
      return std::nullopt;
    }
  }
  if (!in.at_end()) {
    return std::nullopt;
  }
  return m;
}

std::string serialise(const TimelinePoint& p) {
  std::string out = "tp2";
  append_fields(out, p.t, p.active_vus, p.allocated_vus, p.requests, p.failures, p.dropped,
                p.bytes_received, p.bytes_sent, p.step_requests.size(), p.step_failures.size(),
                p.step_histograms.size());
  out += p.duration.serialise();
  out += '\n';
  append_numbers(out, "sr", p.step_requests);
  append_numbers(out, "sf", p.step_failures);
  for (const auto& h : p.step_histograms) {
    out += h;  // the engine's serialised histogram: one line
    out += '\n';
  }
  return out;
}

std::optional<TimelinePoint> deserialise_timeline_point(std::string_view text) {
  LineReader in(text);
  std::string_view line;
  TimelinePoint p;
  std::uint64_t n_requests = 0;
  std::uint64_t n_failures = 0;
  std::uint64_t n_histograms = 0;
  if (!in.line(line)) {
    return std::nullopt;
  }
  FieldReader head(line);
  if (!head.tag("tp2") || !head.number(p.t) || !head.number(p.active_vus) ||
      !head.number(p.allocated_vus) || !head.number(p.requests) || !head.number(p.failures) ||
      !head.number(p.dropped) || !head.number(p.bytes_received) || !head.number(p.bytes_sent) ||
      !head.number(n_requests) || !head.number(n_failures) || !head.number(n_histograms) ||
      !head.end() || !std::isfinite(p.t)) {
    return std::nullopt;
  }
  if (!plausible(n_requests, 2, in) || !plausible(n_failures, 2, in) ||
      !plausible(n_histograms, 1, in) || !read_histogram(in, p.duration)) {
    return std::nullopt;
  }
  p.step_requests.resize(n_requests);
  p.step_failures.resize(n_failures);
  if (!read_numbers(in, "sr", p.step_requests) || !read_numbers(in, "sf", p.step_failures)) {
    return std::nullopt;
  }
  p.step_histograms.resize(n_histograms);
  for (auto& h : p.step_histograms) {
    if (!in.line(line)) {
      return std::nullopt;
    }
    h.assign(line);
  }
  if (!in.at_end()) {
    return std::nullopt;
  }
  return p;
}

namespace {

void put_u32_le(std::string& out, std::uint32_t n) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xffU));
  }
}

std::uint32_t get_u32_le(std::string_view b) {
  std::uint32_t n = 0;
  for (int i = 3; i >= 0; --i) {
    n = (n << 8) | static_cast<unsigned char>(b[static_cast<std::size_t>(i)]);
  }
  return n;
}

std::string frame(const std::string& payload) {
  std::string out;
  out.reserve(4 + payload.size());
  put_u32_le(out, static_cast<std::uint32_t>(payload.size()));
  out += payload;
  return out;
}

std::string encode_tick_frame_impl(double elapsed_s, double total_s, int active_vus, bool final,
                                   const TimelinePoint* last, const MetricSet& totals) {
  const std::string point = last != nullptr ? serialise(*last) : std::string();
  const std::string sums = serialise(totals);
  std::string payload = fmt::format("tick {} {} {} {} {} {}\n", elapsed_s, total_s, active_vus,
                                    final ? 1 : 0, point.size(), sums.size());
  payload += point;
  payload += sums;
  return frame(payload);
}

// The space-separated fields of a frame's first line.
class Fields {
 public:
  explicit Fields(std::string_view line) {
    while (!line.empty()) {
      const auto sp = line.find(' ');
      parts_.push_back(line.substr(0, sp));
      line.remove_prefix(sp == std::string_view::npos ? line.size() : sp + 1);
    }
  }
  std::size_t size() const { return parts_.size(); }
  std::string_view operator[](std::size_t i) const { return parts_[i]; }
  template <typename T>
  bool get(std::size_t i, T& out) const {
    const auto s = parts_[i];
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
  }
  bool flag(std::size_t i, bool& out) const {
    int v = -1;
    if (!get(i, v) || (v != 0 && v != 1)) {
      return false;
    }
    out = v == 1;
    return true;
  }

 private:
  std::vector<std::string_view> parts_;
};

void append_blob(std::string& out, std::string_view blob) {
  out += std::to_string(blob.size());
  out += ':';
  out += blob;
}

// Takes "<bytes>:<bytes of text>" off the front of `body`.
bool take_blob(std::string_view& body, std::string_view& out) {
  const auto colon = body.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 12) {
    return false;
  }
  std::size_t n = 0;
  const auto [ptr, ec] = std::from_chars(body.data(), body.data() + colon, n);
  if (ec != std::errc() || ptr != body.data() + colon || n > body.size() - colon - 1) {
    return false;
  }
  out = body.substr(colon + 1, n);
  body.remove_prefix(colon + 1 + n);
  return true;
}

bool take_blob(std::string_view& body, std::string& out) {
  std::string_view view;
  if (!take_blob(body, view)) return false;
  out.assign(view);
  return true;
}

bool get_count(std::string_view& body, std::uint64_t& out) {
  std::string_view text;
  if (!take_blob(body, text)) {
    return false;
  }
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
}

// The recorded captures of a result frame: exactly `entries` of them, and nothing after.
bool take_recorded(std::string_view body, std::size_t entries, std::vector<RecordedValues>& out) {
  for (std::size_t i = 0; i < entries; ++i) {
    RecordedValues r;
    std::string_view step;
    std::string_view capture;
    std::uint64_t count = 0;
    if (!take_blob(body, step) || !take_blob(body, capture) || !get_count(body, r.not_kept) ||
        !get_count(body, count) || count > body.size()) {  // each value takes 2 bytes at least
      return false;
    }
    r.step.assign(step);
    r.capture.assign(capture);
    r.values.reserve(count);
    for (std::uint64_t k = 0; k < count; ++k) {
      std::string_view value;
      if (!take_blob(body, value)) {
        return false;
      }
      r.values.emplace_back(value);
    }
    out.push_back(std::move(r));
  }
  return body.empty();
}

}  // namespace

std::string encode_tick_frame(double elapsed_s, double total_s, int active_vus, bool final,
                              const TimelinePoint* last, const MetricSet& totals) {
  return encode_tick_frame_impl(elapsed_s, total_s, active_vus, final, last, totals);
}

std::string encode_shard_frame(const ShardFrame& f) {
  if (f.kind == ShardFrame::Kind::tick) {
    return encode_tick_frame_impl(f.elapsed_s, f.total_s, f.active_vus, f.final,
                                  f.last ? &*f.last : nullptr, f.totals);
  }
  std::string payload =
      fmt::format("result {} {} {} {} {} {} {}\n", f.elapsed_s, f.peak_vus, f.threads,
                  f.source_addresses, f.aborted ? 1 : 0, f.error.size(), f.recorded.size());
  payload += f.error;
  for (const auto& r : f.recorded) {
    append_blob(payload, r.step);
    append_blob(payload, r.capture);
    append_blob(payload, std::to_string(r.not_kept));
    append_blob(payload, std::to_string(r.values.size()));
    for (const auto& v : r.values) {
      append_blob(payload, v);
    }
  }
  return frame(payload);
}

namespace {

// The frame at the front of `bytes` (a little-endian u32 length, then a header line and a body),
// once all of it has arrived; `size` is the whole frame's, prefix included.
struct FramePart {
  std::string_view header;
  std::string_view body;
  std::size_t size = 0;
};

FrameStatus front_frame(std::string_view bytes, std::size_t max_bytes, FramePart& out) {
  if (bytes.size() < 4) return FrameStatus::incomplete;
  const std::size_t len = get_u32_le(bytes);
  if (len > max_bytes) return FrameStatus::malformed;
  if (bytes.size() - 4 < len) return FrameStatus::incomplete;
  const auto payload = bytes.substr(4, len);
  const auto nl = payload.find('\n');
  if (nl == std::string_view::npos) return FrameStatus::malformed;
  out = {payload.substr(0, nl), payload.substr(nl + 1), 4 + len};
  return FrameStatus::complete;
}

}  // namespace

FrameStatus decode_shard_frame(std::string_view& bytes, ShardFrame& out) {
  FramePart part;
  if (const auto status = front_frame(bytes, kMaxShardFrameBytes, part);
      status != FrameStatus::complete) {
    return status;
  }
  const Fields fields(part.header);
  const auto body = part.body;
  ShardFrame f;
  if (fields.size() == 7 && fields[0] == "tick") {
    f.kind = ShardFrame::Kind::tick;
    std::size_t point_len = 0;
    std::size_t totals_len = 0;
    if (!fields.get(1, f.elapsed_s) || !fields.get(2, f.total_s) || !fields.get(3, f.active_vus) ||
        !fields.flag(4, f.final) || !fields.get(5, point_len) || !fields.get(6, totals_len) ||
        point_len > body.size() || totals_len != body.size() - point_len) {
      return FrameStatus::malformed;
    }
    if (point_len > 0) {
      f.last = deserialise_timeline_point(body.substr(0, point_len));
      if (!f.last) {
        return FrameStatus::malformed;
      }
    }
    auto totals = deserialise_metric_set(body.substr(point_len));
    if (!totals) {
      return FrameStatus::malformed;
    }
    f.totals = std::move(*totals);
  } else if (fields.size() == 8 && fields[0] == "result") {
    f.kind = ShardFrame::Kind::result;
    std::size_t error_len = 0;
    std::size_t entries = 0;
    if (!fields.get(1, f.elapsed_s) || !fields.get(2, f.peak_vus) || !fields.get(3, f.threads) ||
        !fields.get(4, f.source_addresses) || !fields.flag(5, f.aborted) ||
        !fields.get(6, error_len) || error_len > body.size() || !fields.get(7, entries)) {
      return FrameStatus::malformed;
    }
    f.error.assign(body.substr(0, error_len));
    if (!take_recorded(body.substr(error_len), entries, f.recorded)) {
      return FrameStatus::malformed;
    }
  } else {
    return FrameStatus::malformed;
  }
  out = std::move(f);
  bytes.remove_prefix(part.size);
  return FrameStatus::complete;
}

}  // namespace crest::load

namespace crest::load {
namespace {

bool is_hex(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string encode_control_frame(const ControlFrame& f) {
  std::string payload;
  switch (f.kind) {
    case ControlFrame::Kind::challenge:
      payload = "challenge " + f.nonce + "\n";
      break;
    case ControlFrame::Kind::hello:
      payload = fmt::format("hello {} {}\n", f.cores, f.mac);
      append_blob(payload, f.worker);
      break;
    case ControlFrame::Kind::shard:
      payload = fmt::format("shard {} {} {} {} {}\n", f.shard_index, f.shard_count, f.start_unix_ms,
                            f.args.size(), f.files.size());
      append_blob(payload, f.plan_name);
      append_blob(payload, f.plan_text);
      for (const auto& a : f.args) {
        append_blob(payload, a);
      }
      for (const auto& [path, contents] : f.files) {
        append_blob(payload, path);
        append_blob(payload, contents);
      }
      break;
    case ControlFrame::Kind::stop:
      payload = "stop\n";
      break;
    case ControlFrame::Kind::abort:
      payload = "abort\n";
      break;
    case ControlFrame::Kind::refuse:
      payload = "refuse\n";
      append_blob(payload, f.reason);
      break;
  }
  return frame(payload);
}

FrameStatus decode_control_frame(std::string_view& bytes, ControlFrame& out) {
  FramePart part;
  if (const auto status = front_frame(bytes, kMaxControlFrameBytes, part);
      status != FrameStatus::complete) {
    return status;
  }
  const Fields fields(part.header);
  auto body = part.body;
  ControlFrame f;
  const auto kind = fields.size() > 0 ? fields[0] : std::string_view();
  bool ok = false;
  if (kind == "challenge" && fields.size() == 2 && is_hex(fields[1]) && body.empty()) {
    f.kind = ControlFrame::Kind::challenge;
    f.nonce.assign(fields[1]);
    ok = true;
  } else if (kind == "hello" && fields.size() == 3) {
    f.kind = ControlFrame::Kind::hello;
    ok = fields.get(1, f.cores) && f.cores > 0 && is_hex(fields[2]) && take_blob(body, f.worker) &&
         body.empty();
    f.mac.assign(fields[2]);
  } else if (kind == "shard" && fields.size() == 6) {
    f.kind = ControlFrame::Kind::shard;
    std::size_t n_args = 0;
    std::size_t n_files = 0;
    ok = fields.get(1, f.shard_index) && fields.get(2, f.shard_count) &&
         fields.get(3, f.start_unix_ms) && fields.get(4, n_args) && fields.get(5, n_files) &&
         f.shard_index >= 0 && f.shard_index < f.shard_count && n_args <= body.size() / 2 &&
         n_files <= body.size() / 4 && take_blob(body, f.plan_name) && take_blob(body, f.plan_text);
    for (std::size_t i = 0; ok && i < n_args; ++i) {
      ok = take_blob(body, f.args.emplace_back());
    }
    for (std::size_t i = 0; ok && i < n_files; ++i) {
      auto& [path, contents] = f.files.emplace_back();
      ok = take_blob(body, path) && take_blob(body, contents);
    }
    ok = ok && body.empty();
  } else if ((kind == "stop" || kind == "abort") && fields.size() == 1 && body.empty()) {
    f.kind = kind == "stop" ? ControlFrame::Kind::stop : ControlFrame::Kind::abort;
    ok = true;
  } else if (kind == "refuse" && fields.size() == 1) {
    f.kind = ControlFrame::Kind::refuse;
    ok = take_blob(body, f.reason) && body.empty();
  }
  if (!ok) {
    return FrameStatus::malformed;
  }
  out = std::move(f);
  bytes.remove_prefix(part.size);
  return FrameStatus::complete;
}

std::string worker_mac(std::string_view token, std::string_view nonce, std::string_view worker) {
  std::string message(nonce);
  message += ' ';
  message += worker;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  HMAC(EVP_sha256(), token.data(), static_cast<int>(token.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &digest_len);
  std::string hex;
  for (unsigned int i = 0; i < digest_len; ++i) {
    hex += fmt::format("{:02x}", digest[i]);
  }
  return hex;
}

bool same_mac(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace crest::load
