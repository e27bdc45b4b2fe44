#include "stack_common.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace crest::cli {
namespace fs = std::filesystem;

std::string repo_root() {
  if (const char* env = std::getenv("CREST_SOURCE_DIR"); env != nullptr && *env != '\0') return env;
  return CREST_SOURCE_DIR;
}

std::string storefront_binary() {
  if (const char* env = std::getenv("CREST_STOREFRONT"); env != nullptr && *env != '\0') return env;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& candidate :
         {self.parent_path() / "storefront",
          self.parent_path().parent_path() / "storefront" / "storefront"}) {
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return CREST_STOREFRONT_BINARY;
}

}  // namespace crest::cli
