#pragma once
// The engine's transport, as wrk splits net.c from ssl.c: a Connection hides whether an origin is
// plain TCP or TLS, so the engine reads, writes and connects without knowing which. Reads and
// writes never wait themselves: they report kWouldBlock, and wait() suspends on what the last call
// needs (plain: the socket's edge; TLS: whatever OpenSSL asked for). A plain request/response
// therefore costs no coroutine frame beyond the caller's.
#include <netinet/in.h>
#include <openssl/types.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/error.hpp"
#include "crest/load/plan.hpp"
#include "event_loop.hpp"

namespace crest::load {

// How to reach one origin: its resolved address and, for https, the TLS settings.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
  bool loopback_v4 = false;
  SSL_CTX* tls = nullptr;   // null for plain http
  std::string server_name;  // SNI and the name the certificate must carry
  bool verify_peer = true;
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&addr); }
};

// The plan's origins resolved once before anything is sent, with the one TLS context they share.
class Endpoints {
 public:
  Endpoints() = default;
  ~Endpoints();
  Endpoints(const Endpoints&) = delete;
  Endpoints& operator=(const Endpoints&) = delete;
  static Result<std::unique_ptr<Endpoints>> resolve(const Plan& plan);
  const Endpoint& operator[](std::size_t origin) const { return list_[origin]; }
  std::size_t size() const { return list_.size(); }

 private:
  std::vector<Endpoint> list_;
  SSL_CTX* tls_context_ = nullptr;
};

// A VU's response bytes: reads land straight in it, and it doubles when full, so it settles at
// the size of the largest response.
class ReadBuffer {
 public:
  void clear() { size_ = 0; }
  std::size_t size() const { return size_; }
  operator std::string_view() const {  // NOLINT(google-explicit-constructor)
    return {data_.get(), size_};
  }
  static constexpr std::size_t kMaxResponse = 64 << 20;  // a hostile endless response stops here
  // Room for the next read; empty once a response would pass kMaxResponse.
  std::span<char> space();
  void commit(std::size_t n) { size_ += n; }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

// Why a connect failed; the engine turns it into a FailureKind (a timeout is its own verdict).
enum class ConnectFailure : std::uint8_t { none, no_socket, refused, failed, tls };

// TLS failures that are not a socket error come back as this errno value.
inline constexpr int kTlsFailure = EPROTO;

class Connection {
 public:
  // read_some/write_some: the call would block; wait() and call again.
  static constexpr long kWouldBlock = -1'000'000;

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  bool is_open() const { return open_; }
  // Closes any previous connection, then connects (and handshakes, for TLS). source_address > 0
  // binds to 127.0.0.<source_address> first (loopback targets spread over source addresses).
  io::Task<ConnectFailure> connect(io::Loop& loop, const Endpoint& endpoint, int source_address);
  // > 0 bytes written, kWouldBlock, or -errno (EPIPE when the peer ended the stream).
  long write_some(std::string_view data);
  // > 0 bytes read, 0 at the end of the stream, kWouldBlock, or -errno.
  long read_some(std::span<char> buffer);
  // Waits until the last kWouldBlock call can make progress: 0, or ECANCELED when cancelled.
  io::Loop::IoAwaiter wait(io::Loop& loop) {
    return wants_write_ ? loop.writable(socket_) : loop.readable(socket_);
  }
  // The rest of a request after a partial write_some: 0 or an errno value.
  io::Task<int> write_rest(io::Loop& loop, std::string_view data);
  // Resumes a coroutine waiting on this connection with ECANCELED (timeouts, hard stop).
  void cancel(io::Loop& loop) { loop.cancel(socket_); }
  void close(io::Loop& loop);

 private:
  long tls_result(int r);  // what an OpenSSL call that returned r <= 0 means

  io::Socket socket_;
  SSL* ssl_ = nullptr;  // set for TLS origins once connected
  bool open_ = false;
  bool wants_write_ = false;
};

}  // namespace crest::load
