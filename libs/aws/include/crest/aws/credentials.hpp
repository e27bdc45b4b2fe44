#pragma once
// The AWS SDKs' default credential chain, with temporary credentials refreshed before they
// expire. Sources, in the order the SDKs (botocore, the Go and Java v2 SDKs) try them:
//  1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN);
//  2. web identity (EKS IRSA): AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE -> STS
//     AssumeRoleWithWebIdentity (Query protocol: form-encoded POST, XML answer read with
//     pugixml), AWS_ROLE_SESSION_NAME optional; STS at AWS_ENDPOINT_URL_STS, else
//     https://sts.<region>.amazonaws.com;
//  3. the shared credentials file profile (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE);
//  4. the container endpoint (EKS Pod Identity / ECS): AWS_CONTAINER_CREDENTIALS_FULL_URI (or
//     http://169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) with the Authorization
//     header read from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (or
//     AWS_CONTAINER_AUTHORIZATION_TOKEN);
//  5. the EC2 instance metadata service, IMDSv2 only: PUT /latest/api/token, then
//     /latest/meta-data/iam/security-credentials/[<role>] with the token; at
//     AWS_EC2_METADATA_SERVICE_ENDPOINT, else http://169.254.169.254; skipped when
//     AWS_EC2_METADATA_DISABLED=true.
// A source whose variables are set but which fails (STS refuses the token, the token file is
// missing) is an error, as in the SDKs: falling through would hide a misconfigured role.
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "crest/aws/config.hpp"
#include "crest/aws/https.hpp"
#include "crest/aws/sigv4.hpp"
#include "crest/core/clock.hpp"
#include "crest/core/error.hpp"

namespace crest::aws {

// Credentials with their expiry (none for long-term keys) and where they came from.
struct SourcedCredentials {
  Credentials credentials;
  std::optional<Clock::WallTime> expiration;
  std::string source;  // "environment", "web-identity", "shared-file", "container", "imds"
};

// Current credentials for a client. Thread-safe.
class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  virtual Result<Credentials> credentials() = 0;
  virtual std::string source() const = 0;
};

// Fixed credentials (long-term keys, or a placeholder for dynalite).
std::shared_ptr<CredentialsProvider> static_credentials(Credentials credentials,
                                                        std::string source = "static");

struct RefreshOptions {
  // Refresh this long before the expiry (the SDKs use 5 to 15 minutes); requests keep using the
  // current credentials meanwhile, so no request is sent with expired ones.
  std::chrono::seconds refresh_before{std::chrono::minutes(5)};
  // After a failed refresh, the next attempt waits this long (the current credentials, still
  // valid, are used meanwhile).
  std::chrono::seconds retry_after_failure{10};
};

// Holds the credentials a fetch returned and calls it again once they are within
// refresh_before of expiring. Errors only when the credentials have expired (or were never
// obtained) and a fetch fails.
class RefreshingCredentials final : public CredentialsProvider {
 public:
  using Fetch = std::function<Result<SourcedCredentials>()>;
  RefreshingCredentials(Fetch fetch, SourcedCredentials initial, Clock& clock,
                        RefreshOptions options = {});
  Result<Credentials> credentials() override;
  std::string source() const override;
  int fetches() const;  // refreshes done after the first fetch (for tests)

 private:
  Fetch fetch_;
  Clock& clock_;
  RefreshOptions options_;
  mutable std::mutex mutex_;
  SourcedCredentials current_;
  std::optional<Clock::WallTime> next_attempt_;
  int fetches_ = 0;
};

struct ChainOptions {
  EnvLookup env;  // default: process_environment()
  Clock* clock = nullptr;
  std::string region;  // for STS's regional endpoint; default resolve_region(env)
  // Timeouts for the metadata endpoints (the SDKs use 1 s) and STS.
  http::ClientOptions metadata_http{std::chrono::milliseconds(1'000),
                                    std::chrono::milliseconds(1'000)};
  http::ClientOptions sts_http{std::chrono::milliseconds(2'000), std::chrono::milliseconds(5'000)};
  TlsOptions tls;
  RefreshOptions refresh;
  // false: skip IMDS (it probes a link-local address even when nothing configured it); clients
  // of a loopback endpoint (dynalite, fauxqs) turn it off.
  bool use_imds = true;
};

// The first source of the chain that has credentials, fetched once now (so a misconfigured role
// fails at start-up), refreshed later as needed. not_found naming every source tried when none
// applies; the source's error when a configured source fails.
Result<std::shared_ptr<CredentialsProvider>> default_credentials_chain(ChainOptions options = {});

// The single sources, exposed for tests. Each returns not_found when its variables are unset.
Result<SourcedCredentials> web_identity_credentials(const ChainOptions& options);
Result<SourcedCredentials> container_credentials(const ChainOptions& options);
Result<SourcedCredentials> imds_credentials(const ChainOptions& options);

// Parsers of the documented response shapes (exposed for tests):
// STS AssumeRoleWithWebIdentityResponse XML (or its ErrorResponse);
Result<SourcedCredentials> parse_assume_role_with_web_identity(std::string_view xml);
// the JSON of the container endpoint and of IMDS security-credentials/<role>
// {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} (IMDS adds "Code": "Success").
Result<SourcedCredentials> parse_credentials_json(std::string_view json, std::string source);
// ISO 8601 UTC as AWS writes it: 2026-11-30T10:00:00Z (fractional seconds allowed).
std::optional<Clock::WallTime> parse_iso8601(std::string_view text);
// application/x-www-form-urlencoded value encoding (RFC 3986 unreserved kept).
std::string form_encode(std::string_view value);

}  // namespace crest::aws
