#include "coordinator_socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace crest::load {
namespace {

std::string describe(const sockaddr* sa) {
  char host[NI_MAXHOST];
  char port[NI_MAXSERV];
  const socklen_t len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6)
                                                  : static_cast<socklen_t>(sizeof(sockaddr_in));
  if (::getnameinfo(sa, len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return "?";
  }
  return sa->sa_family == AF_INET6 ? fmt::format("[{}]:{}", host, port)
                                   : fmt::format("{}:{}", host, port);
}

using AddrList = std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)>;

Result<AddrList> resolve(const HostPort& at, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : 0;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(at.host.empty() ? nullptr : at.host.c_str(),
                               std::to_string(at.port).c_str(), &hints, &found);
  if (rc != 0) {
    return Error{ErrorKind::unavailable,
                 fmt::format("cannot resolve {}: {}", at.host, ::gai_strerror(rc))};
  }
  return AddrList(found, &::freeaddrinfo);
}

}  // namespace

Result<Listener> listen_tcp(const HostPort& at) {
  auto list = resolve(at, true);
  if (!list.ok()) {
    return list.error();
  }
  int last_errno = 0;
  for (const addrinfo* a = list->get(); a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 128) != 0) {
      last_errno = errno;
      ::close(fd);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
    return Listener{fd, describe(reinterpret_cast<sockaddr*>(&bound))};
  }
  return Error{ErrorKind::unavailable, fmt::format("cannot listen on {}:{}: {}", at.host, at.port,
                                                   std::strerror(last_errno))};
}

Result<int> connect_tcp(const HostPort& to) {
  auto list = resolve(to, false);
  if (!list.ok()) {
    return list.error();
  }
  int last_errno = 0;
  for (const addrinfo* a = list->get(); a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_errno = errno;
      continue;
    }
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      last_errno = errno;
      ::close(fd);
      continue;
    }
    const int one = 1;
    const int idle = 20;
    const int interval = 5;
    const int count = 6;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    ::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
    return fd;
  }
  return Error{ErrorKind::unavailable, std::strerror(last_errno)};
}

int accept_tcp(int listener, std::string* peer) {
  sockaddr_storage from{};
  socklen_t len = sizeof from;
  const int fd =
      ::accept4(listener, reinterpret_cast<sockaddr*>(&from), &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd >= 0) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (peer != nullptr) {
      *peer = describe(reinterpret_cast<sockaddr*>(&from));
    }
  }
  return fd;
}

bool send_all(int fd, std::string_view bytes, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!bytes.empty()) {
    const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
      return false;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
  }
  return true;
}

std::string random_hex(std::size_t n) {
  std::string bytes(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n));
  std::string hex;
  for (unsigned char c : bytes) {
    hex += fmt::format("{:02x}", c);
  }
  return hex;
}

}  // namespace crest::load
