#pragma once
// The storefront program: parses the command line and configuration, opens the stores, and
// serves one role (users, catalog, cart, orders, worker) or all of them; or seeds test data.
#include <vector>

#include "crest/core/config.hpp"

namespace crest::storefront {

std::vector<ConfigOption> config_schema();
int main(int argc, char** argv);

}  // namespace crest::storefront
