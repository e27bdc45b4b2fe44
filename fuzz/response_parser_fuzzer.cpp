// libFuzzer target: the load engine's HTTP/1.1 response parser (crest/load/response_parser.hpp)
// and the cookie jar it feeds, on whatever a server might send.
//
// Input: one flag byte, then the bytes received. Flag bit 0: the request was HEAD; the other bits
// choose the size of the reads (1..128 bytes) for a second, incremental parse of the same bytes.
// Checks, besides no crash or sanitizer report: everything the parser reports lies inside the
// buffer, and parsing the bytes at once or read by read gives the same answer (the engine calls
// parse() after every read and must not depend on where a read ends).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crest/load/response_parser.hpp"

namespace {

using crest::load::ResponseParser;
using Status = ResponseParser::Status;

void require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "FINDING: %s\n", what);
    std::abort();
  }
}

bool inside(std::string_view part, std::string_view buffer) {
  return part.empty() || (part.data() >= buffer.data() &&
                          part.data() + part.size() <= buffer.data() + buffer.size());
}

// Reads the whole response the way the engine does: parse after each read, finish on EOF.
Status parse_in_reads(ResponseParser& parser, std::string_view bytes, std::size_t read_size,
                      std::string& buffer) {
  Status status = Status::need_more;
  for (std::size_t at = 0; at < bytes.size() && status == Status::need_more; at += read_size) {
    buffer.append(bytes.substr(at, read_size));
    status = parser.parse(buffer);
  }
  if (status == Status::need_more && !buffer.empty()) status = parser.finish_on_eof(buffer);
  return status;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return -1;
  const bool head = (data[0] & 1) != 0;
  const std::size_t read_size = 1 + (data[0] >> 1);
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  ResponseParser whole;
  whole.reset(head);
  std::string buffer(bytes);
  Status status = whole.parse(buffer);
  if (status == Status::need_more && !buffer.empty()) status = whole.finish_on_eof(buffer);
  if (status == Status::done) {
    require(whole.message_size() <= buffer.size(), "message larger than the buffer");
    require(whole.status() >= 100 && whole.status() <= 999, "status outside 100..999");
    require(inside(whole.reason(buffer), buffer), "reason outside the buffer");
    crest::load::CookieJar jar;
    for (std::size_t i = 0; i < whole.header_count(); ++i) {
      require(inside(whole.header_name(buffer, i), buffer), "header name outside the buffer");
      require(inside(whole.header_value(buffer, i), buffer), "header value outside the buffer");
      if (crest::load::iequals(whole.header_name(buffer, i), "set-cookie")) {
        jar.set_from_header(whole.header_value(buffer, i));
      }
    }
    std::string cookies;
    jar.append_header_value(cookies);
    (void)whole.header(buffer, "content-type");
    const std::string_view body = whole.body(buffer);
    if (head) require(body.empty(), "a body after HEAD");

    ResponseParser incremental;
    incremental.reset(head);
    std::string received;
    const Status again = parse_in_reads(incremental, bytes, read_size, received);
    require(again == Status::done, "done at once but not read by read");
    require(incremental.status() == whole.status(), "status differs read by read");
    require(incremental.body(received) == body, "body differs read by read");
    require(incremental.keep_alive() == whole.keep_alive(), "keep-alive differs read by read");
  }
  return 0;
}
