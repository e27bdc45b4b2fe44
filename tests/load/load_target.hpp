#pragma once
// A small HTTP/1.1 target for crest run's end-to-end tests and benchmarks: a storefront-shaped
// API (login with a token and a session cookie, products, cart, checkout with Idempotency-Key),
// plus test routes (status codes, chunked bodies, Connection: close, slow answers) and three
// misbehaviours: `reset` (RST as soon as a request starts), `silent` (never answers) and a periodic
// stall (every `stall_every`, answers freeze for `stall_for`) for the coordinated-omission
// benchmark. Binds 127.0.0.1 only. Header-only so tests embed it and tests/load/load_target.cpp
// wraps it.
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace crest::testing {

class LoadTarget {
 public:
  enum class Mode { normal, reset, silent };
  struct Options {
    Mode mode = Mode::normal;
    unsigned short port = 0;
    int threads = 1;
    std::chrono::milliseconds stall_every{0};
    std::chrono::milliseconds stall_for{0};
  };

  explicit LoadTarget(Options o) : opts_(o), acceptor_(accept_ioc_) {
    namespace net = boost::asio;
    using tcp = net::ip::tcp;
    const tcp::endpoint ep(net::ip::make_address("127.0.0.1"), opts_.port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(4096);
    port_ = acceptor_.local_endpoint().port();
    start_ = std::chrono::steady_clock::now();
    for (int i = 0; i < std::max(1, opts_.threads); ++i) {
      workers_.push_back(std::make_unique<Worker>());
    }
    accept();
    threads_.emplace_back([this] { accept_ioc_.run(); });
    for (auto& w : workers_) {
      threads_.emplace_back([w = w.get()] { w->ioc.run(); });
    }
  }
  ~LoadTarget() { stop(); }
  LoadTarget(const LoadTarget&) = delete;
  LoadTarget& operator=(const LoadTarget&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::uint64_t requests() const { return requests_.load(); }
  std::uint64_t connections() const { return connections_.load(); }
  std::uint64_t count(const std::string& path) const {
    std::lock_guard lock(mu_);
    auto it = by_path_.find(path);
    return it == by_path_.end() ? 0 : it->second;
  }
  std::set<std::string> peer_addresses() const {
    std::lock_guard lock(mu_);
    return peers_;
  }
  std::vector<std::string> seen(const std::string& what)
      const {  // "authorization", "cookie", "idempotency-key", "body:/api/login"
    std::lock_guard lock(mu_);
    auto it = seen_.find(what);
    return it == seen_.end() ? std::vector<std::string>{} : it->second;
  }

  void stop() {
    if (stopped_.exchange(true)) {
      return;
    }
    boost::asio::post(accept_ioc_, [this] {
      boost::system::error_code ec;
      acceptor_.close(ec);
    });
    accept_ioc_.stop();
    for (auto& w : workers_) {
      w->work.reset();
      w->ioc.stop();
    }
    for (auto& t : threads_) {
      t.join();
    }
    threads_.clear();
  }

 private:
  struct Worker {
    boost::asio::io_context ioc{1};
    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work{
        ioc.get_executor()};
  };

  struct Request {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) {
        return;
      }
      ++connections_;
      {
        boost::system::error_code peer_ec;
        const auto peer = s.remote_endpoint(peer_ec);
        std::lock_guard lock(mu_);
        if (!peer_ec) {
          peers_.insert(peer.address().to_string());
        }
      }
      auto& w = *workers_[next_worker_++ % workers_.size()];
      auto fd = s.release();
      boost::asio::post(w.ioc, [this, &w, fd] {
        boost::asio::ip::tcp::socket sock(w.ioc, boost::asio::ip::tcp::v4(), fd);
        boost::asio::co_spawn(w.ioc, session(std::move(sock)), boost::asio::detached);
      });
      accept();
    });
  }

  static std::string lower(std::string s) {
    for (auto& c : s) {
      if (c >= 'A' && c <= 'Z') {
        c = static_cast<char>(c + 32);
      }
    }
    return s;
  }

  std::chrono::steady_clock::duration stall_remaining() const {
    if (opts_.stall_every.count() <= 0) {
      return {};
    }
    const auto since = std::chrono::steady_clock::now() - start_;
    const auto phase = since % opts_.stall_every;
    // The stall is the last stall_for of each period: the first period starts healthy.
    const auto healthy = opts_.stall_every - opts_.stall_for;
    return phase >= healthy ? opts_.stall_every - phase : std::chrono::steady_clock::duration{};
  }

  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket s) {
    namespace net = boost::asio;
    std::string buf;
    boost::system::error_code ec;
    net::steady_timer timer(s.get_executor());
    for (;;) {
      // Read one request.
      std::size_t header_end;
      while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
        char tmp[8192];
        const auto n = co_await s.async_read_some(net::buffer(tmp),
                                                  net::redirect_error(net::use_awaitable, ec));
        if (ec) {
          co_return;
        }
        buf.append(tmp, n);
        if (opts_.mode == Mode::reset) {
          break;  // reset on the first bytes, whatever they are (a TLS ClientHello too)
        }
      }
      if (opts_.mode == Mode::silent) {
        // Hold the connection and never answer.
        char tmp[1024];
        while (!ec) {
          co_await s.async_read_some(net::buffer(tmp), net::redirect_error(net::use_awaitable, ec));
        }
        co_return;
      }
      if (opts_.mode == Mode::reset) {
        ++requests_;
        const linger l{1, 0};
        ::setsockopt(s.native_handle(), SOL_SOCKET, SO_LINGER, &l, sizeof l);
        s.close(ec);
        co_return;
      }
      Request req;
      const std::string head = buf.substr(0, header_end);
      std::size_t line_end = head.find("\r\n");
      const std::string first = head.substr(0, line_end);
      const auto sp1 = first.find(' ');
      const auto sp2 = first.find(' ', sp1 + 1);
      req.method = first.substr(0, sp1);
      req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
      std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      while (pos < head.size()) {
        auto e = head.find("\r\n", pos);
        if (e == std::string::npos) {
          e = head.size();
        }
        const auto line = head.substr(pos, e - pos);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
          auto v = line.substr(colon + 1);
          while (!v.empty() && v.front() == ' ') {
            v.erase(0, 1);
          }
          req.headers[lower(line.substr(0, colon))] = v;
        }
        pos = e + 2;
      }
      std::size_t length = 0;
      if (auto it = req.headers.find("content-length"); it != req.headers.end()) {
        length = std::stoul(it->second);
      }
      while (buf.size() < header_end + 4 + length) {
        char tmp[8192];
        const auto n = co_await s.async_read_some(net::buffer(tmp),
                                                  net::redirect_error(net::use_awaitable, ec));
        if (ec) {
          co_return;
        }
        buf.append(tmp, n);
      }
      req.body = buf.substr(header_end + 4, length);
      buf.erase(0, header_end + 4 + length);
      ++requests_;

      if (const auto stall = stall_remaining(); stall.count() > 0) {
        timer.expires_after(stall);
        co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      }
      bool close = false;
      std::string response = handle(req, close);
      if (req.target.rfind("/slow", 0) == 0) {
        const auto q = req.target.find("ms=");
        const int ms = q == std::string::npos ? 100 : std::stoi(req.target.substr(q + 3));
        timer.expires_after(std::chrono::milliseconds(ms));
        co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
      }
      co_await net::async_write(s, net::buffer(response),
                                net::redirect_error(net::use_awaitable, ec));
      if (ec || close) {
        s.shutdown(net::ip::tcp::socket::shutdown_send, ec);
        co_return;
      }
    }
  }

  static std::string reply(int status, const std::string& reason, const std::string& body,
                           const std::string& extra = "", const char* type = "application/json") {
    return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
  }

  void note(const std::string& what, const std::string& value) {
    std::lock_guard lock(mu_);
    auto& v = seen_[what];
    if (v.size() < 10000) {
      v.push_back(value);
    }
  }

  std::string handle(const Request& req, bool& close) {
    const auto q = req.target.find('?');
    const std::string path = req.target.substr(0, q);
    {
      std::lock_guard lock(mu_);
      ++by_path_[path];
    }
    auto header = [&](const char* name) {
      auto it = req.headers.find(name);
      return it == req.headers.end() ? std::string() : it->second;
    };
    if (!header("cookie").empty()) {
      note("cookie", header("cookie"));
    }
    if (path == "/hello") {
      return reply(200, "OK", "hello, crest\n", "", "text/plain");
    }
    if (path == "/api/users" && req.method == "POST") {
      note("body:/api/users", req.body);
      return reply(201, "Created", "{\"id\":1}");
    }
    if (path == "/api/login" && req.method == "POST") {
      note("body:/api/login", req.body);
      const auto at = req.body.find("\"email\":\"");
      if (at == std::string::npos) {
        return reply(400, "Bad Request", "{\"error\":\"email required\"}");
      }
      const auto start = at + 9;
      const auto email = req.body.substr(start, req.body.find('"', start) - start);
      const auto n = ++sessions_;
      return reply(200, "OK",
                   "{\"token\":\"tok-" + email + "\",\"user\":{\"email\":\"" + email + "\"}}",
                   "Set-Cookie: session=s" + std::to_string(n) + "; Path=/; HttpOnly\r\n");
    }
    if (path == "/api/products" && req.method == "GET") {
      return reply(200, "OK",
                   "{\"page\":1,\"items\":[{\"id\":101,\"name\":\"Mug\",\"price\":900},{\"id\":102,"
                   "\"name\":\"Tee\","
                   "\"price\":1900},{\"id\":103,\"name\":\"Cap\",\"price\":1500}]}");
    }
    if (path.rfind("/api/products/", 0) == 0) {
      const auto id = path.substr(14);
      return reply(200, "OK", "{\"id\":" + id + ",\"name\":\"Product " + id + "\",\"price\":1000}");
    }
    if (path == "/api/cart/items" && req.method == "POST") {
      note("authorization", header("authorization"));
      note("body:/api/cart/items", req.body);
      if (header("authorization").rfind("Bearer tok-", 0) != 0) {
        return reply(401, "Unauthorized", "{\"error\":\"unauthorized\"}");
      }
      return reply(201, "Created", "{\"ok\":true}");
    }
    if (path == "/api/checkout" && req.method == "POST") {
      note("idempotency-key", header("idempotency-key"));
      if (header("idempotency-key").empty()) {
        return reply(400, "Bad Request", "{\"error\":\"Idempotency-Key required\"}");
      }
      return reply(202, "Accepted", "{\"order_id\":\"o-" + std::to_string(++orders_) + "\"}",
                   "Location: /api/orders/o-" + std::to_string(orders_.load()) + "\r\n");
    }
    if (path.rfind("/api/orders/", 0) == 0) {
      note("order", path.substr(12));
      return reply(200, "OK", "{\"id\":\"" + path.substr(12) + "\",\"status\":\"accepted\"}");
    }
    if (path.rfind("/status/", 0) == 0) {
      const int code = std::stoi(path.substr(8));
      return reply(code, "Status", "{\"status\":" + std::to_string(code) + "}");
    }
    if (path == "/chunked") {
      return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
             "6\r\nhello \r\n8;ext=1\r\nchunked \r\n5\r\nworld\r\n0\r\nX-Trailer: 1\r\n\r\n";
    }
    if (path == "/close") {
      close = true;
      return reply(200, "OK", "bye", "Connection: close\r\n", "text/plain");
    }
    if (path == "/eof-body") {  // no length: the body ends with the connection
      close = true;
      return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close";
    }
    if (path == "/slow") {
      return reply(200, "OK", "slow", "", "text/plain");
    }
    return reply(404, "Not Found", "{\"error\":\"not found\"}");
  }

  Options opts_;
  boost::asio::io_context accept_ioc_{1};
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::thread> threads_;
  std::size_t next_worker_ = 0;
  unsigned short port_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::atomic<bool> stopped_{false};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> sessions_{0};
  std::atomic<std::uint64_t> orders_{0};
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> by_path_;
  std::set<std::string> peers_;
  std::map<std::string, std::vector<std::string>> seen_;
};

}  // namespace crest::testing
