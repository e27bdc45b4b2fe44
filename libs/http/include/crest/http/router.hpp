#pragma once
// Routes by method and path pattern. Patterns are literal segments and "{name}" parameters:
// "/api/products/{id}". Literal segments win over parameters. An unknown path is 404; a known path
// with another method is 405 with an Allow header.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "crest/http/message.hpp"

namespace crest::http {

using Handler = std::function<Response(Request&)>;

class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // Throws std::invalid_argument for a malformed pattern or a duplicate route.
  void add(std::string method, std::string pattern, Handler handler);

  // Finds the route, fills request.path_params and request.context.route, and calls it.
  Response dispatch(Request& request) const;

  struct Node;

 private:
  std::unique_ptr<Node> root_;
};

}  // namespace crest::http
