// libFuzzer target: the storefront's own request handling, in process. Every service's routes
// (storefront all) over in-memory embedded stores, behind the request-id, trace-context, metrics
// and error-mapping middleware, as http::Server runs them after Beast has parsed a request.
//
// Input: a request in HTTP/1.1 text form (fuzz/corpus/storefront_request/ has examples):
//   [!]METHOD TARGET\n
//   Name: value\n        (any number of header lines; "\r" is ignored)
//   \n
//   body
// A leading '!' adds the Cookie of a signed-in shopper, so the authenticated handlers run too.
// Bytes Beast would refuse (a method or header name that is not a token, control characters in
// the target or a header value) are dropped first: the fuzzer exercises what reaches handlers.
//
// Findings: a crash, a sanitizer report, an uncaught exception, a status outside 100..599, any
// 5xx (bad input must be a 4xx) or a JSON answer whose body does not parse.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/sinks/null_sink.h>
#include <nlohmann/json.hpp>

#include "auth.hpp"
#include "crest/http/middleware.hpp"
#include "crest/metrics/registry.hpp"
#include "crest/store/embedded.hpp"
#include "services.hpp"
#include "shop.hpp"

namespace {

using crest::http::Request;
using crest::http::Response;

constexpr std::string_view kShopperEmail = "fuzz.shopper@example.com";
constexpr std::string_view kShopperPassword = "correct horse battery staple";

bool is_token_char(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const unsigned char c : text) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

// What Beast lets through in a target (no spaces or controls) and in a header value.
std::string without_controls(std::string_view text, bool keep_spaces) {
  std::string out;
  for (const unsigned char c : text) {
    if (c == 0x7f || c < 0x20 || (!keep_spaces && c == ' ')) {
      if (keep_spaces && c == '\t') out.push_back('\t');
      continue;
    }
    out.push_back(static_cast<char>(c));
  }
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::string_view next_line(std::string_view& rest) {
  const auto end = rest.find('\n');
  std::string_view line = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// Parses the input as above; false when there is no usable request line.
bool to_request(std::string_view input, Request& request, bool& signed_in) {
  signed_in = !input.empty() && input.front() == '!';
  if (signed_in) input.remove_prefix(1);
  const std::string_view request_line = next_line(input);
  const auto space = request_line.find(' ');
  if (space == std::string_view::npos) return false;
  request.method = std::string(request_line.substr(0, space));
  if (!is_token(request.method)) return false;
  request.target = without_controls(request_line.substr(space + 1), false);
  if (request.target.empty()) return false;
  const auto question = request.target.find('?');
  request.path = request.target.substr(0, question);
  if (question != std::string::npos) request.query_string = request.target.substr(question + 1);
  while (!input.empty()) {
    const std::string_view line = next_line(input);
    if (line.empty()) break;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) continue;
    request.headers.add(std::string(line.substr(0, colon)),
                        without_controls(trim(line.substr(colon + 1)), true));
  }
  request.body = std::string(input);
  request.remote_address = "192.0.2.7";
  return true;
}

[[noreturn]] void finding(const Request& request, const Response& response, const char* what) {
  std::fprintf(stderr, "FINDING: %s: %s %s -> %d %s\n", what, request.method.c_str(),
               request.target.c_str(), response.status, response.body.c_str());
  std::abort();
}

struct Storefront {
  Storefront() : hasher(1, 8 * 1024) {
    crest::store::EmbeddedOptions options;
    options.metrics = &registry;
    auto opened = crest::store::open_embedded_stores(options);
    if (!opened.ok()) throw std::runtime_error(opened.error().message);
    stores = std::move(opened).value();
    shop.stores = {stores.catalog.get(),   stores.users.get(),  stores.sessions.get(),
                   stores.carts.get(),     stores.orders.get(), stores.orders_queue.get(),
                   stores.orders_dlq.get()};
    shop.metrics = &registry;
    shop.settings.argon2_ops = 1;
    shop.settings.argon2_memory_bytes = 8 * 1024;
    // Unthrottled, so that signing the fuzz shopper in again always works.
    shop.settings.login_failures_per_account = 0;
    shop.settings.login_failures_per_address = 0;

    const auto category = stores.catalog->insert_category({0, "fuzz", "Fuzz"}).value();
    for (int i = 1; i <= 3; ++i) {
      crest::store::Product product;
      product.category_id = category;
      product.sku = "FUZZ-" + std::to_string(i);
      product.name = "Fuzz product " + std::to_string(i);
      product.price_cents = 100 * i;
      product.stock = 1'000'000'000;
      stores.catalog->insert_product(product).value();
    }

    crest::storefront::add_users_routes(router, shop, hasher);
    crest::storefront::add_catalog_routes(router, shop);
    crest::storefront::add_cart_routes(router, shop);
    crest::storefront::add_orders_routes(router, shop);
    // Log lines would cost more than the requests; findings are reported by finding().
    crest::log::set_sink(std::make_shared<spdlog::sinks::null_sink_mt>());
    crest::log::set_level(crest::log::Level::error);
    const crest::log::Logger silent("fuzz");
    pipeline = crest::http::compose(
        {crest::http::request_id(), crest::http::trace_context(silent),
         crest::http::request_metrics(registry), crest::http::error_mapping()},
        [this](Request& request) -> Response {
          if (route == nullptr) return std::move(failure);
          if (route->without_blocking) {
            try {
              if (auto fast = route->without_blocking(request)) return std::move(*fast);
            } catch (const std::exception&) {  // as http::Server: the handler will say it
            }
          }
          return route->handler(request);
        });

    const std::string credentials = nlohmann::json{
        {"email", kShopperEmail},
        {"password", kShopperPassword},
        {"name", "Fuzz Shopper"}}.dump();
    Request signup;
    signup.method = "POST";
    signup.target = signup.path = "/api/users";
    signup.headers.add("Content-Type", "application/json");
    signup.body = credentials;
    const auto created = handle(signup);
    if (created.status != 201) finding(signup, created, "cannot create the fuzz shopper");
    sign_in();
  }

  void sign_in() {
    Request login;
    login.method = "POST";
    login.target = login.path = "/api/login";
    login.headers.add("Content-Type", "application/json");
    login.body = nlohmann::json{{"email", kShopperEmail}, {"password", kShopperPassword}}.dump();
    const auto answer = handle(login);
    const auto set_cookie = answer.headers.get("Set-Cookie");
    if (answer.status != 200 || !set_cookie)
      finding(login, answer, "the fuzz shopper cannot sign in");
    cookie = std::string(set_cookie->substr(0, set_cookie->find(';')));
  }

  Response handle(Request& request) {
    failure = Response();
    route = router.find(request, failure);
    return pipeline(request);
  }

  crest::metrics::Registry registry;
  crest::store::EmbeddedStores stores;
  crest::storefront::Shop shop;
  crest::storefront::PasswordHasher hasher;
  crest::http::Router router;
  crest::http::Handler pipeline;
  const crest::http::Route* route = nullptr;
  Response failure;
  std::string cookie;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Storefront* storefront = new Storefront();  // one shop for the whole run, never freed
  Request request;
  bool signed_in = false;
  if (!to_request(std::string_view(reinterpret_cast<const char*>(data), size), request,
                  signed_in)) {
    return -1;  // not added to the corpus
  }
  if (signed_in) request.headers.add("Cookie", storefront->cookie);
  const Response response = storefront->handle(request);

  if (response.status < 100 || response.status > 599) finding(request, response, "bad status");
  if (response.status >= 500) finding(request, response, "server error on client input");
  const auto content_type = response.headers.get("Content-Type");
  if (content_type && content_type->starts_with("application/json") &&
      !nlohmann::json::accept(response.body)) {
    finding(request, response, "JSON answer that does not parse");
  }
  // The shopper signed out (or the fuzzer found another way to end the session): sign in again.
  if (signed_in && request.method != "GET") {
    Request me;
    me.method = "GET";
    me.target = me.path = "/api/me";
    me.headers.add("Cookie", storefront->cookie);
    if (storefront->handle(me).status != 200) storefront->sign_in();
  }
  return 0;
}
