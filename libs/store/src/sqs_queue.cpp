#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "crest/metrics/registry.hpp"
#include "crest/store/sqs.hpp"

namespace crest::store {
namespace {

// Whole seconds for SQS, rounded up so that a short wish is never shortened to nothing.
int ceil_seconds(std::chrono::milliseconds ms, int max) {
  const auto s = (ms.count() + 999) / 1000;
  return static_cast<int>(std::clamp<std::int64_t>(s, 0, max));
}

Error receipt_error(const aws::AwsError& e) {
  Error error = e.to_error();
  const std::string& code = e.code;
  if (code == "ReceiptHandleIsInvalid" || e.query_code == "ReceiptHandleIsInvalid") {
    error.kind = ErrorKind::invalid_argument;
  } else if (code == "MessageNotInflight" ||
             e.query_code == "AWS.SimpleQueueService.MessageNotInflight" ||
             (code == "InvalidParameterValue" && e.message.find("eceipt") != std::string::npos)) {
    error.kind = ErrorKind::conflict;
  }
  return error;
}

}  // namespace

SqsQueue::SqsQueue(std::shared_ptr<aws::SqsClient> client, std::string queue_url,
                   SqsQueueOptions options)
    : client_(std::move(client)), url_(std::move(queue_url)), options_(std::move(options)) {
  if (options_.metrics != nullptr) {
    auto& m = *options_.metrics;
    const std::vector<std::string> labels{"queue"};
    sent_ =
        &m.counter_family("crest_queue_messages_sent_total", "Messages sent to a queue.", labels)
             .with({options_.name});
    received_ = &m.counter_family("crest_queue_messages_received_total",
                                  "Messages delivered by a queue (redeliveries included).", labels)
                     .with({options_.name});
    deleted_ = &m.counter_family("crest_queue_messages_deleted_total",
                                 "Messages deleted (acknowledged) from a queue.", labels)
                    .with({options_.name});
  }
}

Result<std::unique_ptr<SqsQueue>> SqsQueue::open(std::shared_ptr<aws::SqsClient> client,
                                                 const std::string& queue_name,
                                                 metrics::Registry* metrics) {
  auto url = client->get_queue_url(queue_name);
  if (!url.ok()) return url.error().to_error();
  return std::make_unique<SqsQueue>(std::move(client), url.value(),
                                    SqsQueueOptions{queue_name, metrics});
}

Result<std::string> SqsQueue::send(const std::string& body) {
  auto id = client_->send_message(url_, body);
  if (!id.ok()) return id.error().to_error();
  if (sent_ != nullptr) sent_->inc();
  return id.value();
}

Result<std::vector<std::string>> SqsQueue::send_batch(const std::vector<std::string>& bodies) {
  if (bodies.empty() || bodies.size() > static_cast<std::size_t>(max_batch)) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("a batch holds 1 to {} messages, not {}", max_batch, bodies.size())};
  }
  std::vector<std::string> ids(bodies.size());
  std::vector<aws::BatchEntry> pending;
  for (std::size_t i = 0; i < bodies.size(); ++i) pending.push_back({std::to_string(i), bodies[i]});
  // Entries that failed on the server side are sent again (twice at most); any still failing
  // fail the call. Those already sent stay sent: consumers are idempotent (at-least-once).
  for (int round = 0; round < 3 && !pending.empty(); ++round) {
    auto result = client_->send_message_batch(url_, pending);
    if (!result.ok()) return result.error().to_error();
    std::vector<aws::BatchEntry> again;
    for (const auto& entry : pending) {
      if (auto it = result->successful.find(entry.id); it != result->successful.end()) {
        ids[std::stoul(entry.id)] = it->second;
        if (sent_ != nullptr) sent_->inc();
      }
    }
    for (const auto& failure : result->failed) {
      if (failure.sender_fault) {
        return Error{ErrorKind::invalid_argument,
                     fmt::format("SQS SendMessageBatch entry {}: {}: {}", failure.id, failure.code,
                                 failure.message)};
      }
      again.push_back(aws::BatchEntry{failure.id, bodies[std::stoul(failure.id)]});
    }
    pending = std::move(again);
  }
  if (!pending.empty()) {
    return Error{ErrorKind::unavailable,
                 fmt::format("SQS SendMessageBatch: {} of {} messages not accepted", pending.size(),
                             bodies.size())};
  }
  return ids;
}

Result<std::vector<ReceivedMessage>> SqsQueue::receive(const ReceiveOptions& options) {
  if (options.max_messages < 1 || options.max_messages > max_batch) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("max_messages must be 1 to {}", max_batch)};
  }
  aws::ReceiveMessageRequest request;
  request.queue_url = url_;
  request.max_messages = options.max_messages;
  request.wait_seconds = ceil_seconds(options.wait_time, 20);
  if (options.visibility_timeout) {
    request.visibility_timeout_seconds = ceil_seconds(*options.visibility_timeout, 43'200);
  }
  auto messages = client_->receive_message(request);
  if (!messages.ok()) return messages.error().to_error();
  std::vector<ReceivedMessage> out;
  for (auto& m : messages.value()) {
    ReceivedMessage r;
    r.id = m.message_id;
    r.receipt_handle = m.receipt_handle;
    r.body = std::move(m.body);
    try {
      r.receive_count = std::stoi(m.attributes["ApproximateReceiveCount"]);
      r.sent_at = WallTime(std::chrono::duration_cast<WallTime::duration>(
          std::chrono::milliseconds(std::stoll(m.attributes["SentTimestamp"]))));
    } catch (const std::exception&) {
      // Attributes missing: leave the defaults.
    }
    out.push_back(std::move(r));
  }
  if (received_ != nullptr) received_->inc(static_cast<double>(out.size()));
  return out;
}

Result<void> SqsQueue::delete_message(const std::string& receipt_handle) {
  if (receipt_handle.empty()) return Error{ErrorKind::invalid_argument, "empty receipt handle"};
  auto deleted = client_->delete_message(url_, receipt_handle);
  if (!deleted.ok()) return receipt_error(deleted.error());
  if (deleted_ != nullptr) deleted_->inc();
  return {};
}

Result<void> SqsQueue::change_visibility(const std::string& receipt_handle,
                                         std::chrono::milliseconds timeout) {
  if (receipt_handle.empty()) return Error{ErrorKind::invalid_argument, "empty receipt handle"};
  auto changed =
      client_->change_message_visibility(url_, receipt_handle, ceil_seconds(timeout, 43'200));
  if (!changed.ok()) return receipt_error(changed.error());
  return {};
}

Result<QueueAttributes> SqsQueue::attributes() {
  auto attributes = client_->get_queue_attributes(
      url_, {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"});
  if (!attributes.ok()) return attributes.error().to_error();
  QueueAttributes out;
  try {
    out.visible = std::stoll(attributes->at("ApproximateNumberOfMessages"));
    out.in_flight = std::stoll(attributes->at("ApproximateNumberOfMessagesNotVisible"));
  } catch (const std::exception&) {
    return Error{ErrorKind::internal, "SQS GetQueueAttributes: counts missing from the answer"};
  }
  return out;
}

Result<EnsuredQueue> ensure_queues(aws::SqsClient& client, const QueueSetup& setup) {
  EnsuredQueue out;
  std::map<std::string, std::string> attributes{
      {"VisibilityTimeout", std::to_string(setup.visibility_timeout.count())}};
  std::optional<aws::RedrivePolicy> redrive;
  if (!setup.dead_letter_name.empty()) {
    auto dlq = client.create_queue(setup.dead_letter_name);
    if (!dlq.ok()) return dlq.error().to_error();
    out.dead_letter_url = dlq.value();
    auto dlq_attributes = client.get_queue_attributes(out.dead_letter_url, {"QueueArn"});
    if (!dlq_attributes.ok()) return dlq_attributes.error().to_error();
    const auto arn = dlq_attributes->find("QueueArn");
    if (arn == dlq_attributes->end()) {
      return Error{ErrorKind::internal, "SQS GetQueueAttributes: no QueueArn for the DLQ"};
    }
    redrive = aws::RedrivePolicy{arn->second, setup.max_receive_count};
  }
  auto url = client.create_queue(setup.name, attributes, redrive);
  if (!url.ok()) return url.error().to_error();
  out.url = url.value();
  return out;
}

}  // namespace crest::store
