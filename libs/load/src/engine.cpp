// The engine's hot path: no exceptions, no per-request allocation once a VU's buffers have grown.
#include "crest/load/engine.hpp"

#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <span>
#include <thread>

#include "crest/load/response_parser.hpp"
#include "crest/load/schedule.hpp"
#include "event_loop.hpp"

namespace crest::load {
namespace {

using io::Task;
using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

constexpr auto kNoDeadline = TimePoint::max();

struct Conn {
  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (ssl != nullptr) {
      SSL_free(ssl);
    }
    if (sock.fd >= 0) {
      ::close(sock.fd);
    }
  }
  io::Socket sock;
  SSL* ssl = nullptr;  // set for https origins once connected
  bool open = false;
};

// A VU's response bytes: reads land straight in it, and it doubles when full, so it settles at
// the size of the largest response.
class ReadBuffer {
 public:
  void clear() { size_ = 0; }
  std::size_t size() const { return size_; }
  operator std::string_view() const { return {data_.get(), size_}; }  // NOLINT(google-explicit-constructor)
  static constexpr std::size_t kMaxResponse = 64 << 20;  // a hostile endless response stops here
  // Room for the next read; empty once a response would pass kMaxResponse.
  std::span<char> space() {
    if (cap_ - size_ < 512) {
      const std::size_t cap = cap_ == 0 ? 2048 : cap_ * 2;
      if (cap > kMaxResponse) {
        return {};
      }
      std::unique_ptr<char[]> bigger(new char[cap]);
      if (size_ > 0) {
        std::memcpy(bigger.get(), data_.get(), size_);
      }
      data_ = std::move(bigger);
      cap_ = cap;
    }
    return {data_.get() + size_, cap_ - size_};
  }
  void commit(std::size_t n) { size_ += n; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

struct Vu {
  explicit Vu(std::uint64_t global_index) : index(global_index), rng(global_index * 7919 + 17) {}
  std::uint64_t index;  // 0-based across all loops (and processes)
  io::Timer timer;
  Rng rng;
  std::vector<std::string> vars;
  std::vector<int> unique_rows;  // per feed, -1 until taken
  std::vector<std::unique_ptr<Conn>> conns;  // per origin
  CookieJar jar;
  ResponseParser parser;
  std::string out;
  std::string body;
  ReadBuffer in;
  TimePoint deadline = kNoDeadline;
  Conn* deadline_conn = nullptr;
  bool timed_out = false;
  bool running = false;
  bool dead = false;  // its data feed ran out: it stops
  bool pacing_wait = false;
  std::uint64_t iteration = 0;
  TimePoint intended{};
  SteadyClock::duration lag{};
};

// A resolved origin.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
  bool loopback_v4 = false;
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
};

// TLS failures that are not a socket error come back as this errno value.
constexpr int kTlsFailure = EPROTO;

struct Outcome {
  FailureKind failure = FailureKind::none;
  int status = 0;
  std::chrono::system_clock::time_point wall_start;
  SteadyClock::duration service{};
  SteadyClock::duration ttfb{};
  SteadyClock::duration connect{};
  bool connected = false;
  bool got_response = false;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::string_view message;
  int failed_check = -1;
};

// A transaction's JTL line, as JMeter's Transaction Controller writes it ("generate parent
// sample" off): the sums over its samplers, written when the group ends.
struct JtlTransaction {
  std::chrono::system_clock::time_point start;
  SteadyClock::duration elapsed{};
  SteadyClock::duration latency{};
  SteadyClock::duration connect{};
  std::uint64_t received = 0;
  std::uint64_t sent = 0;
  int samples = 0;
  int failures = 0;
  void add(const Outcome& o) {
    if (samples++ == 0) {
      start = o.wall_start;
    }
    failures += o.failure == FailureKind::none ? 0 : 1;
    elapsed += o.service;
    latency += o.got_response ? o.ttfb : SteadyClock::duration{};
    connect += o.connect;
    received += o.received;
    sent += o.sent;
  }
};

struct Engine;

struct Loop {
  Loop(Engine& e, int i, const Plan& plan)
      : engine(e),
        index(i),
        interval(plan.step_names.size(), plan.journeys.size(), plan.groups.size(), plan.check_names.size()) {}
  Engine& engine;
  int index;  // among all loops of the run (every process's)
  io::Loop ioc;
  io::Timer control;
  io::Timer sweeper;
  io::Timer arrival_timer;
  std::mutex mu;
  MetricSet interval;
  std::string jtl;
  std::vector<std::unique_ptr<Vu>> vus;
  std::vector<Vu*> free_vus;
  std::size_t max_vus_here = 0;
  int running = 0;
  int target = 0;
  bool stopping = false;
  bool aborted = false;
  bool done = false;
  std::vector<bool> check_passed;
};

bool is_arrival(Executor e) {
  return e == Executor::constant_arrival_rate || e == Executor::ramping_arrival_rate;
}

void csv_field(std::string& out, std::string_view v) {
  if (v.find_first_of(",\"\n\r") == std::string_view::npos) {
    out.append(v);
    return;
  }
  out.push_back('"');
  for (char c : v) {
    if (c == '"') {
      out.push_back('"');
    }
    out.push_back(c);
  }
  out.push_back('"');
}

const char* failure_message(FailureKind k) {
  switch (k) {
    case FailureKind::connect_refused:
      return "connection refused";
    case FailureKind::connect_error:
      return "connect failed";
    case FailureKind::timeout:
      return "timed out";
    case FailureKind::reset:
      return "connection reset or closed";
    case FailureKind::tls:
      return "TLS handshake or I/O failed";
    case FailureKind::protocol:
      return "malformed HTTP response";
    case FailureKind::http_status:
      return "HTTP error status";
    case FailureKind::check_failed:
      return "check failed";
    case FailureKind::capture_failed:
      return "capture found nothing";
    case FailureKind::data_exhausted:
      return "data feed exhausted";
    case FailureKind::none:
      break;
  }
  return "";
}

std::uint64_t to_us(SteadyClock::duration d) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  return us < 0 ? 0 : static_cast<std::uint64_t>(us);
}

struct Engine {
  Engine(const Plan& p, const RunOptions& o) : plan(p), opts(o) {}
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine() {
    loops.clear();  // connections (and their SSL objects) before the context
    SSL_CTX_free(ssl_ctx);
  }

  void vu_started() {
    const int now = active_vus.fetch_add(1, std::memory_order_relaxed) + 1;
    int peak = peak_active.load(std::memory_order_relaxed);
    while (now > peak && !peak_active.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
  }

  const Plan& plan;
  const RunOptions& opts;
  std::vector<Endpoint> endpoints;  // per origin
  SSL_CTX* ssl_ctx = nullptr;
  ArrivalSchedule arrivals;
  VuSchedule vu_schedule;
  TimePoint start{};
  TimePoint end{};
  TimePoint hard_deadline{};
  int nloops = 1;  // event loops in the whole run, across processes
  int shard = 0;   // this process's place among the run's processes
  int shards = 1;
  int source_addresses = 1;
  std::vector<double> cumulative_weights;
  std::vector<std::unique_ptr<std::atomic<std::uint64_t>>> feed_next;
  std::atomic<int> active_vus{0};
  std::atomic<int> peak_active{0};
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> hard_stop_requested{false};
  std::atomic<int> loops_done{0};
  std::vector<std::unique_ptr<Loop>> loops;
  std::mutex jtl_mu;
  std::FILE* jtl = nullptr;

  Vu& new_vu(Loop& L, std::uint64_t global_index) {
    auto vu = std::make_unique<Vu>(global_index);
    vu->vars = plan.initial_values;
    vu->unique_rows.assign(plan.feeds.size(), -1);
    for (std::size_t i = 0; i < plan.origins.size(); ++i) {
      vu->conns.push_back(std::make_unique<Conn>());
    }
    L.vus.push_back(std::move(vu));
    return *L.vus.back();
  }

  // ---- I/O ------------------------------------------------------------------------------

  void arm(Vu& vu, Conn& c, TimePoint now, SteadyClock::duration timeout) {
    vu.deadline = now + timeout;
    vu.deadline_conn = &c;
  }
  void disarm(Vu& vu) {
    vu.deadline = kNoDeadline;
    vu.deadline_conn = nullptr;
  }

  static FailureKind classify(int err, bool timed_out) {
    if (timed_out) {
      return FailureKind::timeout;
    }
    if (err == ECONNREFUSED) {
      return FailureKind::connect_refused;
    }
    if (err == kTlsFailure) {
      return FailureKind::tls;
    }
    return FailureKind::reset;
  }

  static void close(Loop& L, Conn& c) {
    if (c.ssl != nullptr) {
      SSL_free(c.ssl);
      c.ssl = nullptr;
    }
    L.ioc.close(c.sock);
    c.open = false;
  }

  // What an OpenSSL call that returned r <= 0 means: wait for the socket (0 once ready), or
  // fail with an errno value (kTlsFailure for the TLS layer's own errors, 0 for end of stream).
  static Task<int> tls_wait(Loop& L, Conn& c, int r, bool& finished) {
    finished = false;
    const int e = SSL_get_error(c.ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
      c.sock.readable = false;
      co_return co_await L.ioc.readable(c.sock);
    }
    if (e == SSL_ERROR_WANT_WRITE) {
      c.sock.writable = false;
      co_return co_await L.ioc.writable(c.sock);
    }
    finished = true;
    const int saved = errno;
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN) {
      co_return 0;
    }
    if (e == SSL_ERROR_SYSCALL) {
      co_return saved == 0 ? EPIPE : saved;
    }
    co_return kTlsFailure;
  }

  Task<void> connect(Loop& L, Vu& vu, Conn& c, int origin, Outcome& o) {
    close(L, c);
    const auto& ep = endpoints[static_cast<std::size_t>(origin)];
    const auto& org = plan.origins[static_cast<std::size_t>(origin)];
    if (L.ioc.open(c.sock, ep.family) != 0) {
      o.failure = FailureKind::connect_error;  // out of descriptors, typically
      co_return;
    }
    const int fd = c.sock.fd;
    if (source_addresses > 1 && ep.loopback_v4) {
      // Each source address has its own ephemeral ports: spread VUs over 127.0.0.1..N.
      int one = 1;
      ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sockaddr_in src{};
      src.sin_family = AF_INET;
      src.sin_addr.s_addr = htonl((127u << 24) | static_cast<unsigned>(1 + vu.index % static_cast<std::uint64_t>(source_addresses)));
      if (::bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0) {
        close(L, c);
        o.failure = FailureKind::connect_error;
        co_return;
      }
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    const auto t0 = SteadyClock::now();
    vu.timed_out = false;
    arm(vu, c, t0, plan.connect_timeout);
    if (const int err = co_await io::connect(L.ioc, c.sock, ep.sa(), ep.len); err != 0) {
      disarm(vu);
      o.failure = vu.timed_out ? FailureKind::timeout
                               : (err == ECONNREFUSED ? FailureKind::connect_refused : FailureKind::connect_error);
      close(L, c);
      co_return;
    }
    if (org.tls) {
      c.ssl = SSL_new(ssl_ctx);
      bool ok = c.ssl != nullptr && SSL_set_fd(c.ssl, fd) == 1;
      if (ok) {
        // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
        SSL_ctrl(c.ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(org.host.c_str()));
        if (plan.tls_insecure) {
          SSL_set_verify(c.ssl, SSL_VERIFY_NONE, nullptr);
        } else {
          SSL_set_verify(c.ssl, SSL_VERIFY_PEER, nullptr);
          ok = SSL_set1_host(c.ssl, org.host.c_str()) == 1;
        }
      }
      while (ok) {
        const int r = SSL_connect(c.ssl);
        if (r == 1) {
          break;
        }
        bool finished = false;
        const int err = co_await tls_wait(L, c, r, finished);
        ok = !finished && err == 0;
      }
      if (!ok) {
        ERR_clear_error();
        disarm(vu);
        o.failure = vu.timed_out ? FailureKind::timeout : FailureKind::tls;
        close(L, c);
        co_return;
      }
    }
    disarm(vu);
    o.connect += SteadyClock::now() - t0;
    o.connected = true;
    c.open = true;
  }

  // The general send path: the rest of a partial write, and TLS. Returns 0 or an errno value.
  static Task<int> send_rest(Loop& L, Conn& c, std::string_view data) {
    std::size_t done = 0;
    while (done < data.size()) {
      if (c.ssl != nullptr) {
        const int r = SSL_write(c.ssl, data.data() + done, static_cast<int>(data.size() - done));
        if (r > 0) {
          done += static_cast<std::size_t>(r);
          continue;
        }
        bool finished = false;
        const int err = co_await tls_wait(L, c, r, finished);
        if (finished || err != 0) {
          co_return err == 0 ? EPIPE : err;
        }
        continue;
      }
      const auto n = ::send(c.sock.fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        c.sock.writable = false;
        if (const int err = co_await L.ioc.writable(c.sock); err != 0) {
          co_return err;
        }
      } else {
        co_return n < 0 ? errno : EPIPE;
      }
    }
    co_return 0;
  }

  // Reads from a TLS connection: > 0 bytes, 0 at the end of the stream, -errno on failure.
  static Task<long> tls_read(Loop& L, Conn& c, std::span<char> buf) {
    for (;;) {
      const int r = SSL_read(c.ssl, buf.data(), static_cast<int>(buf.size()));
      if (r > 0) {
        co_return r;
      }
      bool finished = false;
      const int err = co_await tls_wait(L, c, r, finished);
      if (finished || err != 0) {
        co_return -err;
      }
    }
  }

  void render_request(Vu& vu, const Step& step) {
    RenderContext ctx{vu.vars, vu.rng, vu.index + 1, vu.iteration};
    const auto& org = plan.origins[static_cast<std::size_t>(step.origin)];
    auto& out = vu.out;
    out.clear();
    out.append(step.method);
    out.push_back(' ');
    step.target.render(ctx, out);
    out.append(" HTTP/1.1\r\nHost: ");
    out.append(org.host_header);
    out.append("\r\nUser-Agent: crest/0.1\r\n");
    for (const auto& [name, value] : plan.headers) {
      out.append(name);
      out.append(": ");
      value.render(ctx, out);
      out.append("\r\n");
    }
    for (const auto& [name, value] : step.headers) {
      out.append(name);
      out.append(": ");
      value.render(ctx, out);
      out.append("\r\n");
    }
    if (plan.cookies && !vu.jar.empty()) {
      out.append("Cookie: ");
      vu.jar.append_header_value(out);
      out.append("\r\n");
    }
    if (step.has_body) {
      vu.body.clear();
      step.body.render(ctx, vu.body);
      if (!step.content_type.empty()) {
        out.append("Content-Type: ");
        out.append(step.content_type);
        out.append("\r\n");
      }
      char num[24];
      const auto written = std::to_chars(num, num + sizeof num, vu.body.size());
      out.append("Content-Length: ");
      out.append(num, written.ptr);
      out.append("\r\n\r\n");
      out.append(vu.body);
    } else {
      out.append("\r\n");
    }
  }

  Task<void> execute(Loop& L, Vu& vu, const Step& step, Outcome& o) {
    render_request(vu, step);
    if (jtl != nullptr) {
      o.wall_start = std::chrono::system_clock::now();
    }
    const auto start_t = SteadyClock::now();
    auto& c = *vu.conns[static_cast<std::size_t>(step.origin)];
    const bool head = step.method == "HEAD";
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = c.open;
      if (!c.open) {
        co_await connect(L, vu, c, step.origin, o);
        if (o.failure != FailureKind::none || L.aborted) {
          o.service = SteadyClock::now() - start_t;
          co_return;
        }
      }
      vu.timed_out = false;
      arm(vu, c, reused ? start_t : SteadyClock::now(), plan.request_timeout);
      // The plain-TCP request almost always goes out in one non-blocking send: no coroutine
      // frame for it. TLS and partial writes take the general path.
      int err = 0;
      std::size_t written = 0;
      if (c.ssl == nullptr) {
        const auto n = ::send(c.sock.fd, vu.out.data(), vu.out.size(), MSG_NOSIGNAL);
        if (n >= 0) {
          written = static_cast<std::size_t>(n);
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
          err = errno;
        }
      }
      if (err == 0 && written < vu.out.size()) {
        err = co_await send_rest(L, c, std::string_view(vu.out).substr(written));
      }
      if (err != 0) {
        disarm(vu);
        close(L, c);
        if (reused && attempt == 0 && !vu.timed_out && !L.aborted) {
          continue;  // a keep-alive connection the server had closed: reconnect once
        }
        o.failure = classify(err, vu.timed_out);
        o.service = SteadyClock::now() - start_t;
        co_return;
      }
      o.sent = vu.out.size();
      vu.in.clear();
      vu.parser.reset(head);
      bool got_any = false;
      bool retry = false;
      TimePoint read_at{};  // when the last bytes arrived: one clock read per recv
      for (;;) {
        const auto space = vu.in.space();
        if (space.empty()) {
          close(L, c);
          o.failure = FailureKind::protocol;
          o.message = "response larger than 64 MiB";
          break;
        }
        long n = 0;
        if (c.ssl != nullptr) {
          n = co_await tls_read(L, c, space);
        } else if (!c.sock.readable) {
          n = -(co_await L.ioc.readable(c.sock));  // 0 once readable, -ECANCELED
          if (n == 0) {
            continue;
          }
        } else {
          n = ::recv(c.sock.fd, space.data(), space.size(), 0);
          if (n > 0 && static_cast<std::size_t>(n) < space.size() && !c.sock.hung_up) {
            c.sock.readable = false;  // drained: the next read waits for the edge
          } else if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
              c.sock.readable = false;
              continue;
            }
            n = -errno;
          }
        }
        if (n == 0) {  // the end of the stream
          if (got_any && vu.parser.finish_on_eof(vu.in) == ResponseParser::Status::done) {
            close(L, c);
            break;
          }
          close(L, c);
          if (!got_any && reused && attempt == 0 && !L.aborted) {
            retry = true;
            break;
          }
          o.failure = FailureKind::reset;
          break;
        }
        if (n < 0) {
          const bool was_reset = n == -ECONNRESET;
          close(L, c);
          if (!got_any && reused && attempt == 0 && was_reset && !vu.timed_out && !L.aborted) {
            retry = true;
            break;
          }
          o.failure = classify(static_cast<int>(-n), vu.timed_out);
          break;
        }
        vu.in.commit(static_cast<std::size_t>(n));
        read_at = SteadyClock::now();
        if (!got_any) {
          got_any = true;
          o.ttfb = read_at - start_t;
        }
        const auto st = vu.parser.parse(vu.in);
        if (st == ResponseParser::Status::done) {
          if (!vu.parser.keep_alive()) {
            close(L, c);
          }
          break;
        }
        if (st == ResponseParser::Status::error) {
          close(L, c);
          o.failure = FailureKind::protocol;
          o.message = vu.parser.error();
          break;
        }
      }
      disarm(vu);
      if (retry) {
        continue;
      }
      o.received = vu.in.size();
      o.service = (o.failure == FailureKind::none ? read_at : SteadyClock::now()) - start_t;
      if (o.failure == FailureKind::none) {
        o.got_response = true;
        o.status = vu.parser.status();
      }
      co_return;
    }
    o.service = SteadyClock::now() - start_t;
    if (o.failure == FailureKind::none) {
      o.failure = FailureKind::reset;
    }
  }

  // ---- per-response work and recording ---------------------------------------------------

  void after_response(Loop& L, Vu& vu, const Step& step, Outcome& o) {
    const std::string_view buf = vu.in;
    auto& p = vu.parser;
    for (std::size_t i = 0; i < p.header_count(); ++i) {
      if (plan.cookies && iequals(p.header_name(buf, i), "set-cookie")) {
        vu.jar.set_from_header(p.header_value(buf, i));
      }
    }
    if (!step.checks_status && o.status >= 400) {
      o.failure = FailureKind::http_status;
    }
    if (step.checks.empty() && step.captures.empty()) {
      return;
    }
    ResponseView view;
    view.status = o.status;
    view.body = step.needs_body ? p.body(buf) : std::string_view{};
    view.header = [&p, buf](std::string_view name) { return p.header(buf, name); };
    view.cookie = [&vu](std::string_view name) { return vu.jar.get(name); };
    view.duration_ms = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(o.service + vu.lag).count()) / 1e6;
    if (!step.checks.empty()) {
      if (!evaluate_checks(step, view, L.check_passed)) {
        if (o.failure == FailureKind::none || o.failure == FailureKind::http_status) {
          o.failure = FailureKind::check_failed;
        }
        for (std::size_t i = 0; i < step.checks.size(); ++i) {
          if (!L.check_passed[i]) {
            o.failed_check = step.checks[i].id;
            break;
          }
        }
      }
    }
    // Captures run even when a check failed: later steps may still need the values.
    if (!step.captures.empty() && !apply_captures(step, view, vu.vars, nullptr) &&
        (o.failure == FailureKind::none || o.failure == FailureKind::http_status)) {
      o.failure = FailureKind::capture_failed;
    }
  }

  void record(Loop& L, Vu& vu, const Journey& journey, const Step& step, const Outcome& o) {
    {
      std::lock_guard lock(L.mu);
      auto& s = L.interval.steps[static_cast<std::size_t>(step.metric)];
      ++s.requests;
      if (o.failure != FailureKind::none) {
        ++s.failures;
        ++s.by_kind[static_cast<std::size_t>(o.failure)];
      }
      s.by_status_class[o.got_response ? static_cast<std::size_t>(std::clamp(o.status / 100, 1, 5)) : 0] += 1;
      s.service.record_us(to_us(o.service));
      s.duration.record_us(to_us(o.service + vu.lag));
      if (o.got_response) {
        s.ttfb.record_us(to_us(o.ttfb));
      }
      if (o.connected) {
        ++s.connects;
        s.connect_us_sum += to_us(o.connect);
      }
      s.bytes_sent += o.sent;
      s.bytes_received += o.received;
      if (o.got_response) {
        for (std::size_t i = 0; i < step.checks.size(); ++i) {
          const bool ok = i < L.check_passed.size() && L.check_passed[i];
          ++L.interval.checks[static_cast<std::size_t>(step.checks[i].id)][ok ? 0 : 1];
        }
      }
    }
    if (jtl != nullptr) {
      write_jtl(L, vu, journey, step, o);
    }
  }

  void write_jtl(Loop& L, Vu& vu, const Journey& journey, const Step& step, const Outcome& o) {
    auto& j = L.jtl;
    const auto ms = [](SteadyClock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    const auto ts = std::chrono::duration_cast<std::chrono::milliseconds>(o.wall_start.time_since_epoch()).count();
    fmt::format_to(std::back_inserter(j), "{},{},", ts, ms(o.service));
    csv_field(j, step.name);
    j.push_back(',');
    if (o.got_response) {
      fmt::format_to(std::back_inserter(j), "{},", o.status);
      csv_field(j, vu.parser.reason(vu.in));
    } else {
      fmt::format_to(std::back_inserter(j), "Non HTTP response code: {},Non HTTP response message: {}",
                     to_string(o.failure), failure_message(o.failure));
    }
    j.push_back(',');
    csv_field(j, fmt::format("{} 1-{}", journey.name, vu.index + 1));
    fmt::format_to(std::back_inserter(j), ",text,{},", o.failure == FailureKind::none ? "true" : "false");
    if (o.failure == FailureKind::check_failed && o.failed_check >= 0) {
      csv_field(j, plan.check_names[static_cast<std::size_t>(o.failed_check)]);
    } else if (o.failure != FailureKind::none) {
      csv_field(j, o.message.empty() ? std::string_view(failure_message(o.failure)) : o.message);
    }
    const int active = active_vus.load(std::memory_order_relaxed);
    fmt::format_to(std::back_inserter(j), ",{},{},{},{},", o.received, o.sent, active, active);
    const auto& org = plan.origins[static_cast<std::size_t>(step.origin)];
    const std::string_view first_line = std::string_view(vu.out).substr(0, vu.out.find("\r\n"));
    const auto sp1 = first_line.find(' ');
    const auto sp2 = first_line.rfind(' ');
    std::string url = std::string(org.tls ? "https://" : "http://") + org.host_header;
    url.append(first_line.substr(sp1 + 1, sp2 - sp1 - 1));
    csv_field(j, url);
    fmt::format_to(std::back_inserter(j), ",{},0,{}\n", o.got_response ? ms(o.ttfb) : 0, ms(o.connect));
    if (j.size() > 64 * 1024) {
      flush_jtl(L);
    }
  }

  void write_jtl_transaction(Loop& L, Vu& vu, const Journey& journey, const std::string& name, const JtlTransaction& t,
                             SteadyClock::duration span) {
    auto& j = L.jtl;
    const auto ms = [](SteadyClock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
    const auto ts = std::chrono::duration_cast<std::chrono::milliseconds>(t.start.time_since_epoch()).count();
    fmt::format_to(std::back_inserter(j), "{},{},", ts, ms(t.elapsed));
    csv_field(j, name);
    fmt::format_to(std::back_inserter(j), ",{},", t.failures == 0 ? "200" : "");
    csv_field(j, fmt::format("Number of samples in transaction : {}, number of failing samples : {}", t.samples, t.failures));
    j.push_back(',');
    csv_field(j, fmt::format("{} 1-{}", journey.name, vu.index + 1));
    const int active = active_vus.load(std::memory_order_relaxed);
    // IdleTime: the transaction's time outside its samplers (think time), as JMeter counts it.
    fmt::format_to(std::back_inserter(j), ",,{},,{},{},{},{},null,{},{},{}\n", t.failures == 0 ? "true" : "false", t.received, t.sent,
                   active, active, ms(t.latency), std::max<std::int64_t>(0, ms(span - t.elapsed)), ms(t.connect));
    if (j.size() > 64 * 1024) {
      flush_jtl(L);
    }
  }

  void flush_jtl(Loop& L) {
    if (jtl == nullptr || L.jtl.empty()) {
      return;
    }
    std::lock_guard lock(jtl_mu);
    std::fwrite(L.jtl.data(), 1, L.jtl.size(), jtl);
    L.jtl.clear();
  }

  // ---- iterations -------------------------------------------------------------------------

  const Journey& pick_journey(Vu& vu) {
    if (plan.journeys.size() == 1) {
      return plan.journeys.front();
    }
    std::uniform_real_distribution<double> dist(0, cumulative_weights.back());
    const double r = dist(vu.rng);
    const auto it = std::upper_bound(cumulative_weights.begin(), cumulative_weights.end(), r);
    return plan.journeys[std::min<std::size_t>(static_cast<std::size_t>(it - cumulative_weights.begin()),
                                               plan.journeys.size() - 1)];
  }

  // Rows are dealt round-robin across the run's processes, so each row goes to one of them.
  std::uint64_t next_row(std::size_t feed) {
    return feed_next[feed]->fetch_add(1) * static_cast<std::uint64_t>(shards) + static_cast<std::uint64_t>(shard);
  }

  bool take_rows(Vu& vu) {
    for (std::size_t f = 0; f < plan.feeds.size(); ++f) {
      const auto& feed = plan.feeds[f];
      const auto rows = feed.rows.size();
      std::size_t row = 0;
      switch (feed.mode) {
        case Feed::Mode::sequential:
          row = static_cast<std::size_t>(next_row(f) % rows);
          break;
        case Feed::Mode::random:
          row = std::uniform_int_distribution<std::size_t>(0, rows - 1)(vu.rng);
          break;
        case Feed::Mode::unique:
          if (vu.unique_rows[f] < 0) {
            const auto n = next_row(f);
            if (n >= rows && !feed.recycle) {
              return false;
            }
            vu.unique_rows[f] = static_cast<int>(n % rows);
          }
          row = static_cast<std::size_t>(vu.unique_rows[f]);
          break;
      }
      for (std::size_t c = 0; c < feed.columns.size(); ++c) {
        vu.vars[static_cast<std::size_t>(feed.slots[c])].assign(feed.rows[row][c]);
      }
    }
    return true;
  }

  SteadyClock::duration think_time(Vu& vu, const ThinkTime& t) {
    switch (t.kind) {
      case ThinkTime::Kind::none:
        return {};
      case ThinkTime::Kind::constant:
        return t.a;
      case ThinkTime::Kind::uniform:
        return Duration(std::uniform_int_distribution<std::int64_t>(t.a.count(), t.b.count())(vu.rng));
      case ThinkTime::Kind::normal: {
        std::normal_distribution<double> dist(static_cast<double>(t.a.count()), static_cast<double>(t.b.count()));
        return Duration(static_cast<std::int64_t>(std::max(0.0, dist(vu.rng))));
      }
    }
    return {};
  }

  Task<void> iteration(Loop& L, Vu& vu) {
    const auto started = SteadyClock::now();
    // No intended time (closed model without pacing): the iteration starts when it starts.
    vu.lag = vu.intended != TimePoint{} && started > vu.intended ? started - vu.intended : SteadyClock::duration{};
    ++vu.iteration;
    const Journey& journey = pick_journey(vu);
    const auto j = static_cast<std::size_t>(&journey - plan.journeys.data());
    if (!take_rows(vu)) {
      std::lock_guard lock(L.mu);
      ++L.interval.journeys[j].iterations;
      ++L.interval.journeys[j].failed;
      ++L.interval.steps[static_cast<std::size_t>(journey.steps.front().metric)].by_kind[static_cast<std::size_t>(FailureKind::data_exhausted)];
      vu.dead = true;
      co_return;
    }
    bool failed = false;
    int group = -1;
    TimePoint group_start{};
    JtlTransaction transaction;
    auto close_group = [&](TimePoint now) {
      if (group >= 0) {
        {
          std::lock_guard lock(L.mu);
          L.interval.groups[static_cast<std::size_t>(group)].record(now - group_start + vu.lag);
        }
        if (jtl != nullptr && transaction.samples > 0) {
          write_jtl_transaction(L, vu, journey, plan.groups[static_cast<std::size_t>(group)].name, transaction, now - group_start);
        }
      }
      transaction = {};
    };
    for (const auto& step : journey.steps) {
      if (L.aborted) {
        std::lock_guard lock(L.mu);
        ++L.interval.interrupted;
        co_return;
      }
      if (step.group != group) {
        const auto now = SteadyClock::now();
        close_group(now);
        group = step.group;
        group_start = now;
      }
      Outcome o;
      co_await execute(L, vu, step, o);
      if (L.aborted) {
        std::lock_guard lock(L.mu);
        ++L.interval.interrupted;
        co_return;
      }
      if (o.got_response) {
        after_response(L, vu, step, o);
      }
      record(L, vu, journey, step, o);
      if (group >= 0 && jtl != nullptr) {
        transaction.add(o);
      }
      if (o.failure != FailureKind::none) {
        failed = true;
        if (o.failure != FailureKind::http_status && o.failure != FailureKind::check_failed) {
          break;  // transport errors and missing captures end the iteration
        }
      }
      const auto think = think_time(vu, step.think);
      if (think.count() > 0) {
        co_await L.ioc.sleep_until(vu.timer, SteadyClock::now() + think);
      }
    }
    const auto now = SteadyClock::now();
    close_group(now);
    std::lock_guard lock(L.mu);
    auto& js = L.interval.journeys[j];
    ++js.iterations;
    js.failed += failed ? 1 : 0;
    js.iteration.record(now - started + vu.lag);
  }

  Task<void> vu_loop(Loop& L, Vu& vu) {
    ++L.running;
    vu_started();
    vu.intended = SteadyClock::now();
    while (!L.stopping && !L.aborted && !vu.dead && vu.index < static_cast<std::uint64_t>(L.target)) {
      const auto suspensions = L.ioc.suspensions();
      co_await iteration(L, vu);
      if (L.ioc.suspensions() == suspensions) {
        co_await L.ioc.yield();  // it never waited (a refused connect): let the others run
      }
      if (plan.load.pacing.count() > 0) {
        vu.intended += plan.load.pacing;
        if (SteadyClock::now() < vu.intended && !L.stopping) {
          vu.pacing_wait = true;
          co_await L.ioc.sleep_until(vu.timer, vu.intended);
          vu.pacing_wait = false;
        }
      } else {
        vu.intended = {};
      }
    }
    vu.running = false;
    active_vus.fetch_sub(1, std::memory_order_relaxed);
    --L.running;
  }

  Task<void> arrival_iteration(Loop& L, Vu& vu) {
    co_await iteration(L, vu);
    vu.running = false;
    L.free_vus.push_back(&vu);
    active_vus.fetch_sub(1, std::memory_order_relaxed);
    --L.running;
  }

  Task<void> arrival_loop(Loop& L) {
    ++L.running;  // keeps the loop alive while arrivals remain
    for (auto k = static_cast<std::uint64_t>(L.index);; k += static_cast<std::uint64_t>(nloops)) {
      const auto t = arrivals.time_of(k);
      if (!t) {
        break;
      }
      const auto due = start + *t;
      if (SteadyClock::now() < due) {
        co_await L.ioc.sleep_until(L.arrival_timer, due);
      }
      // Every arrival due before the end is run or counted as dropped, even when this loop is
      // late; only an abort or a stop request ends the schedule early.
      if (L.aborted || stop_requested.load()) {
        break;
      }
      Vu* vu = nullptr;
      if (!L.free_vus.empty()) {
        vu = L.free_vus.back();
        L.free_vus.pop_back();
      } else if (L.vus.size() < L.max_vus_here) {
        vu = &new_vu(L, static_cast<std::uint64_t>(L.index) + L.vus.size() * static_cast<std::uint64_t>(nloops));
      }
      if (vu == nullptr) {
        std::lock_guard lock(L.mu);
        ++L.interval.dropped;  // no free virtual user: counted, never silently lost
        continue;
      }
      if (vu->dead) {
        continue;
      }
      vu->intended = due;
      vu->running = true;
      ++L.running;
      vu_started();
      L.ioc.spawn(arrival_iteration(L, *vu));
    }
    --L.running;
  }

  void hard_stop(Loop& L) {
    L.aborted = true;
    for (auto& vu : L.vus) {
      L.ioc.cancel(vu->timer);
      for (auto& c : vu->conns) {
        L.ioc.cancel(c->sock);
      }
    }
    L.ioc.cancel(L.arrival_timer);
  }

  Task<void> sweep(Loop& L) {
    // Timeouts: one timer per loop instead of one per request.
    while (!L.done) {
      co_await L.ioc.sleep_until(L.sweeper, SteadyClock::now() + std::chrono::milliseconds(20));
      const auto now = SteadyClock::now();
      for (auto& vu : L.vus) {
        if (vu->deadline < now && vu->deadline_conn != nullptr) {
          vu->timed_out = true;
          L.ioc.cancel(vu->deadline_conn->sock);
          vu->deadline = kNoDeadline;
        }
      }
    }
  }

  Task<void> control(Loop& L) {
    const bool open_model = is_arrival(plan.load.executor);
    if (open_model) {
      L.ioc.spawn(arrival_loop(L));
    }
    for (;;) {
      const auto now = SteadyClock::now();
      if (!L.stopping && (now >= end || stop_requested.load())) {
        L.stopping = true;
        L.ioc.cancel(L.arrival_timer);
        // Cut pacing waits (think time inside an iteration still runs until the hard stop).
        for (auto& vu : L.vus) {
          if (vu->pacing_wait) {
            L.ioc.cancel(vu->timer);
          }
        }
      }
      if (!L.aborted && (hard_stop_requested.load() || (L.stopping && now >= hard_deadline))) {
        hard_stop(L);
      }
      if (L.stopping && L.running == 0) {
        break;
      }
      if (L.aborted && now >= hard_deadline + std::chrono::seconds(2)) {
        L.ioc.stop();  // something did not unwind: give up on it
        break;
      }
      if (!open_model && !L.stopping) {
        L.target = vu_schedule.target_at(now - start);
        for (auto& vu : L.vus) {
          if (!vu->running && !vu->dead && vu->index < static_cast<std::uint64_t>(L.target)) {
            vu->running = true;
            L.ioc.spawn(vu_loop(L, *vu));
          }
        }
      }
      const auto period = std::chrono::milliseconds(plan.load.executor == Executor::ramping_vus ? 50 : 100);
      co_await L.ioc.sleep_until(L.control, SteadyClock::now() + period);
    }
    L.done = true;
    L.ioc.cancel(L.sweeper);
  }

  void run_loop(Loop& L) {
    L.ioc.spawn(control(L));
    L.ioc.spawn(sweep(L));
    L.ioc.run();
    flush_jtl(L);
    loops_done.fetch_add(1);
  }
};

Result<Endpoint> resolve(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Error{ErrorKind::unavailable, "cannot resolve " + host + ": " + ::gai_strerror(rc)};
  }
  Endpoint ep;
  std::memcpy(&ep.addr, found->ai_addr, found->ai_addrlen);
  ep.len = found->ai_addrlen;
  ep.family = found->ai_family;
  ep.loopback_v4 = found->ai_family == AF_INET &&
                   (ntohl(reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr.s_addr) >> 24) == 127;
  ::freeaddrinfo(found);
  return ep;
}

}  // namespace

RunResult run_plan(const Plan& plan, const RunOptions& options) {
  RunResult result;
  result.totals = MetricSet(plan.step_names.size(), plan.journeys.size(), plan.groups.size(), plan.check_names.size());
  Engine e(plan, options);
  // Resolve every origin once, before anything is sent.
  for (const auto& o : plan.origins) {
    auto ep = resolve(o.host, o.port);
    if (!ep.ok()) {
      result.error = ep.error().message;
      return result;
    }
    e.endpoints.push_back(*ep);
  }
  if (std::any_of(plan.origins.begin(), plan.origins.end(), [](const Origin& o) { return o.tls; })) {
    e.ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (e.ssl_ctx == nullptr) {
      result.error = "cannot create a TLS context (OpenSSL)";
      return result;
    }
    SSL_CTX_set_default_verify_paths(e.ssl_ctx);
    SSL_CTX_set_options(e.ssl_ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);  // a close without close_notify ends the stream
    // OpenSSL writes with write(2): a peer that closed must not kill the process (a handler
    // the program installed itself stays).
    if (const auto previous = std::signal(SIGPIPE, SIG_IGN); previous != SIG_DFL && previous != SIG_ERR) {
      std::signal(SIGPIPE, previous);
    }
  }
  const auto& load = plan.load;
  const int peak = std::max(1, load.peak_vus());
  const int shards = std::max(1, options.shard_count);
  const int shard = std::clamp(options.shard_index, 0, shards - 1);
  int threads = options.threads > 0 ? options.threads : load.threads;
  if (threads <= 0) {
    threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  threads = std::max(1, std::min(threads, peak / shards));
  e.nloops = threads * shards;
  e.shard = shard;
  e.shards = shards;
  if (load.source_addresses > 0) {
    e.source_addresses = load.source_addresses;
  } else if (peak > 5000 && e.endpoints[0].loopback_v4) {
    // Past a few thousand connections from one source address the kernel's ephemeral-port search
    // in connect() grows to milliseconds per call (measured: 1.2 ms at 14 000), and past ~28 000
    // it runs out: give each loopback source address at most 5 000 connections.
    e.source_addresses = std::min(250, peak / 5000 + 1);
  }
  e.arrivals = ArrivalSchedule::from(load);
  e.vu_schedule = VuSchedule::from(load);
  double w = 0;
  for (const auto& j : plan.journeys) {
    w += j.weight;
    e.cumulative_weights.push_back(w);
  }
  for (std::size_t f = 0; f < plan.feeds.size(); ++f) {
    e.feed_next.push_back(std::make_unique<std::atomic<std::uint64_t>>(0));
  }
  if (!options.jtl_path.empty()) {
    e.jtl = std::fopen(options.jtl_path.c_str(), "w");
    if (e.jtl == nullptr) {
      result.error = "cannot write " + options.jtl_path;
      return result;
    }
    std::fprintf(e.jtl, "%s\n", kJtlHeader);
  }
  for (int i = 0; i < threads; ++i) {
    const int g = shard * threads + i;  // this loop's index in the whole run
    auto L = std::make_unique<Loop>(e, g, plan);
    L->check_passed.reserve(16);
    const auto share = [&](int total) {
      return static_cast<std::size_t>(total / e.nloops + (g < total % e.nloops ? 1 : 0));
    };
    const auto vu_index = [&](std::size_t k) {
      return static_cast<std::uint64_t>(g) + k * static_cast<std::uint64_t>(e.nloops);
    };
    if (is_arrival(load.executor)) {
      L->max_vus_here = share(load.max_vus);
      const auto pre = share(load.pre_allocated_vus);
      for (std::size_t k = 0; k < pre; ++k) {
        e.new_vu(*L, vu_index(k));
        L->free_vus.push_back(L->vus.back().get());
      }
    } else {
      L->max_vus_here = share(peak);
      for (std::size_t k = 0; k < L->max_vus_here; ++k) {
        e.new_vu(*L, vu_index(k));
      }
    }
    e.loops.push_back(std::move(L));
  }

  e.start = SteadyClock::now();
  e.end = e.start + load.total_duration();
  e.hard_deadline = e.end + load.graceful_stop;
  std::vector<std::thread> workers;
  for (auto& L : e.loops) {
    workers.emplace_back([&e, loop = L.get()] { e.run_loop(*loop); });
  }

  MetricSet interval(plan.step_names.size(), plan.journeys.size(), plan.groups.size(), plan.check_names.size());
  const double total_s = static_cast<double>(load.total_duration().count()) / 1e9;
  auto tick = [&](bool final) {
    interval.reset();
    for (auto& L : e.loops) {
      std::lock_guard lock(L->mu);
      interval.merge(L->interval);
      L->interval.reset();
    }
    result.totals.merge(interval);
    TimelinePoint point;
    point.t = std::chrono::duration<double>(SteadyClock::now() - e.start).count();
    point.active_vus = e.active_vus.load();
    point.dropped = interval.dropped;
    for (const auto& s : interval.steps) {
      point.requests += s.requests;
      point.failures += s.failures;
      point.bytes_received += s.bytes_received;
      point.bytes_sent += s.bytes_sent;
      point.duration.merge(s.duration);
      point.step_requests.push_back(s.requests);
      point.step_failures.push_back(s.failures);
      point.step_histograms.push_back(s.duration.serialise());
    }
    result.peak_vus = std::max(result.peak_vus, point.active_vus);
    result.timeline.push_back(std::move(point));
    if (options.on_tick) {
      Progress p{result.timeline.back().t, total_s, result.timeline.back().active_vus, &result.totals,
                 &result.timeline.back()};
      options.on_tick(p, final);
    }
    if (!final && options.should_abort && options.should_abort(result.totals, result.timeline.back().t)) {
      result.aborted = true;
      e.stop_requested = true;
      e.hard_stop_requested = true;
    }
  };

  auto next_tick = e.start + std::chrono::seconds(1);
  while (e.loops_done.load() < threads) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (options.stop != nullptr && options.stop->load() && !e.stop_requested.load()) {
      e.stop_requested = true;
      result.aborted = true;
    }
    if (SteadyClock::now() >= next_tick && e.loops_done.load() < threads) {
      tick(false);
      next_tick += std::chrono::seconds(1);
    }
  }
  for (auto& t : workers) {
    t.join();
  }
  result.elapsed_s = std::chrono::duration<double>(SteadyClock::now() - e.start).count();
  // The last partial interval (its point's t marks the real end).
  tick(true);
  result.elapsed_s = std::max(result.elapsed_s, 1e-9);
  result.threads = threads;
  result.peak_vus = std::max(result.peak_vus, e.peak_active.load());
  result.source_addresses = e.source_addresses;
  if (e.jtl != nullptr) {
    std::fclose(e.jtl);
  }
  return result;
}

}  // namespace crest::load
