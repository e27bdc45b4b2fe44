#pragma once
// The "user:password@" part of a database URL (mysql://, redis://), shared by the URL parsers
// of the MySQL and Redis adapters; host:port is crest::parse_host_port's.
#include <optional>
#include <string>
#include <string_view>

namespace crest::store {

struct UrlUserInfo {
  bool present = false;                 // the authority had a '@'
  std::string user;                     // percent-decoded
  std::optional<std::string> password;  // percent-decoded; none without a ':'
  std::string_view rest;                // what follows the '@' (all of it without one)
};

// Splits `authority_and_path` (what follows "scheme://") at its last '@'. nullopt when the
// user or password is not valid percent-encoding.
std::optional<UrlUserInfo> split_url_userinfo(std::string_view authority_and_path);

}  // namespace crest::store
