#include "crest/store/queue.hpp"

namespace crest::store {

Result<std::vector<std::string>> Queue::send_batch(const std::vector<std::string>& bodies) {
  std::vector<OutgoingMessage> messages;
  messages.reserve(bodies.size());
  for (const auto& body : bodies) messages.push_back(OutgoingMessage{body, {}});
  return send_messages(messages);
}

Result<std::string> Queue::send(std::string body, MessageAttributes attributes) {
  auto ids = send_messages(std::vector<OutgoingMessage>{{std::move(body), std::move(attributes)}});
  if (!ids) return ids.error();
  return std::move(ids->front());
}

}  // namespace crest::store
