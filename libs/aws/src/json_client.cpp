#include "crest/aws/json_client.hpp"

#include <random>
#include <thread>

#include <fmt/format.h>

#include "crest/metrics/registry.hpp"

namespace crest::aws {
namespace {

std::string strip_namespace(std::string_view type) {
  // "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException" -> after '#';
  // x-amzn-ErrorType "Code:http://..." -> before ':'.
  if (const auto hash = type.rfind('#'); hash != std::string_view::npos) {
    type.remove_prefix(hash + 1);
  }
  if (const auto colon = type.find(':'); colon != std::string_view::npos) {
    type = type.substr(0, colon);
  }
  return std::string(type);
}

double default_random() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

const char* outcome_label(const AwsError& e) {
  switch (e.retry_class) {
    case RetryClass::throttling:
      return "throttled";
    case RetryClass::timeout:
      return "timeout";
    case RetryClass::transient:
      return e.http_status == 0 ? "unreachable" : "server_error";
    case RetryClass::none:
      break;
  }
  return e.http_status >= 500 ? "server_error" : "client_error";
}

}  // namespace

ErrorKind kind_for(int http_status, std::string_view code, RetryClass retry_class) {
  switch (retry_class) {
    case RetryClass::throttling:
    case RetryClass::transient:
      return ErrorKind::unavailable;
    case RetryClass::timeout:
      return ErrorKind::timeout;
    case RetryClass::none:
      break;
  }
  if (code == "ResourceNotFoundException" || code == "QueueDoesNotExist" ||
      code == "NonExistentQueue" || code == "AWS.SimpleQueueService.NonExistentQueue") {
    return ErrorKind::not_found;
  }
  if (code == "ConditionalCheckFailedException" || code == "ResourceInUseException" ||
      code == "TransactionConflictException" || code == "QueueAlreadyExists" ||
      code == "QueueNameExists" || code == "MessageNotInflight" ||
      code == "AWS.SimpleQueueService.MessageNotInflight") {
    return ErrorKind::conflict;
  }
  if (code == "UnrecognizedClientException" || code == "InvalidSignatureException" ||
      code == "MissingAuthenticationToken" || code == "IncompleteSignature" ||
      code == "AccessDeniedException" || code == "AccessDenied" || code == "InvalidClientTokenId" ||
      code == "ExpiredTokenException") {
    return ErrorKind::internal;  // our configuration is wrong; retrying or blaming input won't help
  }
  if (http_status >= 400 && http_status < 500) return ErrorKind::invalid_argument;
  return http_status >= 500 ? ErrorKind::unavailable : ErrorKind::internal;
}

AwsError parse_error_response(int http_status, const http::Headers& headers,
                              std::string_view body) {
  AwsError e;
  e.http_status = http_status;
  const auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_object()) {
    for (const char* key : {"__type", "code", "Code"}) {
      if (auto it = parsed.find(key); it != parsed.end() && it->is_string()) {
        e.code = strip_namespace(it->get<std::string>());
        break;
      }
    }
    for (const char* key : {"message", "Message", "errorMessage"}) {
      if (auto it = parsed.find(key); it != parsed.end() && it->is_string()) {
        e.message = it->get<std::string>();
        break;
      }
    }
  }
  if (e.code.empty()) {
    if (const auto type = headers.get("x-amzn-ErrorType")) e.code = strip_namespace(*type);
  }
  if (const auto query = headers.get("x-amzn-query-error")) {
    e.query_code = std::string(query->substr(0, query->find(';')));
  }
  if (e.code.empty())
    e.code = e.query_code.empty() ? fmt::format("HTTP{}", http_status) : e.query_code;
  if (e.message.empty() && !parsed.is_object()) e.message = std::string(body.substr(0, 200));
  e.retry_class = classify(http_status, e.code, false);
  if (e.retry_class == RetryClass::none && !e.query_code.empty()) {
    e.retry_class = classify(http_status, e.query_code, false);
  }
  e.kind = kind_for(http_status, e.code, e.retry_class);
  if (e.kind == ErrorKind::invalid_argument && !e.query_code.empty()) {
    e.kind = kind_for(http_status, e.query_code, e.retry_class);
  }
  return e;
}

Error AwsError::to_error() const {
  std::string text;
  if (retry_class == RetryClass::throttling) {
    text = fmt::format("{} throttled: {} {}: {}", service, operation, code, message);
  } else {
    text = fmt::format("{} {}: {}{}{}", service, operation, code, message.empty() ? "" : ": ",
                       message);
  }
  if (attempts > 1 || quota_exhausted) {
    text += fmt::format(" (after {} attempt{}{})", attempts, attempts == 1 ? "" : "s",
                        quota_exhausted ? ", retry quota exhausted" : "");
  }
  return Error{kind, std::move(text)};
}

struct JsonClient::Impl {
  ClientConfig config;
  ClientHooks hooks;
  Endpoint endpoint;
  std::shared_ptr<CredentialsProvider> credentials;
  std::unique_ptr<EndpointTransport> pool;
  std::unique_ptr<EndpointTransport> long_poll_pool;
  metrics::CounterFamily* requests = nullptr;
  metrics::CounterFamily* retries = nullptr;
  metrics::Counter* throttled = nullptr;
  metrics::HistogramFamily* duration = nullptr;

  Clock& clock() const { return hooks.clock != nullptr ? *hooks.clock : Clock::system(); }

  Result<http::ClientRequest> build(std::string_view operation, const std::string& body) const {
    auto creds = credentials->credentials();
    if (!creds.ok()) return creds.error();
    http::ClientRequest request;
    request.method = "POST";
    request.target = "/";
    request.body = body;
    const std::string amz_date = format_amz_date(clock().wall_now());
    std::vector<std::pair<std::string, std::string>> signed_headers = {
        {"Content-Type", "application/x-amz-json-1.0"},
        {"X-Amz-Target", fmt::format("{}.{}", config.target_prefix, operation)},
        {"X-Amz-Date", amz_date},
    };
    // Temporary credentials (STS, container, IMDS) are valid only with their session token.
    if (!creds->session_token.empty()) {
      signed_headers.emplace_back("X-Amz-Security-Token", creds->session_token);
    }
    for (const auto& [name, value] : signed_headers) request.headers.add(name, value);
    // The transport sends exactly this Host; sign it.
    signed_headers.emplace_back("Host", endpoint.host_header);
    const Signature sig = sign_v4(SigningRequest{"POST", "/", "", signed_headers, body}, *creds,
                                  SigningScope{config.region, config.signing_name, amz_date});
    request.headers.add("Authorization", sig.authorization);
    return request;
  }
};

JsonClient::JsonClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JsonClient::~JsonClient() = default;

Result<std::unique_ptr<JsonClient>> JsonClient::create(ClientConfig config, ClientHooks hooks) {
  if (!hooks.env) hooks.env = process_environment();
  auto endpoint = resolve_endpoint(config.signing_name, config.endpoint, config.region, hooks.env);
  if (!endpoint.ok()) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("{} endpoint: {}", config.service_name, endpoint.error().message)};
  }
  auto impl = std::make_unique<Impl>();
  impl->endpoint = *endpoint;
  if (config.credentials_provider) {
    impl->credentials = config.credentials_provider;
  } else if (!config.credentials.access_key_id.empty()) {
    impl->credentials = static_credentials(config.credentials, "configured");
  } else {
    ChainOptions chain;
    chain.env = hooks.env;
    chain.clock = hooks.clock;
    chain.region = config.region;
    chain.tls = config.tls;
    chain.use_imds = !endpoint->is_loopback();
    auto provider = default_credentials_chain(chain);
    if (provider.ok()) {
      impl->credentials = *provider;
    } else if (provider.error().kind == ErrorKind::not_found && endpoint->is_loopback()) {
      // dynalite and fauxqs need a signature, not a valid one.
      impl->credentials =
          static_credentials({"crest-local", "crest-local-secret", ""}, "local-placeholder");
    } else {
      return Error{provider.error().kind, fmt::format("{} credentials: {}", config.service_name,
                                                      provider.error().message)};
    }
  }
  if (!hooks.transport) {
    impl->pool = std::make_unique<EndpointTransport>(*endpoint, config.http, config.tls);
    http::ClientOptions long_poll = config.http;
    long_poll.request_timeout += config.long_poll_allowance;
    impl->long_poll_pool = std::make_unique<EndpointTransport>(*endpoint, long_poll, config.tls);
    auto* pool = impl->pool.get();
    auto* lp = impl->long_poll_pool.get();
    hooks.transport = [pool, lp](const http::ClientRequest& request, bool is_long_poll) {
      return is_long_poll ? lp->send(request) : pool->send(request);
    };
  }
  if (!hooks.sleep) {
    hooks.sleep = [](std::chrono::nanoseconds d) { std::this_thread::sleep_for(d); };
  }
  if (!hooks.random) hooks.random = default_random;
  if (!hooks.quota) hooks.quota = std::make_shared<RetryQuota>(config.retry);
  if (hooks.metrics != nullptr) {
    auto& m = *hooks.metrics;
    impl->requests = &m.counter_family("crest_aws_requests_total",
                                       "AWS API calls by final outcome (after retries).",
                                       {"service", "operation", "outcome"});
    impl->retries = &m.counter_family("crest_aws_retries_total",
                                      "AWS API retries by the reason of the failed attempt.",
                                      {"service", "reason"});
    impl->throttled =
        &m.counter_family("crest_aws_throttled_total",
                          "AWS API responses that were throttling errors.", {"service"})
             .with({config.service_name});
    impl->duration = &m.histogram_family("crest_aws_request_duration_seconds",
                                         "AWS API call duration, retries and backoff included.",
                                         {"service", "operation"});
  }
  impl->config = std::move(config);
  impl->hooks = std::move(hooks);
  return std::unique_ptr<JsonClient>(new JsonClient(std::move(impl)));
}

const ClientConfig& JsonClient::config() const noexcept {
  return impl_->config;
}
const Endpoint& JsonClient::endpoint() const noexcept {
  return impl_->endpoint;
}
std::string JsonClient::credentials_source() const {
  return impl_->credentials->source();
}
RetryQuota& JsonClient::quota() noexcept {
  return *impl_->hooks.quota;
}

Outcome<nlohmann::json> JsonClient::call(std::string_view operation, const nlohmann::json& input,
                                         bool long_poll) {
  auto& impl = *impl_;
  const auto& policy = impl.config.retry;
  const std::string body = input.dump();
  const auto started = impl.clock().now();
  int last_retry_cost = 0;

  auto finish = [&](const char* outcome) {
    if (impl.requests != nullptr) {
      impl.requests->with({impl.config.service_name, operation, outcome}).inc();
      impl.duration->with({impl.config.service_name, operation})
          .observe(std::chrono::duration<double>(impl.clock().now() - started).count());
    }
  };

  for (int attempt = 1;; ++attempt) {
    auto request = impl.build(operation, body);
    if (!request.ok()) {
      AwsError error;
      error.kind = request.error().kind == ErrorKind::timeout ? ErrorKind::unavailable
                                                              : request.error().kind;
      if (error.kind == ErrorKind::not_found) error.kind = ErrorKind::unavailable;
      error.code = "CredentialsError";
      error.message = request.error().message;
      error.service = impl.config.service_name;
      error.operation = std::string(operation);
      error.attempts = attempt;
      finish("client_error");
      return error;
    }
    auto response = impl.hooks.transport(*request, long_poll);
    AwsError error;
    if (response.ok() && response->status == 200) {
      nlohmann::json parsed = response->body.empty()
                                  ? nlohmann::json::object()
                                  : nlohmann::json::parse(response->body, nullptr, false);
      if (parsed.is_discarded()) {
        error.kind = ErrorKind::internal;
        error.code = "MalformedResponse";
        error.message = "response body is not JSON";
        error.http_status = 200;
      } else {
        impl.hooks.quota->release(last_retry_cost);
        finish("success");
        return parsed;
      }
    } else if (response.ok()) {
      error = parse_error_response(response->status, response->headers, response->body);
    } else if (response.error().kind == ErrorKind::internal) {
      // A TLS handshake that failed verification: retrying cannot help.
      error.kind = ErrorKind::internal;
      error.code = "TlsError";
      error.message = response.error().message;
    } else {
      const bool timed_out = response.error().kind == ErrorKind::timeout;
      error.retry_class = classify(0, "", timed_out);
      error.kind = timed_out ? ErrorKind::timeout : ErrorKind::unavailable;
      error.code = timed_out ? "Timeout" : "ConnectionError";
      error.message = response.error().message;
    }
    error.service = impl.config.service_name;
    error.operation = std::string(operation);
    error.attempts = attempt;
    if (error.retry_class == RetryClass::throttling && impl.throttled != nullptr) {
      impl.throttled->inc();
    }
    if (error.retry_class == RetryClass::none || attempt >= policy.max_attempts) {
      finish(outcome_label(error));
      return error;
    }
    const auto cost = impl.hooks.quota->acquire(error.retry_class);
    if (!cost) {
      error.quota_exhausted = true;
      finish(outcome_label(error));
      return error;
    }
    last_retry_cost = *cost;
    if (impl.retries != nullptr) {
      impl.retries->with({impl.config.service_name, to_string(error.retry_class)}).inc();
    }
    impl.hooks.sleep(backoff_delay(policy, attempt, impl.hooks.random()));
  }
}

}  // namespace crest::aws
