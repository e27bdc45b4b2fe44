#include "crest/store/redis_cache.hpp"

#include <sys/time.h>

#include <hiredis/hiredis.h>

#include <fmt/format.h>

#include "crest/metrics/registry.hpp"

namespace crest::store {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

class RedisCache::Connection {
 public:
  ~Connection() { close(); }
  void close() {
    if (context != nullptr) {
      redisFree(context);
      context = nullptr;
    }
  }
  redisContext* context = nullptr;
  std::uint64_t generation = 0;
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
  if (options_.metrics != nullptr) {
    auto& family = options_.metrics->counter_family(
        "crest_cache_requests_total", "Cache lookups by outcome.", {"cache", "result"});
    hits_ = &family.with({options_.name, "hit"});
    misses_ = &family.with({options_.name, "miss"});
    errors_ = &family.with({options_.name, "error"});
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

  if (connection->context != nullptr && connection->generation != generation) {
    connection->close();
  }
  if (connection->context == nullptr) {
    redisContext* context = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                                    to_timeval(options_.connect_timeout));
    if (context == nullptr || context->err != 0) {
      const std::string why =
          fmt::format("cannot connect to redis {}:{}: {}", options_.host, options_.port,
                      context != nullptr ? context->errstr : "out of memory");
      if (context != nullptr) {
        redisFree(context);
      }
      fail(why);
      return Error{ErrorKind::unavailable, why};
    }
    redisSetTimeout(context, to_timeval(options_.command_timeout));
    connection->context = context;
    connection->generation = generation;
  }

  std::vector<const char*> args;
  std::vector<std::size_t> lengths;
  for (const auto part : argv) {
    args.push_back(part.data());
    lengths.push_back(part.size());
  }
  auto* raw = static_cast<redisReply*>(redisCommandArgv(
      connection->context, static_cast<int>(args.size()), args.data(), lengths.data()));
  if (raw == nullptr) {
    const std::string why =
        fmt::format("redis {}:{}: {}", options_.host, options_.port, connection->context->errstr);
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
