#include "crest/aws/credentials.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>

namespace crest::aws {
namespace {

std::optional<std::string> env_value(const EnvLookup& env, std::string_view name) {
  auto value = env(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

Result<std::string> read_whole_file(const std::string& path, std::string_view what) {
  std::ifstream in(path);
  if (!in) {
    return Error{ErrorKind::invalid_argument, fmt::format("{} '{}' cannot be read", what, path)};
  }
  std::ostringstream out;
  out << in.rdbuf();
  std::string text = out.str();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())) != 0) {
    text.pop_back();
  }
  return text;
}

// "http://host:port/path?q" into the endpoint and the target.
Result<std::pair<Endpoint, std::string>> split_url(std::string_view url) {
  const auto scheme = url.find("://");
  const auto slash = scheme == std::string_view::npos ? url.find('/') : url.find('/', scheme + 3);
  const std::string_view authority = slash == std::string_view::npos ? url : url.substr(0, slash);
  auto endpoint = parse_endpoint(authority);
  if (!endpoint.ok()) return endpoint.error();
  return std::pair{*endpoint, slash == std::string_view::npos ? std::string("/")
                                                              : std::string(url.substr(slash))};
}

Error source_error(const Error& e, std::string_view source) {
  return Error{e.kind, fmt::format("{} credentials: {}", source, e.message)};
}

std::string role_session_name(const ChainOptions& options, const Clock& clock) {
  if (auto name = env_value(options.env, "AWS_ROLE_SESSION_NAME")) return *name;
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(clock.wall_now().time_since_epoch()).count();
  return fmt::format("crest-{}", seconds);
}

Clock& clock_of(const ChainOptions& options) {
  return options.clock != nullptr ? *options.clock : Clock::system();
}

}  // namespace

std::string form_encode(std::string_view value) {
  std::string out;
  for (const char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::optional<Clock::WallTime> parse_iso8601(std::string_view text) {
  std::tm tm{};
  int consumed = 0;
  const std::string s(text);
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  std::string_view rest = std::string_view(s).substr(static_cast<std::size_t>(consumed));
  if (rest.starts_with('.')) {
    rest.remove_prefix(1);
    while (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest.front())) != 0) {
      rest.remove_prefix(1);
    }
  }
  if (rest != "Z" && rest != "+00:00") return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t t = timegm(&tm);
  if (t == -1) return std::nullopt;
  return std::chrono::time_point_cast<Clock::WallTime::duration>(
      std::chrono::system_clock::from_time_t(t));
}

Result<SourcedCredentials> parse_assume_role_with_web_identity(std::string_view xml) {
  pugi::xml_document doc;
  const auto parsed = doc.load_buffer(xml.data(), xml.size());
  if (!parsed) {
    return Error{ErrorKind::internal,
                 fmt::format("STS answer is not XML: {}", parsed.description())};
  }
  if (auto error = doc.child("ErrorResponse").child("Error")) {
    const std::string code = error.child_value("Code");
    const auto kind = code == "IDPCommunicationError" || code == "Throttling"
                          ? ErrorKind::unavailable
                          : ErrorKind::invalid_argument;
    return Error{kind, fmt::format("STS AssumeRoleWithWebIdentity: {}: {}", code,
                                   error.child_value("Message"))};
  }
  const auto creds = doc.child("AssumeRoleWithWebIdentityResponse")
                         .child("AssumeRoleWithWebIdentityResult")
                         .child("Credentials");
  SourcedCredentials out;
  out.source = "web-identity";
  out.credentials.access_key_id = creds.child_value("AccessKeyId");
  out.credentials.secret_access_key = creds.child_value("SecretAccessKey");
  out.credentials.session_token = creds.child_value("SessionToken");
  out.expiration = parse_iso8601(creds.child_value("Expiration"));
  if (out.credentials.access_key_id.empty() || out.credentials.secret_access_key.empty() ||
      out.credentials.session_token.empty() || !out.expiration) {
    return Error{ErrorKind::internal,
                 "STS AssumeRoleWithWebIdentityResponse lacks AccessKeyId, SecretAccessKey, "
                 "SessionToken or a valid Expiration"};
  }
  return out;
}

Result<SourcedCredentials> parse_credentials_json(std::string_view json, std::string source) {
  const auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Error{ErrorKind::internal, fmt::format("{} answer is not a JSON object", source)};
  }
  const auto str = [&](const char* key) {
    const auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (const auto code = str("Code"); !code.empty() && code != "Success") {
    return Error{ErrorKind::unavailable,
                 fmt::format("{} answered Code {}: {}", source, code, str("Message"))};
  }
  SourcedCredentials out;
  out.source = std::move(source);
  out.credentials = {str("AccessKeyId"), str("SecretAccessKey"), str("Token")};
  if (const auto expiration = str("Expiration"); !expiration.empty()) {
    out.expiration = parse_iso8601(expiration);
    if (!out.expiration) {
      return Error{ErrorKind::internal, fmt::format("{} answer has an unreadable Expiration '{}'",
                                                    out.source, expiration)};
    }
  }
  if (out.credentials.access_key_id.empty() || out.credentials.secret_access_key.empty()) {
    return Error{ErrorKind::internal,
                 fmt::format("{} answer lacks AccessKeyId or SecretAccessKey", out.source)};
  }
  return out;
}

Result<SourcedCredentials> web_identity_credentials(const ChainOptions& options) {
  const auto role = env_value(options.env, "AWS_ROLE_ARN");
  const auto token_file = env_value(options.env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!role || !token_file) {
    return Error{ErrorKind::not_found, "AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE unset"};
  }
  // Read on every call: the kubelet rotates the projected token.
  auto token = read_whole_file(*token_file, "AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!token.ok()) return source_error(token.error(), "web identity");
  const std::string region = options.region.empty() ? resolve_region(options.env) : options.region;
  auto endpoint = resolve_endpoint("sts", "", region, options.env);
  if (!endpoint.ok()) return source_error(endpoint.error(), "web identity");
  http::ClientRequest request;
  request.method = "POST";
  request.target = "/";
  request.headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  request.headers.add("Accept", "text/xml");
  // AssumeRoleWithWebIdentity is not signed: the token is the proof.
  request.body = fmt::format(
      "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn={}&RoleSessionName={}"
      "&WebIdentityToken={}",
      form_encode(*role), form_encode(role_session_name(options, clock_of(options))),
      form_encode(*token));
  EndpointTransport transport(*endpoint, options.sts_http, options.tls);
  auto response = transport.send(request);
  if (!response.ok()) return source_error(response.error(), "web identity (STS)");
  auto parsed = parse_assume_role_with_web_identity(response->body);
  if (!parsed.ok()) return source_error(parsed.error(), "web identity");
  if (response->status != 200) {
    return Error{ErrorKind::unavailable,
                 fmt::format("web identity credentials: STS answered HTTP {}", response->status)};
  }
  return parsed;
}

Result<SourcedCredentials> container_credentials(const ChainOptions& options) {
  std::string url;
  if (auto full = env_value(options.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
    url = *full;
  } else if (auto relative = env_value(options.env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
    url = "http://169.254.170.2" + *relative;
  } else {
    return Error{ErrorKind::not_found, "AWS_CONTAINER_CREDENTIALS_FULL_URI/RELATIVE_URI unset"};
  }
  auto target = split_url(url);
  if (!target.ok()) return source_error(target.error(), "container");
  http::ClientRequest request;
  request.target = target->second;
  if (auto file = env_value(options.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
    auto token = read_whole_file(*file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (!token.ok()) return source_error(token.error(), "container");
    request.headers.add("Authorization", *token);
  } else if (auto token = env_value(options.env, "AWS_CONTAINER_AUTHORIZATION_TOKEN")) {
    request.headers.add("Authorization", *token);
  }
  EndpointTransport transport(target->first, options.metadata_http, options.tls);
  auto response = transport.send(request);
  if (!response.ok()) return source_error(response.error(), "container");
  if (response->status != 200) {
    return Error{ErrorKind::unavailable,
                 fmt::format("container credentials: {} answered HTTP {}", url, response->status)};
  }
  return parse_credentials_json(response->body, "container");
}

Result<SourcedCredentials> imds_credentials(const ChainOptions& options) {
  if (auto disabled = env_value(options.env, "AWS_EC2_METADATA_DISABLED");
      disabled && (*disabled == "true" || *disabled == "TRUE" || *disabled == "1")) {
    return Error{ErrorKind::not_found, "AWS_EC2_METADATA_DISABLED is set"};
  }
  const std::string base = env_value(options.env, "AWS_EC2_METADATA_SERVICE_ENDPOINT")
                               .value_or("http://169.254.169.254");
  auto endpoint = parse_endpoint(base);
  if (!endpoint.ok()) return source_error(endpoint.error(), "IMDS");
  EndpointTransport transport(*endpoint, options.metadata_http);
  http::ClientRequest token_request;
  token_request.method = "PUT";
  token_request.target = "/latest/api/token";
  token_request.headers.add("X-aws-ec2-metadata-token-ttl-seconds", "21600");
  auto token = transport.send(token_request);
  if (!token.ok()) {
    return Error{ErrorKind::not_found,
                 fmt::format("IMDS at {} unreachable: {}", base, token.error().message)};
  }
  if (token->status != 200 || token->body.empty()) {
    return Error{ErrorKind::unavailable,
                 fmt::format("IMDS token request answered HTTP {}", token->status)};
  }
  const auto get = [&](const std::string& target) {
    http::ClientRequest r;
    r.target = target;
    r.headers.add("X-aws-ec2-metadata-token", token->body);
    return transport.send(r);
  };
  const std::string path = "/latest/meta-data/iam/security-credentials/";
  auto role = get(path);
  if (!role.ok()) return source_error(role.error(), "IMDS");
  if (role->status == 404) {
    return Error{ErrorKind::not_found, "IMDS: the instance has no IAM role (instance profile)"};
  }
  if (role->status != 200 || role->body.empty()) {
    return Error{ErrorKind::unavailable,
                 fmt::format("IMDS role listing answered HTTP {}", role->status)};
  }
  std::string name = role->body.substr(0, role->body.find('\n'));
  auto creds = get(path + name);
  if (!creds.ok()) return source_error(creds.error(), "IMDS");
  if (creds->status != 200) {
    return Error{ErrorKind::unavailable,
                 fmt::format("IMDS credentials of role {} answered HTTP {}", name, creds->status)};
  }
  return parse_credentials_json(creds->body, "imds");
}

namespace {

class StaticProvider final : public CredentialsProvider {
 public:
  StaticProvider(Credentials c, std::string source)
      : credentials_(std::move(c)), source_(std::move(source)) {}
  Result<Credentials> credentials() override { return credentials_; }
  std::string source() const override { return source_; }

 private:
  Credentials credentials_;
  std::string source_;
};

}  // namespace

std::shared_ptr<CredentialsProvider> static_credentials(Credentials credentials,
                                                        std::string source) {
  return std::make_shared<StaticProvider>(std::move(credentials), std::move(source));
}

RefreshingCredentials::RefreshingCredentials(Fetch fetch, SourcedCredentials initial, Clock& clock,
                                             RefreshOptions options)
    : fetch_(std::move(fetch)), clock_(clock), options_(options), current_(std::move(initial)) {}

Result<Credentials> RefreshingCredentials::credentials() {
  std::lock_guard lock(mutex_);
  if (!current_.expiration) return current_.credentials;
  const auto now = clock_.wall_now();
  const bool due = now >= *current_.expiration - options_.refresh_before;
  const bool may_try = !next_attempt_ || now >= *next_attempt_;
  const bool expired = now >= *current_.expiration;
  if (due && (may_try || expired)) {
    auto fresh = fetch_();
    ++fetches_;
    if (fresh.ok()) {
      current_ = std::move(fresh).value();
      next_attempt_.reset();
    } else {
      next_attempt_ = now + options_.retry_after_failure;
      if (expired) {
        return Error{fresh.error().kind, fmt::format("{} credentials expired and refreshing "
                                                     "them failed: {}",
                                                     current_.source, fresh.error().message)};
      }
    }
  }
  return current_.credentials;
}

std::string RefreshingCredentials::source() const {
  std::lock_guard lock(mutex_);
  return current_.source;
}

int RefreshingCredentials::fetches() const {
  std::lock_guard lock(mutex_);
  return fetches_;
}

Result<std::shared_ptr<CredentialsProvider>> default_credentials_chain(ChainOptions options) {
  if (!options.env) options.env = process_environment();
  Clock& clock = clock_of(options);
  const auto key = env_value(options.env, "AWS_ACCESS_KEY_ID");
  const auto secret = env_value(options.env, "AWS_SECRET_ACCESS_KEY");
  if (key && secret) {
    return static_credentials(
        {*key, *secret, env_value(options.env, "AWS_SESSION_TOKEN").value_or("")}, "environment");
  }
  std::vector<std::string> tried{"environment: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY unset"};
  using Source = Result<SourcedCredentials> (*)(const ChainOptions&);
  const auto refreshing = [&](Source source,
                              SourcedCredentials first) -> std::shared_ptr<CredentialsProvider> {
    return std::make_shared<RefreshingCredentials>([options, source] { return source(options); },
                                                   std::move(first), clock, options.refresh);
  };
  if (auto web = web_identity_credentials(options); web.ok()) {
    return refreshing(&web_identity_credentials, std::move(web).value());
  } else if (web.error().kind != ErrorKind::not_found) {
    return web.error();
  } else {
    tried.push_back("web identity: " + web.error().message);
  }
  // The shared credentials file (config.hpp's resolve_credentials without its environment step,
  // which was tried above).
  if (auto shared = resolve_credentials(options.env); shared.ok()) {
    return static_credentials(std::move(shared).value(), "shared-file");
  } else {
    tried.push_back("shared file: " + shared.error().message);
  }
  if (auto container = container_credentials(options); container.ok()) {
    return refreshing(&container_credentials, std::move(container).value());
  } else if (container.error().kind != ErrorKind::not_found) {
    return container.error();
  } else {
    tried.push_back("container: " + container.error().message);
  }
  if (options.use_imds) {
    if (auto imds = imds_credentials(options); imds.ok()) {
      return refreshing(&imds_credentials, std::move(imds).value());
    } else if (imds.error().kind != ErrorKind::not_found) {
      return imds.error();
    } else {
      tried.push_back("IMDS: " + imds.error().message);
    }
  } else {
    tried.push_back("IMDS: not tried for a loopback endpoint");
  }
  std::string message = "no AWS credentials found; tried";
  for (const auto& t : tried) message += "\n  " + t;
  return Error{ErrorKind::not_found, message};
}

}  // namespace crest::aws
