#pragma once
// Renders one step's HTTP/1.1 request into a VU's reusable buffers (no allocation once they have
// grown).
#include <string>

#include "crest/load/plan.hpp"
#include "crest/load/response_parser.hpp"
#include "crest/load/template.hpp"

namespace crest::load {

// `cookies` is null when the plan does not keep cookies. `body` is scratch space for the body.
// Returns false, with *bad_header naming the header, when a rendered header value holds CR or LF
// (from a feed, a capture or -e): such a request must never reach the wire.
bool write_request(const Plan& plan, const Step& step, const RenderContext& context,
                   const CookieJar* cookies, std::string& request, std::string& body,
                   std::string_view* bad_header);

}  // namespace crest::load
