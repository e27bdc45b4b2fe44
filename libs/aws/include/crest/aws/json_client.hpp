#pragma once
// The AWS JSON 1.0 protocol (DynamoDB, SQS): POST / with Content-Type application/x-amz-json-1.0
// and X-Amz-Target <prefix>.<Operation>, signed with SigV4, over crest::http's keep-alive client,
// with the SDKs' standard retry mode (retry.hpp). Plain HTTP only: see the library README for
// what HTTPS to real AWS needs.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

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

struct ClientConfig {
  std::string service_name;   // for messages and metrics: "DynamoDB", "SQS"
  std::string signing_name;   // SigV4 service: "dynamodb", "sqs"
  std::string target_prefix;  // "DynamoDB_20120810", "AmazonSQS"
  std::string endpoint;       // "http://127.0.0.1:8000" (http only)
  std::string region = "us-east-1";
  Credentials credentials;
  http::ClientOptions http;  // request_timeout applies to ordinary calls
  // Long polls (SQS ReceiveMessage with WaitTimeSeconds up to 20) get a separate connection pool
  // whose request timeout is http.request_timeout + this, so the poll never times out early.
  std::chrono::milliseconds long_poll_allowance{20'000};
  RetryPolicy retry;
};

// Injectable collaborators; every one has a working default.
struct ClientHooks {
  Clock* clock = nullptr;                               // X-Amz-Date and durations
  std::function<void(std::chrono::nanoseconds)> sleep;  // backoff; default: sleep_for
  std::function<double()> random;                       // [0, 1); default: per-thread mt19937
  metrics::Registry* metrics = nullptr;                 // crest_aws_* metrics when given
  Transport transport;                                  // default: HttpClientPool to endpoint
  std::shared_ptr<RetryQuota> quota;                    // default: one per client
};

class JsonClient {
 public:
  // invalid_argument for an endpoint that is not http://host:port.
  static Result<std::unique_ptr<JsonClient>> create(ClientConfig config, ClientHooks hooks = {});
  ~JsonClient();
  JsonClient(const JsonClient&) = delete;
  JsonClient& operator=(const JsonClient&) = delete;

  // Calls `operation` with `input`; the parsed response body, or the error after retries.
  // Thread-safe.
  Outcome<nlohmann::json> call(std::string_view operation, const nlohmann::json& input,
                               bool long_poll = false);

  const ClientConfig& config() const noexcept;
  RetryQuota& quota() noexcept;

  struct Impl;

 private:
  explicit JsonClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crest::aws
