#pragma once
// The AWS JSON 1.0 protocol (DynamoDB, SQS): POST / with Content-Type application/x-amz-json-1.0
// and X-Amz-Target <prefix>.<Operation>, signed with SigV4, over crest::http's keep-alive client,
// or HTTPS (https.hpp: certificate verification, connection reuse), with the SDKs' standard retry
// mode (retry.hpp) and credentials from a CredentialsProvider (credentials.hpp: the SDKs' chain,
// temporary credentials refreshed before they expire).
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "crest/aws/config.hpp"
#include "crest/aws/credentials.hpp"
#include "crest/aws/https.hpp"
#include "crest/aws/retry.hpp"
#include "crest/aws/sigv4.hpp"
#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"
#include "crest/http/client.hpp"

namespace crest::metrics {
class Registry;
}

namespace crest::aws {

// A failed call, with what the service said.
struct AwsError {
  ErrorKind kind = ErrorKind::internal;
  std::string code;  // "__type" without its namespace, e.g. "ConditionalCheckFailedException"
  std::string
      query_code;  // from x-amzn-query-error, e.g. "AWS.SimpleQueueService.NonExistentQueue"
  std::string message;
  int http_status = 0;  // 0: no response (connection failure or timeout)
  RetryClass retry_class = RetryClass::none;
  int attempts = 1;
  bool quota_exhausted = false;  // a retry was wanted but the retry quota could not pay for it
  std::string service;           // "DynamoDB", "SQS"
  std::string operation;

  // For the ports: throttling that survived retries reads "DynamoDB throttled: ...".
  Error to_error() const;
};

// The value of a call, or its AwsError.
template <typename T>
class [[nodiscard]] Outcome {
 public:
  Outcome(T value) : state_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Outcome(AwsError error) : state_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const AwsError& error() const { return std::get<1>(state_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, AwsError> state_;
};

// Parses an error response: code from "__type" (namespace before '#' stripped; also accepts
// "code"/"Code" and the x-amzn-ErrorType header), query_code from x-amzn-query-error (before
// ';'), message from "message"/"Message". Sets kind and retry_class too.
AwsError parse_error_response(int http_status, const http::Headers& headers, std::string_view body);
// The port-facing kind for a non-retryable error code (not_found, conflict, invalid_argument...).
ErrorKind kind_for(int http_status, std::string_view code, RetryClass retry_class);

// Sends one HTTP request; `long_poll` asks for a connection whose timeout covers a long poll.
using Transport =
    std::function<Result<http::Response>(const http::ClientRequest& request, bool long_poll)>;

// Where a service client sends, as whom and how: what DynamoDbOptions and SqsOptions share.
struct ServiceOptions {
  // "http://127.0.0.1:8000", "https://host[:port]"; empty: AWS_ENDPOINT_URL_<SERVICE>, then
  // AWS_ENDPOINT_URL, then https://<signing_name>.<region>.amazonaws.com (resolve_endpoint).
  std::string endpoint;
  std::string region = "us-east-1";
  // Used when set; else `credentials` when it has a key; else the default chain
  // (default_credentials_chain; IMDS left out for a loopback endpoint), and for a loopback
  // endpoint with no credentials anywhere a placeholder pair (dynalite and fauxqs do not check).
  std::shared_ptr<CredentialsProvider> credentials_provider;
  Credentials credentials;
  TlsOptions tls;
  // request_timeout applies to ordinary calls
  http::ClientOptions http{std::chrono::milliseconds(2'000), std::chrono::milliseconds(5'000)};
  RetryPolicy retry;
};

struct ClientConfig : ServiceOptions {
  std::string service_name;   // for messages and metrics: "DynamoDB", "SQS"
  std::string signing_name;   // SigV4 service: "dynamodb", "sqs"
  std::string target_prefix;  // "DynamoDB_20120810", "AmazonSQS"
  // Long polls (SQS ReceiveMessage with WaitTimeSeconds up to 20) get a separate connection pool
  // whose request timeout is http.request_timeout + this, so the poll never times out early.
  std::chrono::milliseconds long_poll_allowance{20'000};
};

// Injectable collaborators; every one has a working default.
struct ClientHooks {
  Clock* clock = nullptr;                               // X-Amz-Date and durations
  std::function<void(std::chrono::nanoseconds)> sleep;  // backoff; default: sleep_for
  std::function<double()> random;                       // [0, 1); default: per-thread mt19937
  metrics::Registry* metrics = nullptr;                 // crest_aws_* metrics when given
  Transport transport;                                  // default: HttpClientPool to endpoint
  std::shared_ptr<RetryQuota> quota;                    // default: one per client
  EnvLookup env;  // endpoint and credential variables; default: process_environment()
};

class JsonClient {
 public:
  // invalid_argument for an endpoint that is not http(s)://host[:port]; the credential chain's
  // error when no credentials can be found for a non-loopback endpoint.
  static Result<std::unique_ptr<JsonClient>> create(ClientConfig config, ClientHooks hooks = {});
  ~JsonClient();
  JsonClient(const JsonClient&) = delete;
  JsonClient& operator=(const JsonClient&) = delete;

  // Calls `operation` with `input`; the parsed response body, or the error after retries.
  // Thread-safe.
  Outcome<nlohmann::json> call(std::string_view operation, const nlohmann::json& input,
                               bool long_poll = false);

  const ClientConfig& config() const noexcept;
  const Endpoint& endpoint() const noexcept;
  // Where the credentials come from ("environment", "web-identity", ..., "local-placeholder").
  std::string credentials_source() const;
  RetryQuota& quota() noexcept;

  struct Impl;

 private:
  explicit JsonClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crest::aws
