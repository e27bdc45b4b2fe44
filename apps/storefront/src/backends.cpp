#include "backends.hpp"

#include <fmt/format.h>

#include "crest/aws/dynamodb.hpp"
#include "crest/aws/sqs.hpp"
#include "crest/store/caching_catalog_store.hpp"
#include "crest/store/dynamodb.hpp"
#include "crest/store/embedded.hpp"
#include "crest/store/mysql.hpp"
#include "crest/store/redis_cache.hpp"
#include "crest/store/sqs.hpp"

namespace crest::storefront {
namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const auto comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

Result<std::shared_ptr<store::MysqlDatabase>> open_mysql(const Config& config,
                                                         metrics::Registry& registry,
                                                         Clock& clock) {
  store::MysqlOptions options;
  auto primary = store::parse_mysql_url(config.get_string("db.primary_url"));
  if (!primary.ok()) {
    return Error{ErrorKind::invalid_argument, "db.primary_url: " + primary.error().message};
  }
  options.primary = *primary;
  for (const auto& url : split_list(config.get_string("db.replica_urls"))) {
    auto replica = store::parse_mysql_url(url);
    if (!replica.ok())
      return Error{ErrorKind::invalid_argument, "db.replica_urls: " + replica.error().message};
    options.replicas.push_back(*replica);
  }
  options.pool_size = static_cast<std::size_t>(config.get_int("db.pool_size"));
  options.pool_wait_timeout = config.get_duration("db.pool_wait_timeout");
  const auto seconds = [&](const char* key) {
    const auto value = std::chrono::duration_cast<std::chrono::seconds>(config.get_duration(key));
    if (value.count() < 1)
      throw ConfigError(fmt::format("{}: '{}' must be at least 1s", config.source_of(key), key));
    return value;
  };
  options.connect_timeout = seconds("db.connect_timeout");
  options.io_timeout = seconds("db.io_timeout");
  options.replica_connect_timeout = seconds("db.replica_connect_timeout");
  options.replica_io_timeout = seconds("db.replica_io_timeout");
  options.reads.max_replica_lag = config.get_duration("db.max_replica_lag");
  options.reads.read_your_writes_window = config.get_duration("db.read_your_writes_window");
  options.reads.use_replicas = config.get_choice("reads", {"primary", "replicas"}) == "replicas";
  options.apply_schema = config.get_bool("db.apply_schema");
  options.metrics = &registry;
  return store::MysqlDatabase::open(options, clock);
}

aws::ClientHooks aws_hooks(metrics::Registry& registry, Clock& clock) {
  aws::ClientHooks hooks;
  hooks.metrics = &registry;
  hooks.clock = &clock;
  return hooks;
}

}  // namespace

std::vector<ConfigOption> backend_config_schema() {
  using T = ConfigType;
  return {
      {"db.backend", T::string, "sqlite", "catalog, users and orders: sqlite (embedded) or mysql"},
      {"db.primary_url", T::string, "", "mysql://user:password@host:port/database of the primary"},
      {"db.replica_urls", T::string, "", "comma-separated mysql:// URLs of the read replicas"},
      {"db.pool_size", T::integer, "8", "connections per MySQL server"},
      {"db.pool_wait_timeout", T::duration, "1s",
       "longest wait for a pooled connection (then 503)"},
      {"db.connect_timeout", T::duration, "2s",
       "MySQL connect timeout on the primary (whole seconds)"},
      {"db.io_timeout", T::duration, "10s",
       "MySQL read and write timeout per statement on the primary (whole seconds)"},
      {"db.replica_connect_timeout", T::duration, "1s",
       "MySQL connect timeout on a replica; then it leaves the read set"},
      {"db.replica_io_timeout", T::duration, "2s",
       "MySQL read timeout on a replica; a query that times out takes the replica out of the read "
       "set"},
      {"db.max_replica_lag", T::duration, "2s", "replicas lagging more stop serving reads"},
      {"db.read_your_writes_window", T::duration, "5s",
       "a user's reads go to the primary this long after their write"},
      {"db.apply_schema", T::boolean, "true",
       "apply schema migrations at start (the primary's owner)"},
      {"reads", T::string, "replicas", "primary (baseline: every read on the primary) or replicas"},
      {"cache", T::string, "memory",
       "catalog cache: off (baseline), memory (in-process LRU) or redis"},
      {"cache.product_ttl", T::duration, "60s", "product detail TTL (±10 % jitter)"},
      {"cache.list_ttl", T::duration, "15s", "product list TTL"},
      {"redis.url", T::string, "redis://127.0.0.1:6379",
       "Redis for cache: redis; redis[s]://[[user]:password@]host[:port][/db], rediss = TLS"},
      {"redis.timeout", T::duration, "50ms",
       "Redis connect and command timeout (then the cache is bypassed)"},
      {"sessions.backend", T::string, "sqlite", "sqlite (embedded) or dynamodb"},
      {"carts.backend", T::string, "sqlite", "sqlite (embedded) or dynamodb"},
      {"aws.region", T::string, "us-east-1", "AWS region"},
      {"dynamodb.endpoint", T::string, "",
       "DynamoDB endpoint override, e.g. http://127.0.0.1:8000 (dynalite)"},
      {"dynamodb.carts_table", T::string, "crest_carts", "carts table"},
      {"dynamodb.max_attempts", T::integer, "3",
       "attempts per DynamoDB call; throttles and 5xx are retried with full-jitter backoff "
       "(1..20; AWS SDKs' DynamoDB default in legacy mode is 11)"},
      {"dynamodb.retry_base", T::duration, "1s",
       "backoff base: retry n waits a random time up to base x 2^(n-1), at most 20 s"},
      {"dynamodb.sessions_table", T::string, "crest_sessions", "sessions table"},
      {"dynamodb.create_tables", T::boolean, "false",
       "create the tables at start if absent (local runs)"},
      {"queue.backend", T::string, "sqlite",
       "orders queue: sqlite (durable, a table in store.sqlite_path; 'memory' is an old name for "
       "it) or sqs"},
      {"sqs.endpoint", T::string, "", "SQS endpoint override, e.g. http://127.0.0.1:9324"},
      {"sqs.orders_queue_url", T::string, "", "URL of the orders queue"},
      {"sqs.dead_letter_queue_url", T::string, "", "URL of its dead-letter queue (for metrics)"},
      {"sqs.inspection_endpoint", T::string, "",
       "fauxqs only: http://host:port whose /_fauxqs/queues inspection gives the oldest "
       "message's age (crest_queue_oldest_message_age_seconds) without receiving; empty on AWS"},
  };
}

ShopStores Backends::view() const {
  return ShopStores{catalog.get(), users.get(),        sessions.get(),  carts.get(),
                    orders.get(),  orders_queue.get(), orders_dlq.get()};
}

Result<Backends> open_backends(const Config& config, metrics::Registry& registry, Clock& clock) {
  Backends b;
  store::EmbeddedOptions embedded;
  embedded.sqlite_path = config.get_string("store.sqlite_path");
  embedded.pool_size = static_cast<std::size_t>(config.get_int("store.pool_size"));
  embedded.cache_capacity = static_cast<std::size_t>(config.get_int("cache.capacity"));
  embedded.queue_visibility_timeout = config.get_duration("queue.visibility_timeout");
  embedded.max_receive_count = static_cast<int>(config.get_int("queue.max_receive_count"));
  embedded.clock = &clock;
  embedded.metrics = &registry;
  auto opened = store::open_embedded_stores(embedded);
  if (!opened.ok()) return opened.error();
  const store::EmbeddedStores& local = *opened;

  std::shared_ptr<store::CatalogStore> catalog = local.catalog;
  b.users = local.users;
  b.orders = local.orders;
  if (config.get_choice("db.backend", {"sqlite", "mysql"}) == "mysql") {
    auto mysql = open_mysql(config, registry, clock);
    if (!mysql.ok()) return mysql.error();
    b.mysql = *mysql;
    catalog = std::make_shared<store::SqlCatalogStore>(b.mysql, clock);
    b.users = std::make_shared<store::SqlUserStore>(b.mysql, clock);
    b.orders = std::make_shared<store::SqlOrderStore>(b.mysql, clock);
  }

  const std::string cache = config.get_choice("cache", {"off", "memory", "redis"});
  if (cache == "memory") {
    b.cache = local.cache;
  } else if (cache == "redis") {
    store::RedisCacheOptions options;
    const std::string url = config.get_string("redis.url");
    if (auto parsed = store::apply_redis_url(url, options); !parsed.ok()) {
      return Error{ErrorKind::invalid_argument, "redis.url: " + parsed.error().message};
    }
    options.connect_timeout = options.command_timeout = config.get_duration("redis.timeout");
    options.key_prefix = "crest:";
    options.metrics = &registry;
    b.cache = std::make_shared<store::RedisCache>(options, clock);
  }
  if (b.cache) {
    store::CachingCatalogOptions options;
    options.product_ttl = config.get_duration("cache.product_ttl");
    options.list_ttl = config.get_duration("cache.list_ttl");
    catalog = std::make_shared<store::CachingCatalogStore>(catalog, b.cache, options);
  }
  b.catalog = catalog;

  b.sessions = local.sessions;
  b.carts = local.carts;
  const bool dynamo_sessions =
      config.get_choice("sessions.backend", {"sqlite", "dynamodb"}) == "dynamodb";
  const bool dynamo_carts =
      config.get_choice("carts.backend", {"sqlite", "dynamodb"}) == "dynamodb";
  if (dynamo_sessions || dynamo_carts) {
    aws::DynamoDbOptions options;
    options.endpoint = config.get_string("dynamodb.endpoint");
    options.region = config.get_string("aws.region");
    const auto attempts = config.get_int("dynamodb.max_attempts");
    if (attempts < 1 || attempts > 20) {
      throw ConfigError(fmt::format("{}: 'dynamodb.max_attempts' must be 1..20, not {}",
                                    config.source_of("dynamodb.max_attempts"), attempts));
    }
    options.retry.max_attempts = static_cast<int>(attempts);
    options.retry.base = std::chrono::duration_cast<std::chrono::milliseconds>(
        config.get_duration("dynamodb.retry_base"));
    auto client = aws::DynamoDbClient::create(options, aws_hooks(registry, clock));
    if (!client.ok()) return Error{client.error().kind, "DynamoDB: " + client.error().message};
    std::shared_ptr<aws::DynamoDbClient> dynamodb = std::move(client).value();
    store::DynamoDbTables tables{config.get_string("dynamodb.carts_table"),
                                 config.get_string("dynamodb.sessions_table")};
    if (config.get_bool("dynamodb.create_tables")) {
      if (auto created = store::ensure_tables(*dynamodb, tables); !created.ok()) {
        return Error{created.error().kind, "creating DynamoDB tables: " + created.error().message};
      }
    }
    if (dynamo_sessions)
      b.sessions = std::make_shared<store::DynamoDbSessionStore>(dynamodb, tables.sessions, clock);
    if (dynamo_carts) b.carts = std::make_shared<store::DynamoDbCartStore>(dynamodb, tables.carts);
  }

  b.orders_dlq = local.orders_dlq;
  b.orders_queue = local.orders_queue;
  if (config.get_choice("queue.backend", {"sqlite", "memory", "sqs"}) == "sqs") {
    aws::SqsOptions options;
    options.endpoint = config.get_string("sqs.endpoint");
    options.region = config.get_string("aws.region");
    auto client = aws::SqsClient::create(options, aws_hooks(registry, clock));
    if (!client.ok()) return Error{client.error().kind, "SQS: " + client.error().message};
    std::shared_ptr<aws::SqsClient> sqs = std::move(client).value();
    const std::string url = config.get_string("sqs.orders_queue_url");
    if (url.empty())
      return Error{ErrorKind::invalid_argument,
                   "queue.backend is sqs but sqs.orders_queue_url is empty"};
    const std::string inspection = config.get_string("sqs.inspection_endpoint");
    b.orders_queue = std::make_shared<store::SqsQueue>(
        sqs, url, store::SqsQueueOptions{"orders", &registry, inspection});
    const std::string dlq = config.get_string("sqs.dead_letter_queue_url");
    b.orders_dlq = dlq.empty()
                       ? nullptr
                       : std::make_shared<store::SqsQueue>(
                             sqs, dlq, store::SqsQueueOptions{"orders_dlq", &registry, inspection});
    b.shared_queue = true;
  }
  return b;
}

}  // namespace crest::storefront
