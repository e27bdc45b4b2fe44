#include "event_loop.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

namespace crest::load::io {
namespace {

using std::chrono::milliseconds;

struct Listener {
  int fd = -1;
  sockaddr_in addr{};
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::listen(fd, 16);
  }
  ~Listener() { ::close(fd); }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
};

TEST(EventLoop, TimersFireInOrderAtTheirTimeAndTheLoopEndsWhenIdle) {
  Loop loop;
  ASSERT_TRUE(loop.ok());
  std::vector<int> order;
  Timer a;
  Timer b;
  const auto start = Clock::now();
  auto wait = [&](Timer& t, int ms, int tag) -> Task<void> {
    const bool expired = co_await loop.sleep_until(t, start + milliseconds(ms));
    EXPECT_TRUE(expired);
    EXPECT_GE(Clock::now() - start, milliseconds(ms));
    order.push_back(tag);
  };
  loop.spawn(wait(a, 30, 2));
  loop.spawn(wait(b, 10, 1));
  loop.run();  // returns by itself: nothing left to wait for
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_LT(Clock::now() - start, milliseconds(500));
}

TEST(EventLoop, CancellingATimerResumesItsWaiterWithFalseAtOnce) {
  Loop loop;
  Timer long_timer;
  Timer short_timer;
  bool result = true;
  const auto start = Clock::now();
  // Coroutine lambdas live in named variables: a frame refers to its closure.
  auto sleeper = [&]() -> Task<void> {
    result = co_await loop.sleep_until(long_timer, start + std::chrono::hours(1));
  };
  auto canceller = [&]() -> Task<void> {
    co_await loop.sleep_until(short_timer, start + milliseconds(5));
    loop.cancel(long_timer);
  };
  loop.spawn(sleeper());
  loop.spawn(canceller());
  loop.run();
  EXPECT_FALSE(result);
  EXPECT_LT(Clock::now() - start,
            milliseconds(500));  // the stale heap entry does not keep it alive
}

TEST(EventLoop, NestedTasksReturnValues) {
  Loop loop;
  int got = 0;
  auto inner = [](int x) -> Task<int> { co_return x * 2; };
  auto outer = [&]() -> Task<void> {
    int sum = 0;
    for (int i = 0; i < 1000; ++i) {
      sum += co_await inner(i);
    }
    got = sum;
  };
  loop.spawn(outer());
  loop.run();
  EXPECT_EQ(got, 999 * 1000);
}

TEST(EventLoop, SocketConnectsReadsAndIsCancelled) {
  Loop loop;
  Listener l;
  Socket s;
  ASSERT_EQ(loop.open(s, AF_INET), 0);
  std::string received;
  int cancelled_with = 0;
  Timer t;
  auto client = [&]() -> Task<void> {
    EXPECT_EQ(co_await connect(loop, s, l.sa(), sizeof l.addr), 0);
    const int peer = ::accept(l.fd, nullptr, nullptr);
    EXPECT_EQ(::send(peer, "hello", 5, 0), 5);
    char buf[64];
    for (;;) {
      if (!s.readable && co_await loop.readable(s) != 0) {
        break;
      }
      const auto n = ::recv(s.fd, buf, sizeof buf, 0);
      if (n > 0) {
        received.append(buf, static_cast<std::size_t>(n));
        s.readable = false;
        if (received.size() >= 5) {
          break;
        }
      } else if (n < 0 && errno == EAGAIN) {
        s.readable = false;
      }
    }
    // Nothing more comes: only the cancel ends this wait.
    cancelled_with = co_await loop.readable(s);
    ::close(peer);
  };
  auto canceller = [&]() -> Task<void> {
    co_await loop.sleep_until(t, Clock::now() + milliseconds(20));
    loop.cancel(s);
  };
  loop.spawn(client());
  loop.spawn(canceller());
  loop.run();
  EXPECT_EQ(received, "hello");
  EXPECT_EQ(cancelled_with, ECANCELED);
  loop.close(s);
  EXPECT_EQ(s.fd, -1);
}

TEST(EventLoop, ConnectToAClosedPortIsRefused) {
  Loop loop;
  sockaddr_in addr{};
  {
    Listener l;
    addr = l.addr;
  }  // closed: nothing listens there any more
  Socket s;
  ASSERT_EQ(loop.open(s, AF_INET), 0);
  int err = 0;
  auto client = [&]() -> Task<void> {
    err = co_await connect(loop, s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  };
  loop.spawn(client());
  loop.run();
  EXPECT_EQ(err, ECONNREFUSED);
  loop.close(s);
}

TEST(EventLoop, ALoopStoppedEarlyDestroysWhatIsStillSuspended) {
  int alive = 0;
  struct Guard {
    int* n;
    explicit Guard(int* c) : n(c) { ++*n; }
    ~Guard() { --*n; }
  };
  Timer t;
  {
    Loop loop;
    Timer stopper;
    auto sleeper = [&]() -> Task<void> {
      Guard g(&alive);
      co_await loop.sleep_until(t, Clock::now() + std::chrono::hours(1));
    };
    auto stop = [&]() -> Task<void> {
      co_await loop.sleep_until(stopper, Clock::now() + milliseconds(5));
      loop.stop();
    };
    loop.spawn(sleeper());
    loop.spawn(stop());
    loop.run();
    EXPECT_EQ(alive, 1);
  }
  EXPECT_EQ(alive, 0);
}

TEST(EventLoop, FramesAreReusedFromTheFreeList) {
  void* a = allocate_frame(300);
  free_frame(a, 300);
  void* b = allocate_frame(290);  // same size class
  EXPECT_EQ(a, b);
  free_frame(b, 290);
  void* big = allocate_frame(1 << 20);  // beyond the classes: plain operator new
  free_frame(big, 1 << 20);
}

}  // namespace
}  // namespace crest::load::io
