#pragma once
// AWS Signature Version 4 for requests sent in headers (not presigned URLs). Pure functions over
// plain values, so they are tested against the published SigV4 test-suite vectors.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "crest/core/clock.hpp"

namespace crest::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials (STS)
};

// What is signed: every header given here is signed, so pass exactly what goes on the wire
// (Host and X-Amz-Date included; X-Amz-Security-Token too when there is a session token).
struct SigningRequest {
  std::string method;
  std::string path = "/";  // raw path, encoded here (once, per segment)
  std::string query;       // raw query string without '?', e.g. "b=2&a=1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct SigningScope {
  std::string region;
  std::string service;   // signing name: "dynamodb", "sqs"
  std::string amz_date;  // "YYYYMMDDTHHMMSSZ"
};

struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // lowercase hex
  std::string authorization;   // the Authorization header value
};

Signature sign_v4(const SigningRequest& request, const Credentials& credentials,
                  const SigningScope& scope);

// Helpers, exposed for tests and for the client.
std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw bytes
std::string to_hex(std::string_view bytes);
// RFC 3986 unreserved characters kept, everything else %XX (uppercase); '/' kept if asked.
std::string uri_encode(std::string_view text, bool keep_slash);
// "YYYYMMDDTHHMMSSZ" in UTC.
std::string format_amz_date(Clock::WallTime time);

}  // namespace crest::aws
