#pragma once
// fauxqs (the SQS-compatible server from npm) as a child process on 127.0.0.1: a NodeServer. Its
// own CLI binds 0.0.0.0, so it is started through scripts/fauxqs-server.mjs, which listens on
// 127.0.0.1 only. State is in memory: restart() gives an empty server on the same port.
#include <string>

#include "crest/core/error.hpp"
#include "crest/stack/node_server.hpp"

namespace crest::stack {

struct FauxqsOptions : NodeServerOptions {
  std::string region = "us-east-1";
};

class FauxqsServer : public NodeServer {
 public:
  // `dir` is the run directory: fauxqs.log goes there.
  static Result<FauxqsServer> start(const std::string& dir, FauxqsOptions options = {});

 private:
  FauxqsServer() = default;
};

}  // namespace crest::stack
