#include "loopback_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace crest::stack {

Result<LoopbackResponse> loopback_get(std::uint16_t port, const std::string& target,
                                      std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Error{ErrorKind::unavailable, std::strerror(errno)};
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto deadline = Clock::now() + timeout;
  auto wait = [&](short events) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    return ::poll(&p, 1, static_cast<int>(left)) == 1;
  };
  auto fail = [&](ErrorKind kind, const std::string& what) -> Result<LoopbackResponse> {
    ::close(fd);
    return Error{kind, fmt::format("GET 127.0.0.1:{}{}: {}", port, target.substr(0, 80), what)};
  };
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 &&
      errno != EINPROGRESS) {
    return fail(ErrorKind::unavailable, std::strerror(errno));
  }
  int error = 0;
  socklen_t length = sizeof(error);
  if (!wait(POLLOUT) || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 ||
      error != 0) {
    return fail(ErrorKind::unavailable, error ? std::strerror(error) : "connect timed out");
  }
  const std::string request = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return fail(ErrorKind::unavailable, "short write");
  }
  std::string raw;
  char buffer[16384];
  for (;;) {
    if (!wait(POLLIN)) return fail(ErrorKind::timeout, "no complete answer in time");
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;
    raw.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (raw.size() < 12 || raw.compare(0, 7, "HTTP/1.") != 0)
    return Error{ErrorKind::unavailable, "not an HTTP answer"};
  LoopbackResponse response;
  response.status = std::atoi(raw.c_str() + 9);
  const auto body = raw.find("\r\n\r\n");
  if (body != std::string::npos) response.body = raw.substr(body + 4);
  return response;
}

std::string url_encode(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace crest::stack
