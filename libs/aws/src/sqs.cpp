#include "crest/aws/sqs.hpp"

#include "crest/aws/dynamodb.hpp"  // credentials_or_local

namespace crest::aws {
namespace {

Outcome<BatchResult> batch_result(Outcome<Json> response, const char* id_field) {
  if (!response.ok()) return response.error();
  BatchResult result;
  if (auto it = response->find("Successful"); it != response->end() && it->is_array()) {
    for (const auto& entry : *it) {
      result.successful[entry.value("Id", "")] = entry.value(id_field, "");
    }
  }
  if (auto it = response->find("Failed"); it != response->end() && it->is_array()) {
    for (const auto& entry : *it) {
      result.failed.push_back(BatchFailure{entry.value("Id", ""), entry.value("Code", ""),
                                           entry.value("Message", ""),
                                           entry.value("SenderFault", false)});
    }
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<SqsClient>> SqsClient::create(SqsOptions options, ClientHooks hooks) {
  ClientConfig config;
  static_cast<ServiceOptions&>(config) = options;
  config.service_name = "SQS";
  config.signing_name = "sqs";
  config.target_prefix = "AmazonSQS";
  auto client = JsonClient::create(std::move(config), std::move(hooks));
  if (!client.ok()) return client.error();
  return std::unique_ptr<SqsClient>(new SqsClient(std::move(client.value())));
}

Outcome<std::string> SqsClient::send_message(const std::string& queue_url, const std::string& body,
                                             int delay_seconds) {
  Json input{{"QueueUrl", queue_url}, {"MessageBody", body}};
  if (delay_seconds > 0) input["DelaySeconds"] = delay_seconds;
  auto response = client_->call("SendMessage", input);
  if (!response.ok()) return response.error();
  return response->value("MessageId", "");
}

Outcome<BatchResult> SqsClient::send_message_batch(const std::string& queue_url,
                                                   const std::vector<BatchEntry>& entries) {
  Json list = Json::array();
  for (const auto& e : entries) list.push_back({{"Id", e.id}, {"MessageBody", e.value}});
  return batch_result(
      client_->call("SendMessageBatch", {{"QueueUrl", queue_url}, {"Entries", list}}), "MessageId");
}

Outcome<std::vector<SqsMessage>> SqsClient::receive_message(const ReceiveMessageRequest& r) {
  Json input{{"QueueUrl", r.queue_url},
             {"MaxNumberOfMessages", r.max_messages},
             {"WaitTimeSeconds", r.wait_seconds}};
  if (r.visibility_timeout_seconds) input["VisibilityTimeout"] = *r.visibility_timeout_seconds;
  if (!r.attribute_names.empty()) {
    // AttributeNames is the classic name; MessageSystemAttributeNames the newer one.
    input["AttributeNames"] = r.attribute_names;
    input["MessageSystemAttributeNames"] = r.attribute_names;
  }
  auto response = client_->call("ReceiveMessage", input, r.wait_seconds > 0);
  if (!response.ok()) return response.error();
  std::vector<SqsMessage> messages;
  if (auto it = response->find("Messages"); it != response->end() && it->is_array()) {
    for (const auto& m : *it) {
      SqsMessage message{m.value("MessageId", ""),
                         m.value("ReceiptHandle", ""),
                         m.value("Body", ""),
                         m.value("MD5OfBody", ""),
                         {}};
      if (auto a = m.find("Attributes"); a != m.end() && a->is_object()) {
        for (const auto& [k, v] : a->items()) {
          message.attributes[k] = v.is_string() ? v.get<std::string>() : v.dump();
        }
      }
      messages.push_back(std::move(message));
    }
  }
  return messages;
}

Outcome<Json> SqsClient::delete_message(const std::string& queue_url,
                                        const std::string& receipt_handle) {
  return client_->call("DeleteMessage",
                       {{"QueueUrl", queue_url}, {"ReceiptHandle", receipt_handle}});
}

Outcome<BatchResult> SqsClient::delete_message_batch(const std::string& queue_url,
                                                     const std::vector<BatchEntry>& entries) {
  Json list = Json::array();
  for (const auto& e : entries) list.push_back({{"Id", e.id}, {"ReceiptHandle", e.value}});
  return batch_result(
      client_->call("DeleteMessageBatch", {{"QueueUrl", queue_url}, {"Entries", list}}), "Id");
}

Outcome<Json> SqsClient::change_message_visibility(const std::string& queue_url,
                                                   const std::string& receipt_handle,
                                                   int timeout_seconds) {
  return client_->call("ChangeMessageVisibility", {{"QueueUrl", queue_url},
                                                   {"ReceiptHandle", receipt_handle},
                                                   {"VisibilityTimeout", timeout_seconds}});
}

Outcome<std::map<std::string, std::string>> SqsClient::get_queue_attributes(
    const std::string& queue_url, const std::vector<std::string>& names) {
  auto response =
      client_->call("GetQueueAttributes", {{"QueueUrl", queue_url}, {"AttributeNames", names}});
  if (!response.ok()) return response.error();
  std::map<std::string, std::string> out;
  if (auto it = response->find("Attributes"); it != response->end() && it->is_object()) {
    for (const auto& [k, v] : it->items()) out[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return out;
}

Outcome<std::string> SqsClient::get_queue_url(const std::string& queue_name) {
  auto response = client_->call("GetQueueUrl", {{"QueueName", queue_name}});
  if (!response.ok()) return response.error();
  return response->value("QueueUrl", "");
}

Outcome<std::string> SqsClient::create_queue(const std::string& queue_name,
                                             std::map<std::string, std::string> attributes,
                                             const std::optional<RedrivePolicy>& redrive) {
  if (redrive) {
    attributes["RedrivePolicy"] =
        Json{{"deadLetterTargetArn", redrive->dead_letter_target_arn},
             {"maxReceiveCount", std::to_string(redrive->max_receive_count)}}
            .dump();
  }
  Json input{{"QueueName", queue_name}};
  if (!attributes.empty()) input["Attributes"] = attributes;
  auto response = client_->call("CreateQueue", input);
  if (!response.ok()) return response.error();
  return response->value("QueueUrl", "");
}

}  // namespace crest::aws
