#include "crest/chaos/fault_proxy.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

namespace crest::chaos {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// --- Fault text ---------------------------------------------------------------------------

namespace {

const char* kind_name(ProxyFaultKind kind) {
  switch (kind) {
    case ProxyFaultKind::none:
      return "none";
    case ProxyFaultKind::latency:
      return "latency";
    case ProxyFaultKind::error:
      return "error";
    case ProxyFaultKind::reset:
      return "reset";
    case ProxyFaultKind::throttle:
      return "throttle";
  }
  return "none";
}

}  // namespace

std::string to_string(const ProxyFault& fault) {
  std::ostringstream out;
  out << kind_name(fault.kind);
  if (fault.kind == ProxyFaultKind::none) {
    return out.str();
  }
  if (fault.kind == ProxyFaultKind::latency) {
    out << " latency_ms=" << fault.latency.count();
  }
  if (fault.kind == ProxyFaultKind::error) {
    out << " status=" << fault.status;
  }
  if (fault.probability < 1.0) {
    out << " probability=" << fault.probability;
  }
  if (!fault.match.empty()) {
    out << " match=" << fault.match;
  }
  return out.str();
}

Result<ProxyFault> parse_proxy_fault(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string kind;
  in >> kind;
  ProxyFault fault;
  bool known = false;
  for (auto k : {ProxyFaultKind::none, ProxyFaultKind::latency, ProxyFaultKind::error,
                 ProxyFaultKind::reset, ProxyFaultKind::throttle}) {
    if (kind == kind_name(k)) {
      fault.kind = k;
      known = true;
    }
  }
  if (!known) {
    return Error{ErrorKind::invalid_argument,
                 "unknown fault '" + kind + "' (none, latency, error, reset, throttle)"};
  }
  for (std::string word; in >> word;) {
    const auto eq = word.find('=');
    if (eq == std::string::npos) {
      return Error{ErrorKind::invalid_argument, "'" + word + "' is not key=value"};
    }
    const std::string key = word.substr(0, eq);
    const std::string value = word.substr(eq + 1);
    try {
      std::size_t used = 0;
      if (key == "latency_ms") {
        fault.latency = std::chrono::milliseconds(std::stoll(value, &used));
      } else if (key == "status") {
        fault.status = std::stoi(value, &used);
      } else if (key == "probability") {
        fault.probability = std::stod(value, &used);
      } else if (key == "match") {
        fault.match = value;
        used = value.size();
      } else {
        return Error{ErrorKind::invalid_argument,
                     "unknown parameter '" + key + "' (latency_ms, status, probability, match)"};
      }
      if (used != value.size()) {
        throw std::invalid_argument(value);
      }
    } catch (const std::exception&) {
      return Error{ErrorKind::invalid_argument, "bad value for " + key + ": '" + value + "'"};
    }
  }
  if (fault.probability < 0 || fault.probability > 1) {
    return Error{ErrorKind::invalid_argument, "probability must be between 0 and 1"};
  }
  if (fault.status < 100 || fault.status > 599) {
    return Error{ErrorKind::invalid_argument, "status must be an HTTP status (100-599)"};
  }
  if (fault.latency.count() < 0) {
    return Error{ErrorKind::invalid_argument, "latency_ms must not be negative"};
  }
  return fault;
}

// --- The proxy -------------------------------------------------------------------------------

struct FaultProxy::Impl {
  ProxyOptions options;
  tcp::endpoint upstream_endpoint;
  net::io_context io;
  tcp::acceptor acceptor{io};
  std::uint16_t port = 0;
  int control_fd = -1;

  mutable std::mutex mutex;  // fault, rng, connections
  ProxyFault fault;
  std::mt19937_64 rng;
  std::condition_variable stopping_cv;
  std::atomic<bool> stopping{false};
  std::list<int> open_fds;  // client and upstream sockets, shut down on stop

  std::atomic<std::uint64_t> forwarded{0}, delayed{0}, errors{0}, resets{0}, throttled{0};

  std::thread accept_thread;
  std::thread control_thread;
  struct Connection {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::mutex threads_mutex;
  std::list<std::unique_ptr<Connection>> connections;

  // Joins the threads of connections that have ended (their stacks are held until then).
  void reap_finished() {
    std::lock_guard lock(threads_mutex);
    for (auto it = connections.begin(); it != connections.end();) {
      if ((*it)->done) {
        (*it)->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }

  // The fault to apply to this request (or connection), if any.
  std::optional<ProxyFault> draw(std::string_view target, std::string_view amz_target) {
    std::lock_guard lock(mutex);
    if (fault.kind == ProxyFaultKind::none) {
      return std::nullopt;
    }
    if (!fault.match.empty() && target.find(fault.match) == std::string_view::npos &&
        amz_target.find(fault.match) == std::string_view::npos) {
      return std::nullopt;
    }
    if (fault.probability < 1.0 &&
        std::uniform_real_distribution<double>(0.0, 1.0)(rng) >= fault.probability) {
      return std::nullopt;
    }
    return fault;
  }

  // Sleeps, but wakes at once on stop. False if stopping.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    return !stopping_cv.wait_for(lock, d, [&] { return stopping.load(); });
  }

  void track(int fd) {
    std::lock_guard lock(mutex);
    open_fds.push_back(fd);
    if (stopping) {  // stop() has shut the others down already
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  void untrack(int fd) {
    std::lock_guard lock(mutex);
    open_fds.remove(fd);
  }

  void accept_loop();
  void control_loop();
  void serve_http(tcp::socket client);
  void serve_tcp(tcp::socket client);
};

namespace {

void reset_connection(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(net::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

http::response<http::string_body> injected_error(int status, unsigned version, bool amz_json) {
  http::response<http::string_body> res{static_cast<http::status>(status), version};
  if (amz_json) {
    // What DynamoDB/SQS answer for a server-side failure.
    res.set(http::field::content_type, "application/x-amz-json-1.0");
    res.body() =
        status >= 500
            ? R"({"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"})"
            : R"({"__type":"com.amazon.coral.service#ServiceUnavailableException","message":null})";
  } else {
    res.set(http::field::content_type, "text/plain");
    res.body() = std::string(http::obsolete_reason(static_cast<http::status>(status)));
  }
  return res;
}

http::response<http::string_body> throttling_answer(unsigned version) {
  http::response<http::string_body> res{http::status::bad_request, version};
  res.set(http::field::content_type, "application/x-amz-json-1.0");
  static std::atomic<std::uint64_t> counter{0};
  char id[64];
  std::snprintf(id, sizeof id, "%016llX%016llX",
                static_cast<unsigned long long>(std::random_device{}()),
                static_cast<unsigned long long>(++counter));
  res.set("x-amzn-RequestId", id);
  res.body() =
      R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",)"
      R"("message":"The level of configured provisioned throughput for the table was exceeded. )"
      R"(Consider increasing your provisioning level with the UpdateTable API."})";
  return res;
}

}  // namespace

void FaultProxy::Impl::accept_loop() {
  while (!stopping) {
    boost::system::error_code ec;
    tcp::socket client(io);
    acceptor.accept(client, ec);
    if (stopping) {
      break;
    }
    if (ec) {
      continue;
    }
    reap_finished();
    std::lock_guard lock(threads_mutex);
    auto connection = std::make_unique<Connection>();
    Connection* raw = connection.get();
    connection->thread = std::thread([this, raw, c = std::move(client)]() mutable {
      if (options.mode == ProxyMode::http) {
        serve_http(std::move(c));
      } else {
        serve_tcp(std::move(c));
      }
      raw->done = true;
    });
    connections.push_back(std::move(connection));
  }
}

void FaultProxy::Impl::serve_http(tcp::socket client) {
  const int client_fd = client.native_handle();
  track(client_fd);
  tcp::socket upstream(io);
  int upstream_fd = -1;
  beast::flat_buffer client_buffer;
  beast::flat_buffer upstream_buffer;
  for (;;) {
    boost::system::error_code ec;
    http::request_parser<http::string_body> request_parser;
    request_parser.body_limit(64 * 1024 * 1024);
    http::read(client, client_buffer, request_parser, ec);
    if (ec || stopping) {
      break;
    }
    http::request<http::string_body> request = request_parser.release();
    const auto amz_target = request[beast::string_view("X-Amz-Target")];
    const bool amz_json =
        request[http::field::content_type].find("amz-json") != beast::string_view::npos;
    // An injected answer instead of forwarding; false when the connection ends with it.
    const auto answer_instead = [&](http::response<http::string_body> res) {
      res.keep_alive(request.keep_alive());
      res.prepare_payload();
      http::write(client, res, ec);
      return !ec && request.keep_alive();
    };
    const auto fault_now = draw(std::string_view(request.target().data(), request.target().size()),
                                std::string_view(amz_target.data(), amz_target.size()));
    if (fault_now) {
      switch (fault_now->kind) {
        case ProxyFaultKind::latency:
          ++delayed;
          if (!pause(fault_now->latency)) {
            reset_connection(client);
          }
          break;
        case ProxyFaultKind::error:
          ++errors;
          if (!answer_instead(injected_error(fault_now->status, request.version(), amz_json))) {
            goto done;
          }
          continue;
        case ProxyFaultKind::throttle:
          ++throttled;
          if (!answer_instead(throttling_answer(request.version()))) {
            goto done;
          }
          continue;
        case ProxyFaultKind::reset:
          ++resets;
          reset_connection(client);
          goto done;
        case ProxyFaultKind::none:
          break;
      }
    }
    if (stopping || !client.is_open()) {
      break;
    }
    if (!upstream.is_open()) {
      upstream.connect(upstream_endpoint, ec);
      if (ec) {
        upstream.close(ec);
        http::response<http::string_body> res{http::status::bad_gateway, request.version()};
        res.set(http::field::content_type, "text/plain");
        res.body() = "Bad Gateway";
        res.keep_alive(false);
        res.prepare_payload();
        http::write(client, res, ec);
        break;
      }
      upstream_fd = upstream.native_handle();
      track(upstream_fd);
      upstream_buffer.consume(upstream_buffer.size());
    }
    http::write(upstream, request, ec);
    http::response_parser<http::string_body> response_parser;
    response_parser.body_limit(64 * 1024 * 1024);
    response_parser.skip(request.method() == http::verb::head);
    if (!ec) {
      http::read(upstream, upstream_buffer, response_parser, ec);
    }
    if (ec) {
      // The dependency closed or failed mid-request: the client sees its connection close.
      break;
    }
    ++forwarded;
    http::response<http::string_body> response = response_parser.release();
    const bool upstream_keeps = response.keep_alive();
    response.keep_alive(request.keep_alive());
    http::write(client, response, ec);
    if (!upstream_keeps) {
      untrack(upstream_fd);
      upstream.close(ec);
    }
    if (ec || !request.keep_alive()) {
      break;
    }
  }
done:
  boost::system::error_code ignored;
  if (upstream.is_open()) {
    untrack(upstream_fd);
    upstream.close(ignored);
  }
  untrack(client_fd);
  if (client.is_open()) {
    client.shutdown(tcp::socket::shutdown_both, ignored);
    client.close(ignored);
  }
}

void FaultProxy::Impl::serve_tcp(tcp::socket client) {
  const int client_fd = client.native_handle();
  track(client_fd);
  boost::system::error_code ec;
  tcp::socket upstream(io);
  const auto fault_now = draw("", "");
  bool ok = true;
  if (fault_now && fault_now->kind == ProxyFaultKind::reset) {
    ++resets;
    ok = false;
  } else if (fault_now && fault_now->kind == ProxyFaultKind::latency) {
    ++delayed;
    ok = pause(fault_now->latency);
  }
  if (ok) {
    upstream.connect(upstream_endpoint, ec);
    ok = !ec;
  }
  if (!ok) {
    untrack(client_fd);
    reset_connection(client);
    return;
  }
  ++forwarded;
  const int upstream_fd = upstream.native_handle();
  track(upstream_fd);
  pollfd fds[2] = {{client_fd, POLLIN, 0}, {upstream_fd, POLLIN, 0}};
  char buffer[16384];
  while (!stopping) {
    if (::poll(fds, 2, 500) < 0) {
      break;
    }
    bool closed = false;
    for (int i = 0; i < 2 && !closed; ++i) {
      if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
        continue;
      }
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n <= 0) {
        closed = true;
        break;
      }
      const int to = fds[1 - i].fd;
      for (ssize_t sent = 0; sent < n;) {
        const ssize_t w =
            ::send(to, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
        if (w <= 0) {
          closed = true;
          break;
        }
        sent += w;
      }
    }
    if (closed) {
      break;
    }
  }
  untrack(client_fd);
  untrack(upstream_fd);
  boost::system::error_code ignored;
  client.close(ignored);
  upstream.close(ignored);
}

void FaultProxy::Impl::control_loop() {
  while (!stopping) {
    const int fd = ::accept(control_fd, nullptr, nullptr);
    if (fd < 0) {
      if (stopping) {
        break;
      }
      continue;
    }
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string line;
    char c = 0;
    while (line.size() < 4096 && ::read(fd, &c, 1) == 1 && c != '\n') {
      line += c;
    }
    std::string answer;
    if (line.rfind("set ", 0) == 0) {
      auto parsed = parse_proxy_fault(line.substr(4));
      if (parsed) {
        std::lock_guard lock(mutex);
        fault = *parsed;
        answer = "ok " + to_string(fault);
      } else {
        answer = "error " + parsed.error().message;
      }
    } else if (line == "clear") {
      std::lock_guard lock(mutex);
      fault = {};
      answer = "ok none";
    } else if (line == "get") {
      std::lock_guard lock(mutex);
      answer = "ok " + to_string(fault);
    } else {
      answer = "error unknown command (set <fault>, clear, get)";
    }
    answer += '\n';
    [[maybe_unused]] const auto written = ::write(fd, answer.data(), answer.size());
    ::close(fd);
  }
}

FaultProxy::FaultProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<FaultProxy>> FaultProxy::start(ProxyOptions options) {
  if (options.upstream_port == 0) {
    return Error{ErrorKind::invalid_argument, "the proxy needs an upstream port"};
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  boost::system::error_code address_error;
  const auto upstream_address = net::ip::make_address(options.upstream_host, address_error);
  if (address_error) {
    return Error{ErrorKind::invalid_argument,
                 "upstream host '" + options.upstream_host + "' is not an IP address"};
  }
  impl->upstream_endpoint = tcp::endpoint(upstream_address, options.upstream_port);
  impl->rng.seed(options.seed);
  boost::system::error_code ec;
  const tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), options.listen_port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
    impl->acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    return Error{ErrorKind::unavailable,
                 "fault proxy cannot listen on 127.0.0.1:" + std::to_string(options.listen_port) +
                     ": " + ec.message()};
  }
  impl->port = impl->acceptor.local_endpoint().port();
  if (!options.control_socket.empty()) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (options.control_socket.size() >= sizeof address.sun_path) {
      return Error{ErrorKind::invalid_argument,
                   "control socket path too long: " + options.control_socket};
    }
    std::strcpy(address.sun_path, options.control_socket.c_str());
    ::unlink(options.control_socket.c_str());
    impl->control_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (impl->control_fd < 0 ||
        ::bind(impl->control_fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(impl->control_fd, 16) != 0) {
      const std::string why = std::strerror(errno);
      if (impl->control_fd >= 0) {
        ::close(impl->control_fd);
      }
      return Error{ErrorKind::unavailable,
                   "cannot open control socket " + options.control_socket + ": " + why};
    }
  }
  Impl* raw = impl.get();
  raw->accept_thread = std::thread([raw] { raw->accept_loop(); });
  if (raw->control_fd >= 0) {
    raw->control_thread = std::thread([raw] { raw->control_loop(); });
  }
  return std::unique_ptr<FaultProxy>(new FaultProxy(std::move(impl)));
}

FaultProxy::~FaultProxy() {
  stop();
}

std::uint16_t FaultProxy::port() const {
  return impl_->port;
}

void FaultProxy::set_fault(ProxyFault fault) {
  std::lock_guard lock(impl_->mutex);
  impl_->fault = std::move(fault);
}

ProxyFault FaultProxy::fault() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->fault;
}

ProxyStats FaultProxy::stats() const {
  return {impl_->forwarded.load(), impl_->delayed.load(), impl_->errors.load(),
          impl_->resets.load(), impl_->throttled.load()};
}

void FaultProxy::stop() {
  if (impl_->stopping.exchange(true)) {
    return;
  }
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping_cv.notify_all();
    for (int fd : impl_->open_fds) {
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  // Wake the blocking accept()s: shutdown on a listening socket makes accept return.
  ::shutdown(impl_->acceptor.native_handle(), SHUT_RDWR);
  if (impl_->control_fd >= 0) {
    ::shutdown(impl_->control_fd, SHUT_RDWR);
  }
  if (impl_->accept_thread.joinable()) {
    impl_->accept_thread.join();
  }
  if (impl_->control_thread.joinable()) {
    impl_->control_thread.join();
  }
  std::list<std::unique_ptr<Impl::Connection>> connections;
  {
    std::lock_guard lock(impl_->threads_mutex);
    connections.swap(impl_->connections);
  }
  for (auto& connection : connections) {
    connection->thread.join();
  }
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  if (impl_->control_fd >= 0) {
    ::close(impl_->control_fd);
    ::unlink(impl_->options.control_socket.c_str());
  }
}

Result<std::string> send_control_command(const std::string& socket_path, std::string_view line,
                                         std::chrono::milliseconds timeout) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path) {
    return Error{ErrorKind::invalid_argument, "control socket path too long: " + socket_path};
  }
  std::strcpy(address.sun_path, socket_path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Error{ErrorKind::internal, std::string("socket: ") + std::strerror(errno)};
  }
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return Error{ErrorKind::unavailable, "no fault proxy at " + socket_path + ": " + why};
  }
  std::string request(line);
  request += '\n';
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return Error{ErrorKind::unavailable, "cannot write to " + socket_path};
  }
  std::string answer;
  char c = 0;
  while (::read(fd, &c, 1) == 1 && c != '\n') {
    answer += c;
  }
  ::close(fd);
  if (answer.rfind("ok", 0) != 0) {
    return Error{ErrorKind::invalid_argument,
                 answer.empty() ? "no answer from " + socket_path : answer};
  }
  return answer;
}

}  // namespace crest::chaos
