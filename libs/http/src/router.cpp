#include "crest/http/router.hpp"

#include <map>
#include <stdexcept>

namespace crest::http {

// A trie over path segments. Each node may hold handlers per method.
struct Router::Node {
  std::map<std::string, std::unique_ptr<Node>, std::less<>> literal;
  std::unique_ptr<Node> parameter;
  std::string parameter_name;
  std::map<std::string, Route, std::less<>> handlers;  // by method
  std::string pattern;
};

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return segments;
}

bool is_parameter(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

const Router::Node* match(const Router::Node* node, const std::vector<std::string_view>& segments,
                          std::size_t index,
                          std::vector<std::pair<std::string, std::string>>& params) {
  if (index == segments.size()) {
    return node->handlers.empty() ? nullptr : node;
  }
  const std::string_view segment = segments[index];
  if (auto it = node->literal.find(segment); it != node->literal.end()) {
    if (const auto* found = match(it->second.get(), segments, index + 1, params)) return found;
  }
  if (node->parameter && !segment.empty()) {
    params.emplace_back(node->parameter_name, percent_decode(segment));
    if (const auto* found = match(node->parameter.get(), segments, index + 1, params)) return found;
    params.pop_back();
  }
  return nullptr;
}

}  // namespace

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::add_blocking(std::string method, std::string pattern, Handler handler) {
  RouteOptions options;
  options.blocking = true;
  add(std::move(method), std::move(pattern), std::move(handler), std::move(options));
}

void Router::add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern '" + pattern + "' must start with '/'");
  }
  Node* node = root_.get();
  for (const auto segment : split_path(pattern)) {
    if (is_parameter(segment)) {
      const std::string name(segment.substr(1, segment.size() - 2));
      if (!node->parameter) {
        node->parameter = std::make_unique<Node>();
        node->parameter_name = name;
      } else if (node->parameter_name != name) {
        throw std::invalid_argument("route '" + pattern + "' names parameter '" + name +
                                    "' where another route has '" + node->parameter_name + "'");
      }
      node = node->parameter.get();
    } else {
      if (segment.find_first_of("{}") != std::string_view::npos) {
        throw std::invalid_argument("route '" + pattern + "' has a malformed segment");
      }
      auto& child = node->literal[std::string(segment)];
      if (!child) child = std::make_unique<Node>();
      node = child.get();
    }
  }
  if (node->handlers.contains(method)) {
    throw std::invalid_argument("duplicate route " + method + " " + pattern);
  }
  node->pattern = pattern;
  node->handlers.emplace(method, Route{method, std::move(pattern), std::move(handler),
                                       options.blocking.value_or(blocking_by_default_),
                                       std::move(options.without_blocking)});
}

const Route* Router::find(Request& request, Response& failure) const {
  if (request.path.empty() || request.path.front() != '/') {
    failure = Response::error(400, "bad_request", "request target must be an absolute path");
    return nullptr;
  }
  std::vector<std::pair<std::string, std::string>> params;
  const Node* node = match(root_.get(), split_path(request.path), 0, params);
  if (node == nullptr) {
    failure = Response::error(404, "route_not_found", "no route for " + request.path);
    return nullptr;
  }
  request.context.route = node->pattern;
  auto it = node->handlers.find(request.method);
  if (it == node->handlers.end() && request.method == "HEAD") it = node->handlers.find("GET");
  if (it == node->handlers.end()) {
    std::string allow;
    for (const auto& [method, route] : node->handlers) {
      allow += (allow.empty() ? "" : ", ") + method;
      if (method == "GET" && !node->handlers.contains("HEAD")) allow += ", HEAD";
    }
    failure = Response::error(405, "method_not_allowed",
                              request.method + " is not allowed on " + node->pattern);
    failure.headers.set("Allow", allow);
    return nullptr;
  }
  request.path_params = std::move(params);
  return &it->second;
}

Response Router::dispatch(Request& request) const {
  Response failure;
  const Route* route = find(request, failure);
  if (route == nullptr) return failure;
  return route->handler(request);
}

}  // namespace crest::http
