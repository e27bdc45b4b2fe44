// The floor for bench/storefront_cpu_per_request.sh: the same http library and middleware as the
// storefront, answering a fixed JSON body, with the default log level (access log on).
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "crest/http/server.hpp"
#include "crest/metrics/registry.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: http_hello_server EVENT_LOOPS PORT_FILE   (0 event loops: one per CPU)\n";
    return 2;
  }
  crest::metrics::Registry registry;
  crest::http::Router router;
  router.add("GET", "/api/products/{id}", [](crest::http::Request&) {
    return crest::http::Response::json(200, {{"hello", "world"}});
  });
  crest::http::ServerOptions options;
  options.port = 0;
  options.event_loops = std::atoi(argv[1]);
  crest::http::Server server(
      options, std::move(router),
      crest::http::standard_middleware(crest::log::Logger("hello"), registry), registry);
  if (const auto listening = server.listen(); !listening.ok()) {
    std::cerr << listening.error().message << '\n';
    return 1;
  }
  std::ofstream(argv[2]) << server.port() << '\n';
  server.run();
  return 0;
}
