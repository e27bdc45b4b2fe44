#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "crest/jmeter/jmx_translator.hpp"
#include "crest/load/run_command.hpp"
#include "subcommands.hpp"

namespace crest::cli {
namespace {

bool is_jmx(const std::string& arg) {
  return arg.size() > 4 && arg.compare(arg.size() - 4, 4, ".jmx") == 0;
}

// crest run plan.jmx: translate (libs/jmeter), then run the YAML plan like any other. The
// translation lives in a private directory for the length of the run (--processes children
// read it too) with the header-row copies of CSV files that need one.
int run_jmx(std::vector<std::string> args, std::size_t jmx_index) {
  bool strict = false;
  for (auto it = args.begin(); it != args.end();) {
    if (*it == "--strict") {
      strict = true;
      it = args.erase(it);
      if (jmx_index > static_cast<std::size_t>(it - args.begin())) {
        --jmx_index;
      }
    } else {
      ++it;
    }
  }
  std::string dir_template = (std::filesystem::temp_directory_path() / "crest-jmx-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) {
    std::cerr << "crest run: cannot create a temporary directory for the translated plan\n";
    return 1;
  }
  const std::filesystem::path dir(dir_template);
  jmeter::JmxTranslateOptions options;
  options.strict = strict;
  options.absolute_paths = true;
  options.header_copy_dir = dir.string();
  // -e KEY=VALUE plays the part of JMeter's -JKEY=VALUE for values fixed at translation.
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "-e" || args[i] == "--env") {
      const auto eq = args[i + 1].find('=');
      if (eq != std::string::npos && eq > 0) {
        options.properties.emplace_back(args[i + 1].substr(0, eq), args[i + 1].substr(eq + 1));
      }
    }
  }
  const std::string jmx = args[jmx_index];
  auto translated = jmeter::translate_jmx_file(jmx, options);
  int code = 2;
  if (!translated.ok()) {
    std::cerr << "crest run: " << translated.error().message << "\n";
  } else {
    for (const auto& w : translated->warnings) {
      std::cerr << "crest run: warning: " << w << "\n";
    }
    const auto yaml = dir / (std::filesystem::path(jmx).stem().string() + ".yaml");
    std::ofstream(yaml) << translated->yaml;
    args[jmx_index] = yaml.string();
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    code = load::run_command(static_cast<int>(args.size()), argv.data());
    if (code == 2) {
      std::cerr << "crest run: the translated plan is removed after the run; its lines are those "
                   "of `crest convert "
                << jmx << "`\n";
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return code;
}

}  // namespace

int run(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (is_jmx(argv[i])) {
      return run_jmx(std::vector<std::string>(argv, argv + argc), static_cast<std::size_t>(i));
    }
  }
  return load::run_command(argc, argv);
}
}  // namespace crest::cli
