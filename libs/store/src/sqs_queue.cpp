#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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
    : client_(std::move(client)),
      url_(std::move(queue_url)),
      options_(std::move(options)),
      metrics_(options_.metrics, options_.name, /*dead_letters=*/false) {
  if (!options_.inspection_endpoint.empty()) {
    auto host_port = http::parse_base_url(options_.inspection_endpoint);
    if (host_port.ok()) {
      inspection_ = std::make_unique<http::HttpClientPool>(
          host_port->host, host_port->port,
          http::ClientOptions{std::chrono::milliseconds(1'000), std::chrono::milliseconds(2'000)});
      // The queue's name is the last segment of its URL.
      inspection_target_ = "/_fauxqs/queues/" + url_.substr(url_.rfind('/') + 1);
    }
  }
}

Result<std::unique_ptr<SqsQueue>> SqsQueue::open(std::shared_ptr<aws::SqsClient> client,
                                                 const std::string& queue_name,
                                                 metrics::Registry* metrics) {
  auto url = client->get_queue_url(queue_name);
  if (!url.ok()) return url.error().to_error();
  return std::make_unique<SqsQueue>(std::move(client), url.value(),
                                    SqsQueueOptions{queue_name, metrics, {}});
}

Result<std::vector<std::string>> SqsQueue::send_messages(
    const std::vector<OutgoingMessage>& messages) {
  if (auto checked = check_batch_size(messages.size()); !checked.ok()) {
    return checked.error();
  }
  std::vector<std::string> ids(messages.size());
  std::vector<std::size_t> pending(messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) pending[i] = i;
  // SendMessageBatch through the JSON client: crest::aws's helper sends bodies only, and the
  // attributes must travel as SQS MessageAttributes (DataType String).
  // Entries that failed on the server side are sent again (twice at most); any still failing
  // fail the call. Those already sent stay sent: consumers are idempotent (at-least-once).
  for (int round = 0; round < 3 && !pending.empty(); ++round) {
    nlohmann::json entries = nlohmann::json::array();
    for (const auto i : pending) {
      nlohmann::json entry{{"Id", std::to_string(i)}, {"MessageBody", messages[i].body}};
      if (!messages[i].attributes.empty()) {
        nlohmann::json attributes = nlohmann::json::object();
        for (const auto& [name, value] : messages[i].attributes) {
          attributes[name] = {{"DataType", "String"}, {"StringValue", value}};
        }
        entry["MessageAttributes"] = std::move(attributes);
      }
      entries.push_back(std::move(entry));
    }
    auto result =
        client_->client().call("SendMessageBatch", {{"QueueUrl", url_}, {"Entries", entries}});
    if (!result.ok()) return result.error().to_error();
    std::vector<std::size_t> again;
    if (auto it = result->find("Successful"); it != result->end() && it->is_array()) {
      for (const auto& entry : *it) {
        const auto index = std::stoul(entry.value("Id", "0"));
        if (index < ids.size()) ids[index] = entry.value("MessageId", "");
        QueueMetrics::add(metrics_.sent);
      }
    }
    if (auto it = result->find("Failed"); it != result->end() && it->is_array()) {
      for (const auto& failure : *it) {
        if (failure.value("SenderFault", false)) {
          return Error{ErrorKind::invalid_argument,
                       fmt::format("SQS SendMessageBatch entry {}: {}: {}", failure.value("Id", ""),
                                   failure.value("Code", ""), failure.value("Message", ""))};
        }
        again.push_back(std::stoul(failure.value("Id", "0")));
      }
    }
    pending = std::move(again);
  }
  if (!pending.empty()) {
    return Error{ErrorKind::unavailable,
                 fmt::format("SQS SendMessageBatch: {} of {} messages not accepted", pending.size(),
                             messages.size())};
  }
  return ids;
}

Result<std::vector<ReceivedMessage>> SqsQueue::receive(const ReceiveOptions& options) {
  if (auto checked = check_max_messages(options.max_messages); !checked.ok()) {
    return checked.error();
  }
  const int wait_seconds = ceil_seconds(options.wait_time, 20);
  const std::vector<std::string> system_attributes{"ApproximateReceiveCount", "SentTimestamp"};
  nlohmann::json input{{"QueueUrl", url_},
                       {"MaxNumberOfMessages", options.max_messages},
                       {"WaitTimeSeconds", wait_seconds},
                       // AttributeNames is the classic name; MessageSystemAttributeNames the newer.
                       {"AttributeNames", system_attributes},
                       {"MessageSystemAttributeNames", system_attributes},
                       {"MessageAttributeNames", {"All"}}};
  if (options.visibility_timeout) {
    input["VisibilityTimeout"] = ceil_seconds(*options.visibility_timeout, 43'200);
  }
  auto response = client_->client().call("ReceiveMessage", input, wait_seconds > 0);
  if (!response.ok()) return response.error().to_error();
  std::vector<ReceivedMessage> out;
  if (auto it = response->find("Messages"); it != response->end() && it->is_array()) {
    for (const auto& m : *it) {
      ReceivedMessage r;
      r.id = m.value("MessageId", "");
      r.receipt_handle = m.value("ReceiptHandle", "");
      r.body = m.value("Body", "");
      if (auto a = m.find("Attributes"); a != m.end() && a->is_object()) {
        try {
          r.receive_count = std::stoi(a->value("ApproximateReceiveCount", "0"));
          r.sent_at = WallTime(std::chrono::duration_cast<WallTime::duration>(
              std::chrono::milliseconds(std::stoll(a->value("SentTimestamp", "0")))));
        } catch (const std::exception&) {
          // Malformed attributes: leave the defaults.
        }
      }
      if (auto a = m.find("MessageAttributes"); a != m.end() && a->is_object()) {
        for (const auto& [name, value] : a->items()) {
          if (value.is_object() && value.contains("StringValue") &&
              value["StringValue"].is_string()) {
            r.attributes[name] = value["StringValue"].get<std::string>();
          }
        }
      }
      out.push_back(std::move(r));
    }
  }
  QueueMetrics::add(metrics_.received, out.size());
  return out;
}

Result<void> SqsQueue::delete_message(const std::string& receipt_handle) {
  if (receipt_handle.empty()) return Error{ErrorKind::invalid_argument, "empty receipt handle"};
  auto deleted = client_->delete_message(url_, receipt_handle);
  if (!deleted.ok()) return receipt_error(deleted.error());
  QueueMetrics::add(metrics_.deleted);
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
  if (inspection_ != nullptr) {
    auto age = inspect_oldest_age();
    if (!age.ok()) return age.error();
    out.oldest_age = age.value();
  }
  return out;
}

Result<std::chrono::milliseconds> SqsQueue::inspect_oldest_age() {
  auto response = inspection_->send(http::ClientRequest{"GET", inspection_target_, {}, {}});
  if (!response.ok()) return response.error();
  if (response->status != 200) {
    return Error{ErrorKind::unavailable, fmt::format("fauxqs inspection {}: HTTP {}",
                                                     inspection_target_, response->status)};
  }
  const auto state = nlohmann::json::parse(response->body, nullptr, false);
  if (!state.is_object() || !state.contains("messages") || !state["messages"].is_object()) {
    return Error{ErrorKind::internal,
                 fmt::format("fauxqs inspection {}: no messages object", inspection_target_)};
  }
  std::optional<std::int64_t> oldest_ms;
  const auto consider = [&](const nlohmann::json& message) {
    if (message.is_object() && message.contains("sentTimestamp") &&
        message["sentTimestamp"].is_number_integer()) {
      const auto sent = message["sentTimestamp"].get<std::int64_t>();
      if (!oldest_ms || sent < *oldest_ms) oldest_ms = sent;
    }
  };
  const auto& messages = state["messages"];
  for (const char* group : {"ready", "delayed"}) {
    if (messages.contains(group) && messages[group].is_array()) {
      for (const auto& m : messages[group]) consider(m);
    }
  }
  if (messages.contains("inflight") && messages["inflight"].is_array()) {
    for (const auto& entry : messages["inflight"]) {
      if (entry.is_object() && entry.contains("message")) consider(entry["message"]);
    }
  }
  if (!oldest_ms) return std::chrono::milliseconds(0);
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return std::chrono::milliseconds(std::max<std::int64_t>(0, now_ms - *oldest_ms));
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
