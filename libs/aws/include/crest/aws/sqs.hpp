#pragma once
// SQS operations over the JSON 1.0 protocol (AmazonSQS.<Op>). Queue URLs are used exactly as
// CreateQueue/GetQueueUrl return them; requests always go to the configured endpoint.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crest/aws/config.hpp"
#include "crest/aws/json_client.hpp"

#include <nlohmann/json.hpp>

namespace crest::aws {

using Json = nlohmann::json;

struct SqsMessage {
  std::string message_id;
  std::string receipt_handle;
  std::string body;
  std::string md5_of_body;
  std::map<std::string, std::string> attributes;  // ApproximateReceiveCount, SentTimestamp...
};

struct ReceiveMessageRequest {
  std::string queue_url;
  int max_messages = 1;  // 1..10
  int wait_seconds = 0;  // long polling, 0..20
  std::optional<int> visibility_timeout_seconds;
  std::vector<std::string> attribute_names = {"ApproximateReceiveCount", "SentTimestamp"};
};

struct BatchEntry {
  std::string id;     // unique within the batch
  std::string value;  // body (send) or receipt handle (delete)
};
struct BatchFailure {
  std::string id;
  std::string code;
  std::string message;
  bool sender_fault = false;
};
struct BatchResult {
  std::map<std::string, std::string> successful;  // entry id -> message id ("" for deletes)
  std::vector<BatchFailure> failed;
};

struct RedrivePolicy {
  std::string dead_letter_target_arn;
  int max_receive_count = 5;
};

// endpoint "http://127.0.0.1:4566"; empty: AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL, else
// https://sqs.<region>.amazonaws.com (the rest as ServiceOptions says).
struct SqsOptions : ServiceOptions {};

class SqsClient {
 public:
  static Result<std::unique_ptr<SqsClient>> create(SqsOptions options, ClientHooks hooks = {});

  Outcome<std::string> send_message(const std::string& queue_url, const std::string& body,
                                    int delay_seconds = 0);
  Outcome<BatchResult> send_message_batch(const std::string& queue_url,
                                          const std::vector<BatchEntry>& entries);
  // Long polls use a connection whose timeout exceeds wait_seconds.
  Outcome<std::vector<SqsMessage>> receive_message(const ReceiveMessageRequest& request);
  Outcome<Json> delete_message(const std::string& queue_url, const std::string& receipt_handle);
  Outcome<BatchResult> delete_message_batch(const std::string& queue_url,
                                            const std::vector<BatchEntry>& entries);
  Outcome<Json> change_message_visibility(const std::string& queue_url,
                                          const std::string& receipt_handle, int timeout_seconds);
  Outcome<std::map<std::string, std::string>> get_queue_attributes(
      const std::string& queue_url, const std::vector<std::string>& names = {"All"});
  Outcome<std::string> get_queue_url(const std::string& queue_name);
  // Attributes as SQS names them (VisibilityTimeout, MessageRetentionPeriod...); a redrive
  // policy becomes the RedrivePolicy attribute. Returns the queue URL.
  Outcome<std::string> create_queue(const std::string& queue_name,
                                    std::map<std::string, std::string> attributes = {},
                                    const std::optional<RedrivePolicy>& redrive = std::nullopt);

  JsonClient& client() noexcept { return *client_; }

 private:
  explicit SqsClient(std::unique_ptr<JsonClient> client) : client_(std::move(client)) {}
  std::unique_ptr<JsonClient> client_;
};

}  // namespace crest::aws
