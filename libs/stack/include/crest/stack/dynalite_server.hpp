#pragma once
// dynalite (the DynamoDB-compatible server from npm) as a child process on 127.0.0.1, for the local
// stack and for tests: a NodeServer (started on a free port, ready when it accepts connections,
// stopped by pid). restart() loses the in-memory data unless `persist`.
#include <string>

#include "crest/core/error.hpp"
#include "crest/stack/node_server.hpp"

namespace crest::stack {

struct DynaliteOptions : NodeServerOptions {
  bool persist = false;  // --path <dir>/dynalite-data, so data survives restart()
};

class DynaliteServer : public NodeServer {
 public:
  // `dir` is the run directory: dynalite.log goes there (and the data, with persist).
  static Result<DynaliteServer> start(const std::string& dir, DynaliteOptions options = {});

 private:
  DynaliteServer() = default;
};

}  // namespace crest::stack
