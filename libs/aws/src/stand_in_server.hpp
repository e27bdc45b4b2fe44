#pragma once
// For tests only: a tiny HTTP/1.1 server on 127.0.0.1 (a free port) answering from a handler on
// its own thread, one request per connection (Connection: close). The stand-ins for STS, the
// container credentials endpoint and IMDS are built on it.
#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "crest/http/message.hpp"

namespace crest::aws::testing {

struct StandInRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size() &&
          std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        return v;
      }
    }
    return {};
  }
};

class StandInServer {
 public:
  using Handler = std::function<std::pair<int, std::string>(const StandInRequest&)>;

  explicit StandInServer(Handler handler)
      : handler_(std::move(handler)),
        acceptor_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~StandInServer() {
    stopping_ = true;
    boost::system::error_code ec;
    boost::asio::ip::tcp::socket poke(ioc_);
    poke.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    poke.close(ec);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<StandInRequest> requests() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  void set_handler(Handler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }

 private:
  void serve() {
    namespace bhttp = boost::beast::http;
    while (!stopping_) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(ioc_);
      acceptor_.accept(socket, ec);
      if (ec || stopping_) continue;
      boost::beast::flat_buffer buffer;
      for (;;) {
        bhttp::request<bhttp::string_body> req;
        bhttp::read(socket, buffer, req, ec);
        if (ec) break;
        StandInRequest seen{
            std::string(req.method_string()), std::string(req.target()), {}, req.body()};
        for (const auto& f : req) {
          seen.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        }
        Handler handler;
        {
          std::lock_guard lock(mutex_);
          seen_.push_back(seen);
          handler = handler_;
        }
        auto [status, body] = handler(seen);
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
        res.body() = std::move(body);
        res.keep_alive(false);
        res.prepare_payload();
        bhttp::write(socket, res, ec);
        break;
      }
      socket.close(ec);
    }
  }

  Handler handler_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<StandInRequest> seen_;
  std::thread thread_;
};

}  // namespace crest::aws::testing
