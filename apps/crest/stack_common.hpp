#pragma once
// What `crest up`, `down`, `status` and `scale` share: where the run directory, the repository
// and the storefront program are.
#include <string>

namespace crest::cli {

inline constexpr const char* kDefaultRunDir = "crest-run";

// $CREST_SOURCE_DIR, else the source tree crest was built from.
std::string repo_root();
// $CREST_STOREFRONT, else `storefront` beside crest's build directory, else the one built with it.
std::string storefront_binary();

}  // namespace crest::cli
