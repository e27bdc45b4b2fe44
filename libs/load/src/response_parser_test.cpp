#include "crest/load/response_parser.hpp"

#include <gtest/gtest.h>

namespace crest::load {
namespace {

using Status = ResponseParser::Status;

// Feeds the response one byte at a time: the parser must resume anywhere.
Status feed_bytewise(ResponseParser& p, const std::string& all, std::string& buf) {
  Status st = Status::need_more;
  for (char c : all) {
    buf.push_back(c);
    st = p.parse(buf);
    if (st != Status::need_more) {
      break;
    }
  }
  return st;
}

TEST(ResponseParser, ContentLength) {
  const std::string r = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
  for (bool bytewise : {false, true}) {
    ResponseParser p;
    p.reset();
    std::string buf;
    const auto st = bytewise ? feed_bytewise(p, r, buf) : (buf = r, p.parse(buf));
    ASSERT_EQ(st, Status::done);
    EXPECT_EQ(p.status(), 200);
    EXPECT_EQ(p.reason(buf), "OK");
    EXPECT_EQ(p.body(buf), "hello");
    EXPECT_EQ(p.header(buf, "x-a"), "b");
    EXPECT_TRUE(p.keep_alive());
    EXPECT_EQ(p.message_size(), r.size());
  }
}

TEST(ResponseParser, Chunked) {
  const std::string r =
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: gzip, chunked\r\n\r\n6\r\nhello "
      "\r\nA;x=y\r\n0123456789\r\n0\r\nT: 1\r\n\r\n";
  ResponseParser p;
  p.reset();
  std::string buf;
  ASSERT_EQ(feed_bytewise(p, r, buf), Status::done);
  EXPECT_EQ(p.status(), 201);
  EXPECT_EQ(p.body(buf), "hello 0123456789");
  EXPECT_EQ(p.message_size(), r.size());
}

TEST(ResponseParser, ConnectionCloseAndHttp10) {
  ResponseParser p;
  p.reset();
  std::string buf = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(p.parse(buf), Status::done);
  EXPECT_FALSE(p.keep_alive());
  p.reset();
  buf = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(p.parse(buf), Status::done);
  EXPECT_FALSE(p.keep_alive());
  p.reset();
  buf = "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(p.parse(buf), Status::done);
  EXPECT_TRUE(p.keep_alive());
}

TEST(ResponseParser, BodyUntilClose) {
  ResponseParser p;
  p.reset();
  std::string buf = "HTTP/1.1 200 OK\r\n\r\npartial";
  EXPECT_EQ(p.parse(buf), Status::need_more);
  buf += " and more";
  EXPECT_EQ(p.parse(buf), Status::need_more);
  ASSERT_EQ(p.finish_on_eof(buf), Status::done);
  EXPECT_EQ(p.body(buf), "partial and more");
  EXPECT_FALSE(p.keep_alive());
}

TEST(ResponseParser, NoBodyResponses) {
  ResponseParser p;
  p.reset(true);  // HEAD
  std::string buf = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
  EXPECT_EQ(p.parse(buf), Status::done);
  p.reset();
  buf = "HTTP/1.1 204 No Content\r\n\r\n";
  EXPECT_EQ(p.parse(buf), Status::done);
  p.reset();
  buf = "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";
  EXPECT_EQ(p.parse(buf), Status::done);
}

TEST(ResponseParser, SkipsInterimResponses) {
  ResponseParser p;
  p.reset();
  std::string buf = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  ASSERT_EQ(p.parse(buf), Status::done);
  EXPECT_EQ(p.status(), 200);
  EXPECT_EQ(p.body(buf), "ok");
}

TEST(ResponseParser, StatusWithoutReason) {
  ResponseParser p;
  p.reset();
  std::string buf = "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(p.parse(buf), Status::done);
  EXPECT_EQ(p.status(), 404);
  EXPECT_EQ(p.reason(buf), "");
}

TEST(ResponseParser, Errors) {
  for (const std::string bad :
       {"HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX"}) {
    ResponseParser p;
    p.reset();
    EXPECT_EQ(p.parse(bad), Status::error) << bad;
  }
  ResponseParser p;
  p.reset();
  std::string buf = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  EXPECT_EQ(p.parse(buf), Status::need_more);
  EXPECT_EQ(p.finish_on_eof(buf), Status::error);  // truncated
}

TEST(ResponseParser, ReusedAcrossResponses) {
  ResponseParser p;
  std::string buf;
  for (int i = 0; i < 3; ++i) {
    p.reset();
    buf = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n" + std::to_string(i);
    ASSERT_EQ(p.parse(buf), Status::done);
    EXPECT_EQ(p.body(buf), std::to_string(i));
    EXPECT_EQ(p.header_count(), 1u);
  }
}

TEST(CookieJar, SetReplaceDelete) {
  CookieJar jar;
  EXPECT_TRUE(jar.empty());
  jar.set_from_header("session=abc; Path=/; HttpOnly");
  jar.set_from_header("theme=\"dark\"");
  std::string out;
  jar.append_header_value(out);
  EXPECT_EQ(out, "session=abc; theme=dark");
  jar.set_from_header("session=xyz");
  EXPECT_EQ(jar.get("session"), "xyz");
  jar.set_from_header("session=; Max-Age=0");
  EXPECT_EQ(jar.get("session"), "");
  out.clear();
  jar.append_header_value(out);
  EXPECT_EQ(out, "theme=dark");
  jar.set_from_header("garbage");
  jar.clear();
  EXPECT_TRUE(jar.empty());
}

}  // namespace
}  // namespace crest::load
