#pragma once
// Routes by method and path pattern. Patterns are literal segments and "{name}" parameters:
// "/api/products/{id}". Literal segments win over parameters. An unknown path is 404; a known path
// with another method is 405 with an Allow header. HEAD is answered wherever GET is.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crest/http/message.hpp"

namespace crest::http {

using Handler = std::function<Response(Request&)>;

// Where a route's handler runs (see server.hpp for the threading model).
struct RouteOptions {
  // The handler may block (a database call, Argon2): the request leaves its event loop and runs
  // on the server's bounded pool for blocking work, so the loop's other connections keep going.
  // Unset: the router's default (see Router::set_blocking_by_default).
  std::optional<bool> blocking;
  // Optional, for a blocking route: tried first on the event loop. A response from it (a cache
  // hit) is answered there without crossing threads; std::nullopt sends the request to the pool.
  // It must not block, and it runs inside the middleware chain like the handler.
  std::function<std::optional<Response>(Request&)> without_blocking;
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;
  bool blocking = false;
  std::function<std::optional<Response>(Request&)> without_blocking;
};

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Throws std::invalid_argument for a malformed pattern or a duplicate route.
  void add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  // For routes added afterwards without an explicit RouteOptions::blocking. A service whose
  // handlers mostly call a database sets true, and marks what never blocks.
  void set_blocking_by_default(bool blocking) { blocking_by_default_ = blocking; }
  // A route whose handler blocks (database calls, Argon2): it runs on the blocking pool.
  void add_blocking(std::string method, std::string pattern, Handler handler);

  // Finds the route and fills request.path_params and request.context.route. nullptr when there
  // is none; then `failure` holds the 404 or 405 to answer.
  const Route* find(Request& request, Response& failure) const;

  // find() and call the handler (or answer the failure), on the calling thread.
  Response dispatch(Request& request) const;

  struct Node;

 private:
  std::unique_ptr<Node> root_;
  bool blocking_by_default_ = false;
};

}  // namespace crest::http
