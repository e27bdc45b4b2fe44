#pragma once
// One blocking HTTP/1.1 connection driven by its own io_context, one operation at a time: the
// plain client (src/client.cpp) and the AWS HTTPS client (libs/aws/src/https.cpp) are built on
// it. Stream is beast::tcp_stream or beast::ssl_stream<beast::tcp_stream>. Needs Boost.Beast,
// which only those two sources include.
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>

namespace crest::http {

template <class Stream>
struct BlockingConnection {
  boost::asio::io_context ioc;
  std::optional<Stream> stream;  // empty until connected, and again after close()
  boost::beast::flat_buffer buffer;

  BlockingConnection() = default;
  BlockingConnection(const BlockingConnection&) = delete;
  BlockingConnection& operator=(const BlockingConnection&) = delete;
  ~BlockingConnection() { close(); }

  // Runs the io_context until the one pending operation completes (or its timer fires).
  void run_pending() {
    ioc.restart();
    ioc.run();
  }

  // Shuts the socket down and forgets the stream and any buffered bytes: the next request
  // connects afresh.
  void close() {
    if (stream) {
      boost::beast::error_code ignored;
      auto& tcp_layer = boost::beast::get_lowest_layer(*stream);
      tcp_layer.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
      tcp_layer.close();
      stream.reset();
    }
    buffer.clear();
  }
};

}  // namespace crest::http
