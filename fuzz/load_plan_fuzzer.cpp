// libFuzzer target: the load plan parser (crest/load/plan.hpp), from YAML text as `crest run`
// reads a plan file, plus the duration and origin parsers it uses.
//
// Input: the text of a plan file (fuzz/corpus/load_plan/ holds real plans). Findings: a crash, a
// sanitizer report, or an exception escaping parse_plan (which must answer an error Result naming
// the file, line and field). Feed files resolve against a directory that does not exist, so the
// fuzzer reads no file of the machine.
#include <cstdint>
#include <string>
#include <string_view>

#include "crest/load/plan.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto plan = crest::load::parse_plan(text, "fuzz.yaml", {}, "/nonexistent/crest-fuzz");
  if (!plan.ok()) (void)plan.error().message.size();
  if (size < 256) {
    (void)crest::load::parse_duration(text, (size & 1) != 0);
    std::string path;
    (void)crest::load::parse_origin(text, &path);
  }
  return 0;
}
