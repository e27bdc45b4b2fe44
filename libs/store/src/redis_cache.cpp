#include "crest/store/redis_cache.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include "crest/core/host_port.hpp"
#include "crest/metrics/registry.hpp"
#include "url_userinfo.hpp"

namespace crest::store {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown TLS error";
  char buffer[256];
  ERR_error_string_n(code, buffer, sizeof buffer);
  ERR_clear_error();
  return buffer;
}

bool is_ip_address(const std::string& host) {
  in6_addr v6{};
  in_addr v4{};
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

// A blocking TCP connection made within `timeout`, with send/receive timeouts set; -1 and `error`.
int connect_tcp(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
                std::chrono::milliseconds io_timeout, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
      rc != 0) {
    error = gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
      if (rc == 0) {
        errno = ETIMEDOUT;
        rc = -1;
      } else if (rc > 0) {
        int so_error = 0;
        socklen_t len = sizeof so_error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
        errno = so_error;
        rc = so_error == 0 ? 0 : -1;
      }
    }
    if (rc == 0) break;
    error = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  if (fd < 0) return -1;
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const timeval tv = to_timeval(io_timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return fd;
}

}  // namespace

Result<void> apply_redis_url(std::string_view url, RedisCacheOptions& options) {
  std::string_view rest = url;
  bool tls = false;
  if (rest.starts_with("rediss://")) {
    tls = true;
    rest.remove_prefix(9);
  } else if (rest.starts_with("redis://")) {
    rest.remove_prefix(8);
  } else {
    return Error{ErrorKind::invalid_argument,
                 "redis URL must start with redis:// or rediss:// (TLS)"};
  }
  const auto userinfo = split_url_userinfo(rest);
  if (!userinfo) {
    return Error{ErrorKind::invalid_argument,
                 "redis URL: bad percent-encoding in the user or password"};
  }
  rest = userinfo->rest;
  std::string user;
  std::string password;
  if (userinfo->present && !userinfo->password) {
    // redis://password@host is how some clients spell a password without a user.
    password = userinfo->user;
  } else if (userinfo->present) {
    user = userinfo->user;
    password = *userinfo->password;
  }
  const std::string shown =
      fmt::format("{}://{}{}", tls ? "rediss" : "redis", userinfo->present ? "***@" : "", rest);
  int database = 0;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      if (db.size() > 3 || db.find_first_not_of("0123456789") != std::string_view::npos) {
        return Error{ErrorKind::invalid_argument,
                     fmt::format("redis URL '{}': the database must be a number", shown)};
      }
      database = std::stoi(std::string(db));
    }
  }
  auto address = parse_host_port(rest, HostPortRules{.default_port = 6379});
  if (!address.ok()) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("redis URL '{}': {}", shown, address.error().message)};
  }
  std::string host = std::move(address->host);
  const std::uint16_t port = address->port;
  if (host.find_first_of("/?#@ ") != std::string::npos) {
    return Error{ErrorKind::invalid_argument, fmt::format("redis URL '{}': no host", shown)};
  }
  options.host = std::move(host);
  options.port = port;
  options.tls = tls;
  options.username = std::move(user);
  options.password = std::move(password);
  options.database = database;
  return {};
}

class RedisCache::Connection {
 public:
  ~Connection() { close(); }
  void close() {
    if (ssl != nullptr) {
      SSL_free(ssl);
      ssl = nullptr;
    }
    if (fd >= 0) {
      ::close(fd);
      fd = -1;
    }
    if (reader != nullptr) {
      redisReaderFree(reader);
      reader = nullptr;
    }
  }
  bool connected() const { return fd >= 0; }

  // Sends one formatted command and reads its reply; nullptr and `error` on failure.
  redisReply* roundtrip(const std::vector<std::string_view>& argv, std::string& error) {
    std::vector<const char*> args;
    std::vector<std::size_t> lengths;
    for (const auto part : argv) {
      args.push_back(part.data());
      lengths.push_back(part.size());
    }
    char* formatted = nullptr;
    const int length = redisFormatCommandArgv(&formatted, static_cast<int>(args.size()),
                                              args.data(), lengths.data());
    if (length < 0 || formatted == nullptr) {
      error = "out of memory formatting a command";
      return nullptr;
    }
    const bool sent = write_all(formatted, static_cast<std::size_t>(length), error);
    redisFreeCommand(formatted);
    if (!sent) return nullptr;
    for (;;) {
      void* reply = nullptr;
      if (redisReaderGetReply(reader, &reply) != REDIS_OK) {
        error = fmt::format("protocol error: {}", reader->errstr);
        return nullptr;
      }
      if (reply != nullptr) return static_cast<redisReply*>(reply);
      char buffer[16 * 1024];
      const long n = read_some(buffer, sizeof buffer, error);
      if (n <= 0) return nullptr;
      redisReaderFeed(reader, buffer, static_cast<std::size_t>(n));
    }
  }

  int fd = -1;
  SSL* ssl = nullptr;
  redisReader* reader = nullptr;
  std::uint64_t generation = 0;

 private:
  static std::string io_error(const char* what) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return fmt::format("{} timed out", what);
    return fmt::format("{}: {}", what, std::strerror(errno));
  }
  bool write_all(const char* data, std::size_t size, std::string& error) {
    while (size > 0) {
      long n = 0;
      if (ssl != nullptr) {
        ERR_clear_error();
        n = SSL_write(ssl, data, static_cast<int>(size));
        if (n <= 0) {
          error = SSL_get_error(ssl, static_cast<int>(n)) == SSL_ERROR_SYSCALL
                      ? io_error("write")
                      : "TLS write: " + openssl_error();
          return false;
        }
      } else {
        n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EINTR) continue;
          error = io_error("write");
          return false;
        }
      }
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }
  long read_some(char* buffer, std::size_t size, std::string& error) {
    for (;;) {
      if (ssl != nullptr) {
        ERR_clear_error();
        const int n = SSL_read(ssl, buffer, static_cast<int>(size));
        if (n > 0) return n;
        const int code = SSL_get_error(ssl, n);
        if (code == SSL_ERROR_ZERO_RETURN) {
          error = "connection closed by the server";
        } else if (code == SSL_ERROR_SYSCALL) {
          error = n == 0 ? "connection closed by the server" : io_error("read");
        } else {
          error = "TLS read: " + openssl_error();
        }
        return -1;
      }
      const long n = ::recv(fd, buffer, size, 0);
      if (n > 0) return n;
      if (n < 0 && errno == EINTR) continue;
      error = n == 0 ? "connection closed by the server" : io_error("read");
      return -1;
    }
  }
};

struct RedisCache::Reply {
  int type = REDIS_REPLY_NIL;
  std::string text;
  long long integer = 0;
};

RedisCache::RedisCache(RedisCacheOptions options, Clock& clock)
    : options_(std::move(options)), clock_(clock) {
  options_.pool_size = std::max<std::size_t>(options_.pool_size, 1);
  for (std::size_t i = 0; i < options_.pool_size; ++i) {
    idle_.push_back(std::make_unique<Connection>());
  }
  if (options_.tls) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) {
      tls_context_error_ = "creating the TLS context: " + openssl_error();
    } else {
      tls_context_ =
          std::shared_ptr<void>(ctx, [](void* c) { SSL_CTX_free(static_cast<SSL_CTX*>(c)); });
      SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
      if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        tls_context_error_ = "loading the system CA store: " + openssl_error();
      }
      if (!options_.extra_ca_file.empty() &&
          SSL_CTX_load_verify_locations(ctx, options_.extra_ca_file.c_str(), nullptr) != 1) {
        tls_context_error_ =
            fmt::format("loading CA file '{}': {}", options_.extra_ca_file, openssl_error());
      }
    }
  }
  if (options_.metrics != nullptr) {
    auto& family = options_.metrics->counter_family(
        "crest_cache_requests_total", "Cache lookups by outcome.", {"cache", "result"});
    hits_ = &family.with({options_.name, "hit"});
    misses_ = &family.with({options_.name, "miss"});
    errors_ = &family.with({options_.name, "error"});
    // Timed as the database and AWS clients are, so a slow cache shows as a slow cache.
    command_seconds_ = &options_.metrics
                            ->histogram_family("crest_cache_request_duration_seconds",
                                               "Time of one cache command's round trip.", {"cache"})
                            .with({options_.name});
  }
}

RedisCache::~RedisCache() = default;

bool RedisCache::cooling_down() const {
  const std::lock_guard lock(mutex_);
  return down_until_ && clock_.now() < *down_until_;
}

void RedisCache::fail(const std::string& why) {
  const std::lock_guard lock(mutex_);
  down_until_ = clock_.now() + options_.cooldown;
  last_failure_ = why;
  ++generation_;
}

std::string RedisCache::open(Connection& c) {
  const std::string where =
      fmt::format("redis{} {}:{}", options_.tls ? "s" : "", options_.host, options_.port);
  if (!tls_context_error_.empty()) return fmt::format("{}: {}", where, tls_context_error_);
  std::string error;
  c.fd = connect_tcp(options_.host, options_.port, options_.connect_timeout,
                     options_.command_timeout, error);
  if (c.fd < 0) return fmt::format("cannot connect to {}: {}", where, error);
  c.reader = redisReaderCreate();
  if (c.reader == nullptr) return "out of memory";
  if (options_.tls) {
    c.ssl = SSL_new(static_cast<SSL_CTX*>(tls_context_.get()));
    if (c.ssl == nullptr) return fmt::format("{}: {}", where, openssl_error());
    X509_VERIFY_PARAM* param = SSL_get0_param(c.ssl);
    if (is_ip_address(options_.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(param, options_.host.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, options_.host.c_str(), 0);
      // SSL_set_tlsext_host_name without its macro's C-style cast.
      SSL_ctrl(c.ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(options_.host.c_str()));
    }
    SSL_set_fd(c.ssl, c.fd);
    ERR_clear_error();
    if (SSL_connect(c.ssl) != 1) {
      const long verify = SSL_get_verify_result(c.ssl);
      const std::string why = verify != X509_V_OK
                                  ? fmt::format("certificate verification failed: {}",
                                                X509_verify_cert_error_string(verify))
                                  : openssl_error();
      return fmt::format("TLS handshake with {}: {}", where, why);
    }
  }
  const auto expect_ok = [&](const std::vector<std::string_view>& argv,
                             const char* what) -> std::string {
    auto* reply = c.roundtrip(argv, error);
    if (reply == nullptr) return fmt::format("{} on {}: {}", what, where, error);
    std::string result;
    if (reply->type == REDIS_REPLY_ERROR) {
      result =
          fmt::format("{} on {} refused: {}", what, where, std::string(reply->str, reply->len));
    }
    freeReplyObject(reply);
    return result;
  };
  if (!options_.password.empty()) {
    std::vector<std::string_view> auth{"AUTH"};
    if (!options_.username.empty()) auth.emplace_back(options_.username);
    auth.emplace_back(options_.password);
    if (auto why = expect_ok(auth, "AUTH"); !why.empty()) return why;
  }
  if (options_.database != 0) {
    const std::string db = std::to_string(options_.database);
    if (auto why = expect_ok({"SELECT", db}, "SELECT"); !why.empty()) return why;
  }
  return {};
}

Result<RedisCache::Reply> RedisCache::command(const std::vector<std::string_view>& argv) {
  std::unique_ptr<Connection> connection;
  std::uint64_t generation = 0;
  {
    std::unique_lock lock(mutex_);
    if (down_until_ && clock_.now() < *down_until_) {
      return Error{ErrorKind::unavailable, "redis is cooling down after: " + last_failure_};
    }
    if (!available_.wait_for(lock, options_.command_timeout, [this] { return !idle_.empty(); })) {
      return Error{ErrorKind::unavailable, "no free redis connection"};  // busy, not down
    }
    connection = std::move(idle_.back());
    idle_.pop_back();
    generation = generation_;
  }
  // Gives the connection back on every path.
  struct Return {
    RedisCache& cache;
    std::unique_ptr<Connection>& connection;
    ~Return() {
      {
        const std::lock_guard lock(cache.mutex_);
        cache.idle_.push_back(std::move(connection));
      }
      cache.available_.notify_one();
    }
  } give_back{*this, connection};

  if (connection->connected() && connection->generation != generation) {
    connection->close();
  }
  if (!connection->connected()) {
    if (const std::string why = open(*connection); !why.empty()) {
      connection->close();
      fail(why);
      return Error{ErrorKind::unavailable, why};
    }
    connection->generation = generation;
  }

  std::string error;
  const auto sent = std::chrono::steady_clock::now();
  redisReply* raw = connection->roundtrip(argv, error);
  if (command_seconds_ != nullptr) {
    command_seconds_->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count());
  }
  if (raw == nullptr) {
    const std::string why = fmt::format("redis {}:{}: {}", options_.host, options_.port, error);
    connection->close();
    fail(why);
    return Error{ErrorKind::unavailable, why};
  }
  Reply reply;
  reply.type = raw->type;
  if (raw->str != nullptr) {
    reply.text.assign(raw->str, raw->len);
  }
  reply.integer = raw->integer;
  freeReplyObject(raw);
  if (reply.type == REDIS_REPLY_ERROR) {
    // The server answered, so it is up: no cool-down (e.g. OOM with maxmemory, LOADING).
    return Error{ErrorKind::unavailable, "redis error: " + reply.text};
  }
  return reply;
}

Result<std::optional<std::string>> RedisCache::get(std::string_view key) {
  const std::string full = options_.key_prefix + std::string(key);
  auto reply = command({"GET", full});
  if (!reply.ok()) {
    if (errors_ != nullptr) {
      errors_->inc();
    }
    return reply.error();
  }
  if (reply->type == REDIS_REPLY_STRING) {
    if (hits_ != nullptr) {
      hits_->inc();
    }
    return std::optional<std::string>(std::move(reply->text));
  }
  if (misses_ != nullptr) {
    misses_->inc();
  }
  return std::optional<std::string>();
}

Result<void> RedisCache::set(std::string_view key, std::string_view value,
                             std::chrono::milliseconds ttl) {
  const std::string full = options_.key_prefix + std::string(key);
  Result<Reply> reply = Error{ErrorKind::internal, "not run"};
  if (ttl.count() > 0) {
    const std::string ms = std::to_string(ttl.count());
    reply = command({"SET", full, value, "PX", ms});
  } else {
    reply = command({"SET", full, value});
  }
  if (!reply.ok()) {
    return reply.error();
  }
  return {};
}

Result<void> RedisCache::erase(std::string_view key) {
  const std::string full = options_.key_prefix + std::string(key);
  auto reply = command({"DEL", full});
  if (!reply.ok()) {
    return reply.error();
  }
  return {};
}

}  // namespace crest::store
