#pragma once
// Pieces of the Prometheus text format 0.0.4 that need care: numbers and escaping.
#include <string>
#include <string_view>

namespace crest::metrics::text_format {

// A float as Prometheus parses it: NaN, +Inf, -Inf, otherwise the shortest text that reads
// back to the same double, in plain notation unless the exponent is below -4 or above 20.
void append_double(std::string& out, double value);

// Label values escape backslash, double quote and line feed.
void append_label_value(std::string& out, std::string_view value);

// HELP text escapes backslash and line feed (a quote is literal there).
void append_help(std::string& out, std::string_view help);

}  // namespace crest::metrics::text_format
