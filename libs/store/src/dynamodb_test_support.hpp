#pragma once
// Test support: one dynalite / fauxqs server per test binary, started on first use on a free
// loopback port (stopped by pid when the binary exits), and clients pointed at them. A missing
// npm package fails the test with the launcher's message ("run `npm ci`"), never skips it.
#include <filesystem>
#include <memory>
#include <optional>

#include <gtest/gtest.h>
#include <unistd.h>

#include "crest/aws/dynamodb.hpp"
#include "crest/aws/sqs.hpp"
#include "crest/stack/dynalite_server.hpp"
#include "crest/stack/fauxqs_server.hpp"

namespace crest::store::test_support {

inline std::string run_dir(const char* what) {
  return (std::filesystem::temp_directory_path() /
          (std::string("crest-") + what + "-" + std::to_string(::getpid())))
      .string();
}

// nullptr (with a test failure naming the reason) if dynalite could not start.
inline stack::DynaliteServer* dynalite() {
  static std::optional<Result<stack::DynaliteServer>> server;
  if (!server) server.emplace(stack::DynaliteServer::start(run_dir("dynalite")));
  if (!server->ok()) {
    ADD_FAILURE() << "dynalite did not start: " << server->error().message;
    return nullptr;
  }
  return &server->value();
}

inline stack::FauxqsServer* fauxqs() {
  static std::optional<Result<stack::FauxqsServer>> server;
  if (!server) server.emplace(stack::FauxqsServer::start(run_dir("fauxqs")));
  if (!server->ok()) {
    ADD_FAILURE() << "fauxqs did not start: " << server->error().message;
    return nullptr;
  }
  return &server->value();
}

inline std::shared_ptr<aws::DynamoDbClient> dynamodb_client(const std::string& endpoint,
                                                            aws::ClientHooks hooks = {},
                                                            aws::RetryPolicy retry = {}) {
  aws::DynamoDbOptions options;
  options.endpoint = endpoint;
  options.credentials = {"AKIDLOCAL", "local-secret", ""};
  options.retry = retry;
  auto client = aws::DynamoDbClient::create(options, std::move(hooks));
  EXPECT_TRUE(client.ok()) << client.error().message;
  return client.ok() ? std::shared_ptr<aws::DynamoDbClient>(std::move(client.value())) : nullptr;
}

inline std::shared_ptr<aws::SqsClient> sqs_client(const std::string& endpoint) {
  aws::SqsOptions options;
  options.endpoint = endpoint;
  options.credentials = {"AKIDLOCAL", "local-secret", ""};
  auto client = aws::SqsClient::create(options);
  EXPECT_TRUE(client.ok()) << client.error().message;
  return client.ok() ? std::shared_ptr<aws::SqsClient>(std::move(client.value())) : nullptr;
}

}  // namespace crest::store::test_support
