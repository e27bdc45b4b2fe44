#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "crest/profile/access_log.hpp"
#include "crest/profile/traffic_profile.hpp"
#include "subcommands.hpp"

namespace crest::cli {
// crest profile access.log: the traffic a log shows, and a plan reproducing it (docs/profile.md).
int profile(int argc, char** argv) {
  CLI::App app{
      "crest profile: arrival curve, request mix and journeys from access logs, and a "
      "crest plan reproducing them (docs/profile.md)",
      "crest profile"};
  std::string path;
  std::string format = "auto";
  std::string plan_path;
  std::string json_path;
  std::string cookie = "session";
  profile::PlanOptions plan_options;
  profile::ProfileOptions options;
  app.add_option("log", path, "access log file")->required();
  app.add_option("--format", format, "haproxy, nginx-combined, alb, spring-boot-access or auto");
  app.add_option("--scale", plan_options.scale,
                 "multiply the plan's rates (3 = three times the log)")
      ->check(CLI::PositiveNumber);
  app.add_option("--compress", plan_options.compress,
                 "play the curve in 1/X of the time (10: an hour in six minutes)")
      ->check(CLI::PositiveNumber);
  app.add_option("--plan", plan_path, "write the crest plan to FILE (- for stdout)");
  app.add_option("--json", json_path, "write the profile as JSON to FILE");
  app.add_option("--target", plan_options.base_url, "the plan's base URL");
  app.add_option("--session-cookie", cookie, "the cookie that identifies a session");
  app.add_option("--session-gap", options.session_gap_s,
                 "seconds of inactivity that end a session");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto fmt = profile::parse_log_format(format);
  if (!fmt.ok()) {
    std::cerr << "crest profile: --format: " << fmt.error().message << "\n";
    return 2;
  }
  std::ifstream in(path);
  if (!in) {
    std::cerr << "crest profile: cannot read " << path << "\n";
    return 2;
  }
  auto log = profile::parse_access_log(in, path, *fmt, cookie);
  if (!log.ok()) {
    std::cerr << "crest profile: " << log.error().message << "\n";
    return 2;
  }
  const auto traffic = profile::analyse_traffic(log->records, options);
  const auto plan = profile::plan_yaml(traffic, plan_options, path);
  if (plan_path == "-") {
    std::cout << plan;
  } else {
    std::cout << profile::format_report(*log, traffic);
    if (!plan_path.empty() && !(std::ofstream(plan_path) << plan)) {
      std::cerr << "crest profile: cannot write " << plan_path << "\n";
      return 1;
    }
  }
  if (!json_path.empty() && !(std::ofstream(json_path) << profile::format_json(*log, traffic))) {
    std::cerr << "crest profile: cannot write " << json_path << "\n";
    return 1;
  }
  return 0;
}
}  // namespace crest::cli
