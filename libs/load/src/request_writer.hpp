#pragma once
// Renders one step's HTTP/1.1 request into a VU's reusable buffers (no allocation once they have
// grown).
#include <string>

#include "crest/load/plan.hpp"
#include "crest/load/response_parser.hpp"
#include "crest/load/template.hpp"

namespace crest::load {

// `cookies` is null when the plan does not keep cookies. `body` is scratch space for the body.
void write_request(const Plan& plan, const Step& step, const RenderContext& context,
                   const CookieJar* cookies, std::string& request, std::string& body);

}  // namespace crest::load
