#pragma once
// JMeter test plans (.jmx) to crest load plans (YAML, docs/load.md). The translation reads the
// elements most plans use (docs/jmeter.md lists them with their mapping); anything else is a
// warning naming the element and its path in the tree, or an error when `strict` is set.
#include <string>
#include <vector>

#include "crest/core/error.hpp"

namespace crest::jmeter {

struct JmxTranslateOptions {
  bool strict = false;  // an unsupported element or expression is an error, not a warning
  // Directory that relative CSV paths in the .jmx are relative to (JMeter: the plan's directory).
  std::string base_dir = ".";
  // Write CSV paths as absolute paths (the YAML is not written next to the .jmx).
  bool absolute_paths = false;
  // When a CSVDataSet names its columns (variableNames) the file has no header row, but a crest
  // feed needs one: with a directory here, a copy with the header is written there and used.
  // Empty: the plan refers to the original file and a warning says it needs a header row.
  std::string header_copy_dir;
  // JMeter properties (-Jname=value): ${__P(name,default)} read at translation time (the host,
  // port, thread count, duration) take these values. crest run passes its -e pairs here.
  std::vector<std::pair<std::string, std::string>> properties;
};

struct JmxTranslation {
  std::string yaml;                   // the crest plan
  std::vector<std::string> warnings;  // "Test Plan/Users/login: ..." one per finding
};

// Errors read "FILE: ..." (unreadable, not XML, no thread group, strict findings).
Result<JmxTranslation> translate_jmx(const std::string& xml_text, const std::string& file_name,
                                     const JmxTranslateOptions& options = {});
Result<JmxTranslation> translate_jmx_file(const std::string& path,
                                          JmxTranslateOptions options = {});

// "${var}", "${__P(name,default)}", "${__Random(1,10)}", "${__UUID()}", "${__time()}" in JMeter
// text to crest's "{{ ... }}" templates. `known` maps JMeter variable names to crest expressions
// ("email" -> "users.email"); names absent from it stay literal, as JMeter leaves them, and
// each unsupported function or unknown name is appended to `problems`.
struct JmeterVariables {
  std::vector<std::pair<std::string, std::string>> names;       // JMeter name -> crest expression
  std::vector<std::pair<std::string, std::string>> properties;  // __P name -> default
  const std::string* find(const std::string& name) const;
};
std::string translate_expression(const std::string& text, JmeterVariables& variables,
                                 std::vector<std::string>& problems);

}  // namespace crest::jmeter
