#pragma once
// Cache adapter for Redis (blocking, a small pool of connections). The connection is ours (a TCP
// socket, or TLS over OpenSSL with the server certificate verified against the system CA store
// and its name checked, for ElastiCache's in-transit encryption); hiredis 0.14, which has no TLS,
// only formats the commands and parses the replies. AUTH with a password, or an ACL user and
// password, runs on every new connection. Redis down means
// slower, not broken: connect and command timeouts are short, and after a failure every call
// fails fast with `unavailable` for a cool-down instead of paying the timeout again; the first
// call after the cool-down reconnects.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/clock.hpp"
#include "crest/store/cache.hpp"

namespace crest::metrics {
class Counter;
class Histogram;
class Registry;
}  // namespace crest::metrics

namespace crest::store {

struct RedisCacheOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  bool tls = false;           // rediss://
  std::string extra_ca_file;  // PEM trust anchors besides the system store (tests, private CAs)
  std::string username;       // ACL user (Redis 6+); empty: AUTH <password> only
  std::string password;       // empty: no AUTH
  int database = 0;           // SELECT when not 0
  std::size_t pool_size = 4;  // connections; callers beyond that wait up to command_timeout
  std::chrono::milliseconds connect_timeout{50};
  std::chrono::milliseconds command_timeout{50};
  std::chrono::milliseconds cooldown{1000};  // fail fast for this long after a failure
  std::string key_prefix;                    // prepended to every key, e.g. "crest:"
  std::string name = "redis";                // the `cache` label
  // crest_cache_requests_total{cache,result=hit|miss|error}, counted on get() as LruCache does.
  metrics::Registry* metrics = nullptr;
};

// Fills host, port, tls, username, password and database from a URL:
// redis[s]://[[user]:password@]host[:port][/db], user and password percent-decoded (a password
// with '@', ':' or '/' must be encoded). Port defaults to 6379. invalid_argument naming the URL
// (password masked) for anything else, including a bare host or another scheme.
Result<void> apply_redis_url(std::string_view url, RedisCacheOptions& options);

class RedisCache final : public Cache {
 public:
  explicit RedisCache(RedisCacheOptions options, Clock& clock = Clock::system());
  ~RedisCache() override;
  RedisCache(const RedisCache&) = delete;
  RedisCache& operator=(const RedisCache&) = delete;

  Result<std::optional<std::string>> get(std::string_view key) override;
  Result<void> set(std::string_view key, std::string_view value,
                   std::chrono::milliseconds ttl) override;
  Result<void> erase(std::string_view key) override;

  // True while calls fail fast after a failure.
  bool cooling_down() const;

  class Connection;  // hiredis stays out of this header

 private:
  struct Reply;
  // Runs one command (argv form, binary-safe) on a pooled connection.
  Result<Reply> command(const std::vector<std::string_view>& argv);
  // Connects (TCP, TLS, AUTH, SELECT); an error message, or "" on success.
  std::string open(Connection& connection);
  void fail(const std::string& why);

  RedisCacheOptions options_;
  Clock& clock_;
  metrics::Counter* hits_ = nullptr;
  metrics::Counter* misses_ = nullptr;
  metrics::Counter* errors_ = nullptr;
  metrics::Histogram* command_seconds_ = nullptr;  // one command's round trip on the wire

  std::shared_ptr<void> tls_context_;  // SSL_CTX, shared by the connections
  std::string tls_context_error_;

  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;  // connected or not
  // Bumped on every failure: connections opened before it reconnect instead of each failing
  // once (and restarting the cool-down) after Redis comes back.
  std::uint64_t generation_ = 1;
  std::optional<Clock::SteadyTime> down_until_;
  std::string last_failure_;
};

}  // namespace crest::store
