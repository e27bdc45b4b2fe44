#pragma once
// Captures and checks: what the engine takes from a response (values for later steps) and what it
// asserts about it. Pure functions of one response, so they are tested without a server.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "crest/load/plan.hpp"

namespace crest::load {

struct ResponseView {
  int status = 0;
  std::string_view body;
  std::function<std::string_view(std::string_view)> header;  // first header by name
  std::function<std::string_view(std::string_view)> cookie;  // cookie jar lookup
  double duration_ms = 0;
};

// Returns false when a capture found nothing (and has no default); the name of the missing capture
// goes to *missing. `rng` draws the match of `match: random` captures (the first without one).
bool apply_captures(const Step& step, const ResponseView& response, std::vector<std::string>& vars,
                    std::string* missing, Rng* rng = nullptr);
// Evaluates each check; passed[i] per check. Returns true when all passed.
bool evaluate_checks(const Step& step, const ResponseView& response, std::vector<bool>& passed);

}  // namespace crest::load
