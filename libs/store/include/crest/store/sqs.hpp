#pragma once
// SqsQueue: the Queue port over SQS (fauxqs locally). Receipt handles are SQS's own.
//
// How queue.hpp's receipt-handle semantics map onto what SQS reports:
//   ReceiptHandleIsInvalid (malformed, or not from this queue)          -> invalid_argument;
//   MessageNotInflight, or an expired/superseded handle on
//   ChangeMessageVisibility (InvalidParameterValue)                      -> conflict;
//   the queue itself gone (QueueDoesNotExist)                            -> not_found.
// SQS accepts DeleteMessage with a superseded handle (it deletes the message or does nothing),
// so a stale delete cannot be reported as conflict here; consumers stay idempotent anyway.
// attributes().oldest_age: SQS exposes the age of the oldest message only as the CloudWatch
// metric ApproximateAgeOfOldestMessage, not as a queue attribute, and receiving a message to
// read its SentTimestamp counts as a receive (it would push messages toward the dead-letter
// queue). With SqsQueueOptions::inspection_endpoint set (fauxqs), the age comes from the
// server's non-destructive inspection, GET /_fauxqs/queues/<queue name>: now minus the oldest
// sentTimestamp among its ready, delayed and in-flight messages. Without it, 0.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "crest/aws/sqs.hpp"
#include "crest/http/client.hpp"
#include "crest/store/queue.hpp"

namespace crest::store {

struct SqsQueueOptions {
  std::string name = "orders";           // the `queue` metric label
  metrics::Registry* metrics = nullptr;  // crest_queue_messages_{sent,received,deleted}_total
  // "http://host:port" of a fauxqs server whose inspection endpoint gives the oldest message's
  // age; empty (AWS): attributes().oldest_age stays 0 (see above).
  std::string inspection_endpoint;
};

class SqsQueue final : public Queue {
 public:
  SqsQueue(std::shared_ptr<aws::SqsClient> client, std::string queue_url,
           SqsQueueOptions options = {});
  // Looks the URL up with GetQueueUrl (not_found if there is no such queue).
  static Result<std::unique_ptr<SqsQueue>> open(std::shared_ptr<aws::SqsClient> client,
                                                const std::string& queue_name,
                                                metrics::Registry* metrics = nullptr);

  const std::string& url() const noexcept { return url_; }

  Result<std::vector<std::string>> send_messages(
      const std::vector<OutgoingMessage>& messages) override;
  Result<std::vector<ReceivedMessage>> receive(const ReceiveOptions& options) override;
  Result<void> delete_message(const std::string& receipt_handle) override;
  Result<void> change_visibility(const std::string& receipt_handle,
                                 std::chrono::milliseconds timeout) override;
  Result<QueueAttributes> attributes() override;

 private:
  std::shared_ptr<aws::SqsClient> client_;
  std::string url_;
  Result<std::chrono::milliseconds> inspect_oldest_age();

  SqsQueueOptions options_;
  std::unique_ptr<http::HttpClientPool> inspection_;
  std::string inspection_target_;
  QueueMetrics metrics_;
};

struct QueueSetup {
  std::string name = "orders";
  std::chrono::seconds visibility_timeout{30};
  std::string dead_letter_name = "orders-dlq";  // empty: no dead-letter queue
  int max_receive_count = 5;
};

struct EnsuredQueue {
  std::string url;
  std::string dead_letter_url;  // empty without a dead-letter queue
};

// Creates the dead-letter queue, then the queue with RedrivePolicy {deadLetterTargetArn,
// maxReceiveCount}; idempotent. For local runs and tests; on AWS, Terraform owns the queues.
Result<EnsuredQueue> ensure_queues(aws::SqsClient& client, const QueueSetup& setup = {});

}  // namespace crest::store
