#pragma once
// Where an AWS client gets its credentials, region and endpoint, resolved the way the AWS SDKs
// and CLI do (environment first, then the shared files), with an endpoint override for local
// servers (dynalite, fauxqs) and tests.
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "crest/aws/sigv4.hpp"
#include "crest/core/error.hpp"

namespace crest::aws {

// Reads one environment variable; injectable so tests never touch the real environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvLookup process_environment();

// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN; otherwise the profile
// (AWS_PROFILE, else "default") of the shared credentials file (AWS_SHARED_CREDENTIALS_FILE,
// else ~/.aws/credentials). not_found if neither has a key pair.
Result<Credentials> resolve_credentials(const EnvLookup& env);

// AWS_REGION, AWS_DEFAULT_REGION, then `region` in the profile of the shared config file
// (AWS_CONFIG_FILE, else ~/.aws/config; "[default]" or "[profile NAME]"); else `fallback`.
std::string resolve_region(const EnvLookup& env, std::string fallback = "us-east-1");

// The sections of an INI file as the AWS shared files use them: {section -> {key -> value}}.
// Exposed for tests.
using IniSections = std::map<std::string, std::map<std::string, std::string>, std::less<>>;
IniSections parse_ini(std::string_view text);

}  // namespace crest::aws
