#include "text_format.hpp"

#include <array>
#include <charconv>
#include <cmath>

namespace crest::metrics::text_format {

void append_double(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
    return;
  }
  std::array<char, 64> buf{};
  const auto sci =
      std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::scientific);
  const std::string_view text(buf.data(), static_cast<std::size_t>(sci.ptr - buf.data()));
  // Shortest round-trip form is "d[.ddd]e[+-]XX"; its exponent decides the notation, so
  // 0.005 stays readable as an le label (as the Go client writes it) and 1e-07 stays short.
  const std::size_t e = text.find('e');
  int exponent = 0;
  std::string_view digits = text.substr(e + 1);
  const bool negative = !digits.empty() && digits.front() == '-';
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    digits.remove_prefix(1);
  }
  std::from_chars(digits.data(), digits.data() + digits.size(), exponent);
  if (negative) {
    exponent = -exponent;
  }
  if (exponent < -4 || exponent > 20) {
    out += text;
    return;
  }
  const auto fixed =
      std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::fixed);
  out.append(buf.data(), fixed.ptr);
}

// The exposition format escapes backslash and newline in HELP text, and also the double quote
// in label values.
void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_label_value(std::string& out, std::string_view value) {
  append_escaped(out, value, true);
}

void append_help(std::string& out, std::string_view help) {
  append_escaped(out, help, false);
}

}  // namespace crest::metrics::text_format
