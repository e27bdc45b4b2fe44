#include "url_userinfo.hpp"

namespace crest::store {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || hex_value(text[i + 1]) < 0 || hex_value(text[i + 2]) < 0) {
      return std::nullopt;
    }
    out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
    i += 2;
  }
  return out;
}

}  // namespace

std::optional<UrlUserInfo> split_url_userinfo(std::string_view authority_and_path) {
  UrlUserInfo info;
  info.rest = authority_and_path;
  const auto at = authority_and_path.rfind('@');
  if (at == std::string_view::npos) {
    return info;
  }
  info.present = true;
  info.rest = authority_and_path.substr(at + 1);
  const std::string_view userinfo = authority_and_path.substr(0, at);
  const auto colon = userinfo.find(':');
  auto user = percent_decode(userinfo.substr(0, colon));
  if (!user) {
    return std::nullopt;
  }
  info.user = std::move(*user);
  if (colon != std::string_view::npos) {
    info.password = percent_decode(userinfo.substr(colon + 1));
    if (!info.password) {
      return std::nullopt;
    }
  }
  return info;
}

}  // namespace crest::store
