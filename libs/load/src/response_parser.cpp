#include "crest/load/response_parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace crest::load {

using text::trim;

namespace {
bool contains_token(std::string_view value, std::string_view token) {
  if (value.find(',') == std::string_view::npos) {  // the common "close" / "keep-alive" / "chunked"
    return iequals(value, token);
  }
  std::size_t start = 0;
  while (start <= value.size()) {
    auto comma = value.find(',', start);
    if (comma == std::string_view::npos) {
      comma = value.size();
    }
    if (iequals(trim(value.substr(start, comma - start)), token)) {
      return true;
    }
    start = comma + 1;
  }
  return false;
}

// The next CRLF at or after `from`: memchr for the LF, the common case in one pass.
std::size_t find_crlf(std::string_view b, std::size_t from) {
  while (from < b.size()) {
    const void* p = std::memchr(b.data() + from, '\n', b.size() - from);
    if (p == nullptr) {
      return std::string_view::npos;
    }
    const auto lf = static_cast<std::size_t>(static_cast<const char*>(p) - b.data());
    if (lf > from && b[lf - 1] == '\r') {
      return lf - 1;
    }
    from = lf + 1;
  }
  return std::string_view::npos;
}

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
}  // namespace

void ResponseParser::reset(bool head_request) {
  state_ = State::status_line;
  head_ = head_request;
  keep_alive_ = true;
  chunked_ = false;
  has_length_ = false;
  status_ = 0;
  reason_ = {};
  pos_ = 0;
  remaining_ = 0;
  body_ = {};
  chunked_body_.clear();
  headers_.clear();
  error_ = "";
}

std::string_view ResponseParser::header(std::string_view buffer, std::string_view name) const {
  for (const auto& h : headers_) {
    if (iequals(buffer.substr(h.name.off, h.name.len), name)) {
      return buffer.substr(h.value.off, h.value.len);
    }
  }
  return {};
}

std::string_view ResponseParser::body(std::string_view buffer) const {
  if (chunked_) {
    return chunked_body_;
  }
  return buffer.substr(std::min(body_.off, buffer.size()), body_.len);
}

ResponseParser::Status ResponseParser::parse(std::string_view buf) {
  for (;;) {
    switch (state_) {
      case State::status_line: {
        const auto eol = find_crlf(buf, pos_);
        if (eol == std::string_view::npos) {
          return buf.size() > kMaxHeaderBytes ? fail("status line too long") : Status::need_more;
        }
        const auto line = buf.substr(pos_, eol - pos_);
        // "HTTP/1.1 200 OK"
        if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ' ||
            (line.size() > 12 && line[12] != ' ')) {
          return fail("malformed status line");
        }
        keep_alive_ = line[7] == '1';
        const auto digit = [&line](std::size_t i) { return static_cast<unsigned>(line[i] - '0'); };
        if (digit(9) < 1 || digit(9) > 9 || digit(10) > 9 || digit(11) > 9) {
          return fail("malformed status code");
        }
        status_ = static_cast<int>(digit(9) * 100 + digit(10) * 10 + digit(11));
        reason_ =
            line.size() > 13 ? Span{pos_ + 13, line.size() - 13} : Span{pos_ + line.size(), 0};
        pos_ = eol + 2;
        state_ = State::headers;
        break;
      }
      case State::headers: {
        const auto eol = find_crlf(buf, pos_);
        if (eol == std::string_view::npos) {
          return buf.size() > kMaxHeaderBytes ? fail("headers too long") : Status::need_more;
        }
        if (eol == pos_) {  // end of headers
          pos_ += 2;
          if (status_ >= 100 && status_ < 200 && status_ != 101) {
            // Interim response (100 Continue): skip it and parse the real one.
            const std::size_t resume = pos_;
            const bool keep = keep_alive_;
            reset(head_);
            pos_ = resume;
            keep_alive_ = keep;
            break;
          }
          body_.off = pos_;
          if (head_ || status_ == 204 || status_ == 304) {
            state_ = State::done;
          } else if (chunked_) {
            state_ = State::chunk_size;
          } else if (has_length_) {
            state_ = remaining_ == 0 ? State::done : State::body_length;
          } else {
            keep_alive_ = false;
            state_ = State::body_until_close;
          }
          break;
        }
        const auto line = buf.substr(pos_, eol - pos_);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
          return fail("malformed header line");
        }
        const auto name = line.substr(0, colon);
        const auto value = trim(line.substr(colon + 1));
        headers_.push_back(
            Header{Span{pos_, colon},
                   Span{static_cast<std::size_t>(value.data() - buf.data()), value.size()}});
        // Only three headers matter to framing; their lengths tell them apart cheaply.
        if (name.size() == 14 && iequals(name, "content-length")) {
          std::uint64_t n = 0;
          auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
          if (ec != std::errc() || ptr != value.data() + value.size()) {
            return fail("malformed Content-Length");
          }
          if (has_length_ && n != remaining_) {
            return fail("conflicting Content-Length headers");
          }
          has_length_ = true;
          remaining_ = n;
        } else if (name.size() == 17 && iequals(name, "transfer-encoding")) {
          if (contains_token(value, "chunked")) {
            chunked_ = true;
          }
        } else if (name.size() == 10 && iequals(name, "connection")) {
          if (contains_token(value, "close")) {
            keep_alive_ = false;
          } else if (contains_token(value, "keep-alive")) {
            keep_alive_ = true;
          }
        }
        pos_ = eol + 2;
        break;
      }
      case State::body_length: {
        const std::size_t available = buf.size() - pos_;
        if (available < remaining_) {
          return Status::need_more;
        }
        pos_ += remaining_;
        body_.len = pos_ - body_.off;
        remaining_ = 0;
        state_ = State::done;
        break;
      }
      case State::chunk_size: {
        const auto eol = find_crlf(buf, pos_);
        if (eol == std::string_view::npos) {
          return buf.size() - pos_ > 1024 ? fail("chunk size line too long") : Status::need_more;
        }
        auto line = buf.substr(pos_, eol - pos_);
        const auto semi = line.find(';');  // chunk extensions are ignored
        line = trim(line.substr(0, semi));
        std::uint64_t n = 0;
        auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), n, 16);
        if (ec != std::errc() || ptr != line.data() + line.size() || line.empty()) {
          return fail("malformed chunk size");
        }
        pos_ = eol + 2;
        remaining_ = n;
        state_ = n == 0 ? State::trailers : State::chunk_data;
        break;
      }
      case State::chunk_data: {
        const std::size_t available = buf.size() - pos_;
        if (available < remaining_) {
          return Status::need_more;
        }
        chunked_body_.append(buf.data() + pos_, remaining_);
        pos_ += remaining_;
        remaining_ = 0;
        state_ = State::chunk_crlf;
        break;
      }
      case State::chunk_crlf: {
        if (buf.size() - pos_ < 2) {
          return Status::need_more;
        }
        if (buf[pos_] != '\r' || buf[pos_ + 1] != '\n') {
          return fail("missing CRLF after chunk data");
        }
        pos_ += 2;
        state_ = State::chunk_size;
        break;
      }
      case State::trailers: {
        const auto eol = find_crlf(buf, pos_);
        if (eol == std::string_view::npos) {
          return Status::need_more;
        }
        const bool last = eol == pos_;
        pos_ = eol + 2;
        if (last) {
          state_ = State::done;
        }
        break;
      }
      case State::body_until_close:
        body_.len = buf.size() - body_.off;
        pos_ = buf.size();
        return Status::need_more;
      case State::done:
        return Status::done;
      case State::failed:
        return Status::error;
    }
  }
}

ResponseParser::Status ResponseParser::finish_on_eof(std::string_view buf) {
  if (state_ == State::body_until_close) {
    body_.len = buf.size() - body_.off;
    pos_ = buf.size();
    state_ = State::done;
    return Status::done;
  }
  if (state_ == State::done) {
    return Status::done;
  }
  return fail("connection closed before the response was complete");
}

void CookieJar::set_from_header(std::string_view set_cookie) {
  const auto semi = set_cookie.find(';');
  const auto pair = set_cookie.substr(0, semi);
  const auto eq = pair.find('=');
  if (eq == std::string_view::npos) {
    return;
  }
  const auto name = trim(pair.substr(0, eq));
  auto value = trim(pair.substr(eq + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  bool remove = false;
  if (semi != std::string_view::npos) {
    auto attrs = set_cookie.substr(semi + 1);
    while (!attrs.empty()) {
      const auto next = attrs.find(';');
      const auto attr = trim(attrs.substr(0, next));
      if (attr.size() > 8 && iequals(attr.substr(0, 8), "max-age=")) {
        int age = 0;
        auto [ptr, ec] = std::from_chars(attr.data() + 8, attr.data() + attr.size(), age);
        if (ec == std::errc() && age <= 0) {
          remove = true;
        }
      }
      if (next == std::string_view::npos) {
        break;
      }
      attrs.remove_prefix(next + 1);
    }
  }
  for (std::size_t i = 0; i < count_; ++i) {
    if (cookies_[i].first == name) {
      if (remove) {
        std::swap(cookies_[i], cookies_[count_ - 1]);
        --count_;
      } else {
        cookies_[i].second.assign(value);
      }
      return;
    }
  }
  if (remove || name.empty()) {
    return;
  }
  if (count_ == cookies_.size()) {
    cookies_.emplace_back();
  }
  cookies_[count_].first.assign(name);
  cookies_[count_].second.assign(value);
  ++count_;
}

void CookieJar::append_header_value(std::string& out) const {
  for (std::size_t i = 0; i < count_; ++i) {
    if (i > 0) {
      out.append("; ");
    }
    out.append(cookies_[i].first);
    out.push_back('=');
    out.append(cookies_[i].second);
  }
}

std::string_view CookieJar::get(std::string_view name) const {
  for (std::size_t i = 0; i < count_; ++i) {
    if (cookies_[i].first == name) {
      return cookies_[i].second;
    }
  }
  return {};
}

}  // namespace crest::load
