#pragma once
// A lean, incremental HTTP/1.1 response parser. The caller appends bytes to one buffer and calls
// parse() with the whole buffer; the parser resumes where it stopped. Content-Length, chunked
// (decoded into a reused body buffer) and read-until-close bodies; keep-alive from the version
// and the Connection header. Header names and values stay as offsets into the buffer, so parsing
// allocates nothing once the vectors have grown.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/text.hpp"

namespace crest::load {

class ResponseParser {
 public:
  enum class Status : std::uint8_t { need_more, done, error };

  // no_body: the request was HEAD (or the status forbids a body).
  void reset(bool head_request = false);
  Status parse(std::string_view buffer);
  // The peer closed the connection: completes a read-until-close body.
  Status finish_on_eof(std::string_view buffer);

  int status() const { return status_; }
  std::string_view reason(std::string_view buffer) const {
    return buffer.substr(reason_.off, reason_.len);
  }
  bool keep_alive() const { return keep_alive_; }
  std::size_t header_count() const { return headers_.size(); }
  std::string_view header_name(std::string_view buffer, std::size_t i) const {
    return buffer.substr(headers_[i].name.off, headers_[i].name.len);
  }
  std::string_view header_value(std::string_view buffer, std::size_t i) const {
    return buffer.substr(headers_[i].value.off, headers_[i].value.len);
  }
  // First header of that name (case-insensitive), or an empty view.
  std::string_view header(std::string_view buffer, std::string_view name) const;
  std::string_view body(std::string_view buffer) const;
  std::size_t message_size() const { return pos_; }  // bytes of this response in the buffer
  const char* error() const { return error_; }

 private:
  enum class State : std::uint8_t {
    status_line,
    headers,
    body_length,
    chunk_size,
    chunk_data,
    chunk_crlf,
    trailers,
    body_until_close,
    done,
    failed
  };
  struct Span {
    std::size_t off = 0;
    std::size_t len = 0;
  };
  struct Header {
    Span name;
    Span value;
  };

  Status fail(const char* why) {
    state_ = State::failed;
    error_ = why;
    return Status::error;
  }

  State state_ = State::status_line;
  bool head_ = false;
  bool keep_alive_ = true;
  bool chunked_ = false;
  bool has_length_ = false;
  int status_ = 0;
  Span reason_;
  std::size_t pos_ = 0;
  std::uint64_t remaining_ = 0;
  Span body_;
  std::string chunked_body_;
  std::vector<Header> headers_;
  const char* error_ = "";
};

using text::iequals;

// Cookies of one virtual user: name=value pairs from Set-Cookie, sent back in one Cookie header.
// Path, domain and expiry dates are ignored (one target); Max-Age<=0 deletes.
class CookieJar {
 public:
  void set_from_header(std::string_view set_cookie);
  void append_header_value(std::string& out) const;  // "a=1; b=2"
  std::string_view get(std::string_view name) const;
  bool empty() const { return count_ == 0; }
  void clear() { count_ = 0; }

 private:
  std::vector<std::pair<std::string, std::string>> cookies_;  // first count_ are live
  std::size_t count_ = 0;
};

}  // namespace crest::load
