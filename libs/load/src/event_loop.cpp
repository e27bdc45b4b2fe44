#include "event_loop.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <ctime>
#include <functional>
#include <new>

namespace crest::load::io {

// ---- frame pool ----------------------------------------------------------------------------

namespace {

constexpr std::size_t kFrameClass = 128;   // bytes per size class
constexpr std::size_t kFrameClasses = 32;  // up to 4 KiB; larger frames go to operator new

// Free frames of one size class, linked through their own first bytes.
struct FreeFrame {
  FreeFrame* next;
};

struct FramePool {
  std::array<FreeFrame*, kFrameClasses> free{};
  FramePool() = default;
  FramePool(const FramePool&) = delete;
  FramePool& operator=(const FramePool&) = delete;
  ~FramePool() {
    for (FreeFrame* f : free) {
      while (f != nullptr) {
        FreeFrame* next = f->next;
        ::operator delete(f);
        f = next;
      }
    }
  }
};

thread_local FramePool t_frames;

std::size_t frame_class(std::size_t size) {
  return (size + kFrameClass - 1) / kFrameClass;
}

}  // namespace

void* allocate_frame(std::size_t size) {
  const auto c = frame_class(size);
  if (c < kFrameClasses) {
    if (FreeFrame* f = t_frames.free[c]; f != nullptr) {
      t_frames.free[c] = f->next;
      return f;
    }
    return ::operator new(c* kFrameClass);
  }
  return ::operator new(size);
}

void free_frame(void* p, std::size_t size) noexcept {
  const auto c = frame_class(size);
  if (c < kFrameClasses) {
    auto* f = static_cast<FreeFrame*>(p);
    f->next = t_frames.free[c];
    t_frames.free[c] = f;
    return;
  }
  ::operator delete(p);
}

// ---- spawned coroutines ----------------------------------------------------------------------

void Loop::Root::link(Loop& l) {
  loop = &l;
  next = l.roots_;
  if (next != nullptr) {
    next->prev = this;
  }
  l.roots_ = this;
}

void Loop::Root::unlink() {
  if (prev != nullptr) {
    prev->next = next;
  } else {
    loop->roots_ = next;
  }
  if (next != nullptr) {
    next->prev = prev;
  }
}

namespace {

struct Spawned {
  struct promise_type : Loop::Root {
    promise_type(Loop& l, Task<void>& /*task*/) { link(l); }
    ~promise_type() { unlink(); }
    static void* operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void* p, std::size_t size) noexcept { free_frame(p, size); }
    Spawned get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

Spawned run_spawned(Loop& /*loop*/, Task<void> task) {
  co_await task;
}

}  // namespace

// ---- the loop ---------------------------------------------------------------------------------

Loop::Loop() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
  ready_.reserve(256);
  running_.reserve(256);
}

Loop::~Loop() {
  // Whatever is still suspended (a stop() cut it short) is destroyed with its whole await chain.
  while (roots_ != nullptr) {
    auto* p = static_cast<Spawned::promise_type*>(roots_);
    std::coroutine_handle<Spawned::promise_type>::from_promise(*p).destroy();  // unlinks itself
  }
  if (epfd_ >= 0) {
    ::close(epfd_);
  }
}

void Loop::spawn(Task<void> task) {
  run_spawned(*this, std::move(task));
}

int Loop::open(Socket& s, int family) {
  close(s);
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return errno;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &s;
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    ::close(fd);
    return err;
  }
  s.fd = fd;
  s.readable = false;
  s.writable = false;
  s.hung_up = false;
  return 0;
}

void Loop::close(Socket& s) {
  if (s.fd >= 0) {
    ::close(s.fd);  // also leaves the epoll set: the descriptor is not shared
    s.fd = -1;
  }
  s.readable = false;
  s.writable = false;
  s.hung_up = false;
}

void Loop::cancel(Socket& s) {
  if (s.reader) {
    --waiting_;
    s.read_result = ECANCELED;
    resume_later(std::exchange(s.reader, {}));
  }
  if (s.writer) {
    --waiting_;
    s.write_result = ECANCELED;
    resume_later(std::exchange(s.writer, {}));
  }
}

void Loop::arm(Timer& t, TimePoint when, std::coroutine_handle<> h) {
  t.waiter = h;
  t.expired = false;
  ++armed_timers_;
  timers_.push_back(TimerEntry{when, t.generation, &t});
  std::push_heap(timers_.begin(), timers_.end(), std::greater<>{});
}

void Loop::cancel(Timer& t) {
  if (t.waiter) {
    ++t.generation;  // its heap entry is now stale
    --armed_timers_;
    t.expired = false;
    resume_later(std::exchange(t.waiter, {}));
  }
}

void Loop::run_ready() {
  // One round: what these make ready runs after the next epoll_wait and timers, so a coroutine
  // that keeps yielding cannot starve I/O.
  running_.swap(ready_);
  for (auto h : running_) {
    h.resume();
    if (stopped_) {
      break;
    }
  }
  running_.clear();
}

void Loop::fire_due_timers(TimePoint now) {
  while (!timers_.empty() && timers_.front().when <= now && !stopped_) {
    std::pop_heap(timers_.begin(), timers_.end(), std::greater<>{});
    const TimerEntry e = timers_.back();
    timers_.pop_back();
    Timer& t = *e.timer;
    if (e.generation != t.generation || !t.waiter) {
      continue;  // cancelled (and perhaps re-armed) since
    }
    ++t.generation;
    --armed_timers_;
    t.expired = true;
    std::exchange(t.waiter, {}).resume();
  }
}

void Loop::dispatch(std::uint32_t events, Socket& s) {
  if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    s.hung_up = true;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
    s.readable = true;
    if (s.reader) {
      --waiting_;
      s.read_result = 0;
      std::exchange(s.reader, {}).resume();
    }
  }
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) {
    s.writable = true;
    if (s.writer) {
      --waiting_;
      s.write_result = 0;
      std::exchange(s.writer, {}).resume();
    }
  }
}

void Loop::run() {
  std::array<epoll_event, 256> events{};
  stopped_ = false;
  while (!stopped_) {
    run_ready();
    if (!timers_.empty()) {
      fire_due_timers(Clock::now());
    }
    if (stopped_ || (ready_.empty() && waiting_ == 0 && armed_timers_ == 0)) {
      break;
    }
    timespec timeout{};
    timespec* wait = nullptr;
    if (!ready_.empty()) {
      wait = &timeout;
    } else if (!timers_.empty()) {
      const auto left = timers_.front().when - Clock::now();
      if (left.count() > 0) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        timeout.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
        timeout.tv_nsec = static_cast<long>(ns % 1'000'000'000);
      }
      wait = &timeout;
    }
    int n = -1;
    if (has_pwait2_) {
      n = ::epoll_pwait2(epfd_, events.data(), static_cast<int>(events.size()), wait, nullptr);
      if (n < 0 && errno == ENOSYS) {
        has_pwait2_ = false;  // kernels before 5.11 (and valgrind): millisecond timeouts instead
      }
    }
    if (!has_pwait2_) {
      const int ms =
          wait == nullptr
              ? -1
              : static_cast<int>(wait->tv_sec * 1000 + (wait->tv_nsec + 999'999) / 1'000'000);
      n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), ms);
    }
    for (int i = 0; i < n && !stopped_; ++i) {
      dispatch(events[static_cast<std::size_t>(i)].events,
               *static_cast<Socket*>(events[static_cast<std::size_t>(i)].data.ptr));
    }
  }
}

// ---- connect -----------------------------------------------------------------------------------

Task<int> connect(Loop& loop, Socket& s, const sockaddr* addr, socklen_t len) {
  if (::connect(s.fd, addr, len) == 0) {
    co_return 0;
  }
  if (errno != EINPROGRESS) {
    co_return errno;
  }
  s.writable = false;
  if (const int err = co_await loop.writable(s); err != 0) {
    co_return err;
  }
  int err = 0;
  socklen_t size = sizeof err;
  if (::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &size) != 0) {
    co_return errno;
  }
  co_return err;
}

}  // namespace crest::load::io
