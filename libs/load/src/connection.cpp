#include "connection.hpp"

#include <netdb.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>

namespace crest::load {
namespace {

Result<Endpoint> resolve_origin(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    return Error{ErrorKind::unavailable, "cannot resolve " + host + ": " + ::gai_strerror(rc)};
  }
  Endpoint endpoint;
  std::memcpy(&endpoint.addr, found->ai_addr, found->ai_addrlen);
  endpoint.len = found->ai_addrlen;
  endpoint.family = found->ai_family;
  endpoint.loopback_v4 =
      found->ai_family == AF_INET &&
      (ntohl(reinterpret_cast<const sockaddr_in*>(found->ai_addr)->sin_addr.s_addr) >> 24) == 127;
  ::freeaddrinfo(found);
  return endpoint;
}

}  // namespace

Endpoints::~Endpoints() {
  SSL_CTX_free(tls_context_);
}

Result<std::unique_ptr<Endpoints>> Endpoints::resolve(const Plan& plan) {
  auto endpoints = std::make_unique<Endpoints>();
  for (const auto& origin : plan.origins) {
    auto endpoint = resolve_origin(origin.host, origin.port);
    if (!endpoint.ok()) {
      return endpoint.error();
    }
    endpoint->server_name = origin.host;
    endpoint->verify_peer = !plan.tls_insecure;
    endpoints->list_.push_back(std::move(*endpoint));
  }
  if (std::any_of(plan.origins.begin(), plan.origins.end(),
                  [](const Origin& origin) { return origin.tls; })) {
    endpoints->tls_context_ = SSL_CTX_new(TLS_client_method());
    if (endpoints->tls_context_ == nullptr) {
      return Error{ErrorKind::unavailable, "cannot create a TLS context (OpenSSL)"};
    }
    SSL_CTX_set_default_verify_paths(endpoints->tls_context_);
    // A close without close_notify ends the stream.
    SSL_CTX_set_options(endpoints->tls_context_, SSL_OP_IGNORE_UNEXPECTED_EOF);
    // OpenSSL writes with write(2): a peer that closed must not kill the process (a handler
    // the program installed itself stays).
    if (const auto previous = std::signal(SIGPIPE, SIG_IGN);
        previous != SIG_DFL && previous != SIG_ERR) {
      std::signal(SIGPIPE, previous);
    }
    for (std::size_t i = 0; i < plan.origins.size(); ++i) {
      if (plan.origins[i].tls) {
        endpoints->list_[i].tls = endpoints->tls_context_;
      }
    }
  }
  return endpoints;
}

std::span<char> ReadBuffer::space() {
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

Connection::~Connection() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
  }
  if (socket_.fd >= 0) {
    ::close(socket_.fd);
  }
}

void Connection::close(io::Loop& loop) {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  loop.close(socket_);
  open_ = false;
}

long Connection::tls_result(int r) {
  const int error = SSL_get_error(ssl_, r);
  if (error == SSL_ERROR_WANT_READ) {
    socket_.readable = false;
    wants_write_ = false;
    return kWouldBlock;
  }
  if (error == SSL_ERROR_WANT_WRITE) {
    socket_.writable = false;
    wants_write_ = true;
    return kWouldBlock;
  }
  const int saved = errno;
  ERR_clear_error();
  if (error == SSL_ERROR_ZERO_RETURN) {
    return 0;
  }
  if (error == SSL_ERROR_SYSCALL) {
    return -(saved == 0 ? EPIPE : saved);
  }
  return -kTlsFailure;
}

io::Task<ConnectFailure> Connection::connect(io::Loop& loop, const Endpoint& endpoint,
                                             int source_address) {
  close(loop);
  if (loop.open(socket_, endpoint.family) != 0) {
    co_return ConnectFailure::no_socket;  // out of descriptors, typically
  }
  const int fd = socket_.fd;
  if (source_address > 0) {
    // Each source address has its own ephemeral ports: spread VUs over 127.0.0.1..N.
    int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl((127U << 24) | static_cast<unsigned>(source_address));
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0) {
      close(loop);
      co_return ConnectFailure::failed;
    }
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (const int err = co_await io::connect(loop, socket_, endpoint.sa(), endpoint.len); err != 0) {
    close(loop);
    co_return err == ECONNREFUSED ? ConnectFailure::refused : ConnectFailure::failed;
  }
  if (endpoint.tls != nullptr) {
    ssl_ = SSL_new(endpoint.tls);
    bool ok = ssl_ != nullptr && SSL_set_fd(ssl_, fd) == 1;
    if (ok) {
      // SSL_set_tlsext_host_name is a macro with a C cast; this is what it expands to.
      SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(endpoint.server_name.c_str()));
      if (!endpoint.verify_peer) {
        SSL_set_verify(ssl_, SSL_VERIFY_NONE, nullptr);
      } else {
        SSL_set_verify(ssl_, SSL_VERIFY_PEER, nullptr);
        ok = SSL_set1_host(ssl_, endpoint.server_name.c_str()) == 1;
      }
    }
    while (ok) {
      const int r = SSL_connect(ssl_);
      if (r == 1) {
        break;
      }
      ok = tls_result(r) == kWouldBlock && co_await wait(loop) == 0;
    }
    if (!ok) {
      ERR_clear_error();
      close(loop);
      co_return ConnectFailure::tls;
    }
  }
  open_ = true;
  co_return ConnectFailure::none;
}

long Connection::write_some(std::string_view data) {
  if (ssl_ != nullptr) {
    const int r = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
    if (r > 0) {
      return r;
    }
    const long result = tls_result(r);
    return result == 0 ? -EPIPE : result;
  }
  const auto n = ::send(socket_.fd, data.data(), data.size(), MSG_NOSIGNAL);
  if (n > 0) {
    return n;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    socket_.writable = false;
    wants_write_ = true;
    return kWouldBlock;
  }
  return n < 0 ? -errno : -EPIPE;
}

io::Task<int> Connection::write_rest(io::Loop& loop, std::string_view data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const long n = write_some(data.substr(done));
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n == kWouldBlock) {
      if (const int err = co_await wait(loop); err != 0) {
        co_return err;
      }
    } else {
      co_return static_cast<int>(-n);
    }
  }
  co_return 0;
}

long Connection::read_some(std::span<char> buffer) {
  if (ssl_ != nullptr) {
    const int r = SSL_read(ssl_, buffer.data(), static_cast<int>(buffer.size()));
    return r > 0 ? r : tls_result(r);
  }
  if (!socket_.readable) {
    wants_write_ = false;
    return kWouldBlock;  // drained: the next read waits for the edge
  }
  const auto n = ::recv(socket_.fd, buffer.data(), buffer.size(), 0);
  if (n > 0 && static_cast<std::size_t>(n) < buffer.size() && !socket_.hung_up) {
    socket_.readable = false;  // drained: the next read waits for the edge
  } else if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      socket_.readable = false;
      wants_write_ = false;
      return kWouldBlock;
    }
    return -errno;
  }
  return n;
}

}  // namespace crest::load
