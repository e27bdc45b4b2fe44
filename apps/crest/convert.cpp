#include <CLI/CLI.hpp>
#include <iostream>

#include "crest/jmeter/jmx_translator.hpp"
#include "subcommands.hpp"

namespace crest::cli {
// crest convert plan.jmx > plan.yaml: shows and keeps the translation `crest run plan.jmx` uses.
int convert(int argc, char** argv) {
  CLI::App app{"crest convert: translate a JMeter plan (.jmx) into a crest plan (docs/jmeter.md)",
               "crest convert"};
  std::string path;
  bool strict = false;
  std::vector<std::string> properties;
  app.add_option("plan", path, "JMeter test plan (.jmx)")->required();
  app.add_flag("--strict", strict, "unsupported elements are errors, not warnings");
  app.add_option("-e,--env", properties,
                 "KEY=VALUE: a JMeter property (-JKEY=VALUE) for ${__P(KEY)}");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  jmeter::JmxTranslateOptions options;
  options.strict = strict;
  for (const auto& kv : properties) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "crest convert: -e expects KEY=VALUE, got '" << kv << "'\n";
      return 2;
    }
    options.properties.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  auto translated = jmeter::translate_jmx_file(path, options);
  if (!translated.ok()) {
    std::cerr << "crest convert: " << translated.error().message << "\n";
    return 2;
  }
  for (const auto& w : translated->warnings) {
    std::cerr << "crest convert: warning: " << w << "\n";
  }
  std::cout << translated->yaml;
  return 0;
}
}  // namespace crest::cli
