#pragma once
// The load engine's event loop: one per thread — edge-triggered epoll, a timer heap and C++20
// coroutines, nothing else. Hand-written instead of Boost.Asio because the engine's user-space
// time per request is what `crest run` competes on (bench/load_vs_peers.sh): no type-erased
// handlers, no operation objects, no locks, and coroutine frames come from per-thread free lists.
//
// Readiness is tracked per socket: a read that comes back short (or EAGAIN) clears `readable`,
// and only then does the next read wait for epoll's edge. A request/response exchange therefore
// costs one send, one recv and a share of one epoll_wait — no EAGAIN read, no epoll_ctl.
// Single-threaded by design: a Loop, its sockets, timers and coroutines belong to one thread.
#include <sys/socket.h>

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <type_traits>
#include <utility>
#include <vector>

namespace crest::load::io {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

// Coroutine frames: size-classed free lists per thread, so steady state never calls malloc.
void* allocate_frame(std::size_t size);
void free_frame(void* p, std::size_t size) noexcept;

template <typename T = void>
class Task;

namespace detail {
struct PromiseBase {
  std::coroutine_handle<> continuation = std::noop_coroutine();
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* p, std::size_t size) noexcept { free_frame(p, size); }
  std::suspend_always initial_suspend() noexcept { return {}; }
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
      return h.promise().continuation;  // symmetric transfer back to the awaiting coroutine
    }
    void await_resume() noexcept {}
  };
  FinalAwaiter final_suspend() noexcept { return {}; }
  // The engine's coroutines do not throw; one that does is a bug worth a core dump.
  void unhandled_exception() noexcept { std::terminate(); }
};

template <typename T>
struct Promise : PromiseBase {
  T value{};
  Task<T> get_return_object();
  void return_value(T v) { value = std::move(v); }
};
template <>
struct Promise<void> : PromiseBase {
  Task<void> get_return_object();
  void return_void() noexcept {}
};
}  // namespace detail

// A lazily started coroutine; `co_await task` runs it and yields its value.
template <typename T>
class Task {
 public:
  using promise_type = detail::Promise<T>;
  explicit Task(std::coroutine_handle<promise_type> h) : h_(h) {}
  Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
  Task& operator=(Task&&) = delete;
  ~Task() {
    if (h_) {
      h_.destroy();
    }
  }
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
    h_.promise().continuation = awaiting;
    return h_;  // start the task (it is lazy); it transfers back when done
  }
  T await_resume() {
    if constexpr (!std::is_void_v<T>) {
      return std::move(h_.promise().value);
    }
  }

 private:
  std::coroutine_handle<promise_type> h_;
};

namespace detail {
template <typename T>
Task<T> Promise<T>::get_return_object() {
  return Task<T>(std::coroutine_handle<Promise<T>>::from_promise(*this));
}
inline Task<void> Promise<void>::get_return_object() {
  return Task<void>(std::coroutine_handle<Promise<void>>::from_promise(*this));
}
}  // namespace detail

class Loop;

// A non-blocking TCP socket registered with its loop's epoll once (IN, OUT, RDHUP, edge-triggered).
struct Socket {
  int fd = -1;
  bool readable = false;  // an edge said so and no read has drained it since
  bool writable = false;
  bool hung_up = false;  // the peer closed or reset: reads never wait again
  std::coroutine_handle<> reader;
  std::coroutine_handle<> writer;
  int read_result = 0;  // what the waiting reader resumes with: 0 or ECANCELED
  int write_result = 0;
};

// A one-shot timer; a coroutine waits on at most one at a time.
struct Timer {
  std::coroutine_handle<> waiter;
  std::uint64_t generation = 0;  // bumped on cancel: heap entries of older generations are stale
  bool expired = false;
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  bool ok() const { return epfd_ >= 0; }

  // Runs until stop() or until nothing can happen any more (no ready, waiting or timed work).
  void run();
  void stop() { stopped_ = true; }

  // Starts a coroutine now (up to its first suspension); the loop owns it until it finishes and
  // destroys it if the loop ends first.
  void spawn(Task<void> task);

  // Sockets. open() makes a non-blocking stream socket and registers it; close() is idempotent.
  // Both return 0 or an errno value.
  int open(Socket& s, int family);
  void close(Socket& s);
  // Resumes a coroutine waiting on the socket with ECANCELED (from the loop, not inline).
  void cancel(Socket& s);

  // Awaitables: resume with 0 when ready, ECANCELED when cancelled.
  auto readable(Socket& s) { return IoAwaiter{this, &s, true}; }
  auto writable(Socket& s) { return IoAwaiter{this, &s, false}; }
  // How many times a coroutine has waited on a socket or timer: unchanged across a call means
  // the call never suspended.
  std::uint64_t suspensions() const { return suspensions_; }
  // Lets every other ready coroutine run, then resumes (after this round's epoll and timers).
  auto yield() { return YieldAwaiter{this}; }
  // Resumes with true at `when`, false when cancelled first.
  auto sleep_until(Timer& t, TimePoint when) { return TimerAwaiter{this, &t, when}; }
  void cancel(Timer& t);

  struct IoAwaiter {
    Loop* loop;
    Socket* s;
    bool read;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      (read ? s->reader : s->writer) = h;
      ++loop->waiting_;
      ++loop->suspensions_;
    }
    int await_resume() const noexcept { return read ? s->read_result : s->write_result; }
  };
  struct YieldAwaiter {
    Loop* loop;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) { loop->resume_later(h); }
    void await_resume() const noexcept {}
  };
  struct TimerAwaiter {
    Loop* loop;
    Timer* t;
    TimePoint when;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
      loop->arm(*t, when, h);
      ++loop->suspensions_;
    }
    bool await_resume() const noexcept { return t->expired; }
  };
  // The base of a spawned coroutine's promise: linked into the loop's list until it finishes, so
  // a loop that ends first can destroy what is still suspended.
  struct Root {
    Loop* loop = nullptr;
    Root* prev = nullptr;
    Root* next = nullptr;
    void link(Loop& l);
    void unlink();
  };

 private:
  struct TimerEntry {
    TimePoint when;
    std::uint64_t generation;
    Timer* timer;
    bool operator>(const TimerEntry& o) const { return when > o.when; }
  };
  void arm(Timer& t, TimePoint when, std::coroutine_handle<> h);
  void resume_later(std::coroutine_handle<> h) { ready_.push_back(h); }
  void run_ready();
  void fire_due_timers(TimePoint now);
  void dispatch(std::uint32_t events, Socket& s);

  int epfd_ = -1;
  bool stopped_ = false;
  bool has_pwait2_ = true;   // epoll_pwait2: nanosecond timeouts
  std::size_t waiting_ = 0;  // coroutines suspended on a socket
  std::size_t armed_timers_ = 0;
  std::uint64_t suspensions_ = 0;  // timers with a waiter (the heap may also hold stale entries)
  std::vector<std::coroutine_handle<>> ready_;
  std::vector<std::coroutine_handle<>> running_;
  std::vector<TimerEntry> timers_;  // a min-heap on `when`
  Root* roots_ = nullptr;           // spawned and not finished: an intrusive list
};

// Connects a socket opened with Loop::open; returns 0 or an errno value (ECANCELED if cancelled).
Task<int> connect(Loop& loop, Socket& s, const sockaddr* addr, socklen_t len);

}  // namespace crest::load::io
