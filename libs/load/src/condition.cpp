#include "crest/load/condition.hpp"

#include <charconv>

#include "crest/core/text.hpp"

namespace crest::load {
namespace {

Error invalid(std::string message) {
  return Error{ErrorKind::invalid_argument, std::move(message)};
}

bool as_number(std::string_view s, double& out) {
  s = text::trim(s);
  if (s.empty()) {
    return false;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// Where the operator sits: outside {{ }} and quotes. Returns npos when there is none.
std::size_t find_operator(std::string_view text, std::size_t& length, Condition::Op& op) {
  char quote = 0;
  int braces = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      quote = c == quote ? 0 : quote;
      continue;
    }
    if (text.substr(i, 2) == "{{") {
      ++braces;
      ++i;
      continue;
    }
    if (text.substr(i, 2) == "}}" && braces > 0) {
      --braces;
      ++i;
      continue;
    }
    if (braces > 0) {
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      continue;
    }
    const auto two = text.substr(i, 2);
    if (two == "==" || two == "!=" || two == "<=" || two == ">=") {
      length = 2;
      op = two == "=="   ? Condition::Op::eq
           : two == "!=" ? Condition::Op::ne
           : two == "<=" ? Condition::Op::le
                         : Condition::Op::ge;
      return i;
    }
    if (c == '<' || c == '>') {
      length = 1;
      op = c == '<' ? Condition::Op::lt : Condition::Op::gt;
      return i;
    }
  }
  return std::string_view::npos;
}

Result<Template> operand(std::string_view text, const VarTable& vars, std::string_view whole) {
  text = text::trim(text);
  if (text.empty()) {
    return invalid("condition '" + std::string(whole) +
                   "' has an empty operand (write '' for the empty string)");
  }
  if (text.size() >= 2 && (text.front() == '\'' || text.front() == '"') &&
      text.back() == text.front()) {
    text = text.substr(1, text.size() - 2);
  }
  auto t = Template::compile(text, vars);
  if (!t.ok()) {
    return invalid("condition '" + std::string(whole) + "': " + t.error().message);
  }
  return t;
}

}  // namespace

Result<Condition> Condition::compile(std::string_view text, const VarTable& vars) {
  Condition c;
  c.text = std::string(text);
  std::size_t length = 0;
  const auto at = find_operator(text, length, c.op);
  if (at == std::string_view::npos) {
    auto single = operand(text, vars, text);
    if (!single.ok()) {
      return single.error();
    }
    c.left = std::move(single.value());
    return c;
  }
  auto left = operand(text.substr(0, at), vars, text);
  if (!left.ok()) {
    return left.error();
  }
  const auto rest = text.substr(at + length);
  std::size_t second_length = 0;
  Op second{};
  if (find_operator(rest, second_length, second) != std::string_view::npos) {
    return invalid("condition '" + std::string(text) +
                   "' has more than one operator (expected LEFT OP RIGHT, OP one of == != < <= > "
                   ">=)");
  }
  auto right = operand(rest, vars, text);
  if (!right.ok()) {
    return right.error();
  }
  c.left = std::move(left.value());
  c.right = std::move(right.value());
  return c;
}

bool compare_values(std::string_view left, Condition::Op op, std::string_view right) {
  if (op == Condition::Op::truthy) {
    return !left.empty() && left != "0" && left != "false";
  }
  double a = 0;
  double b = 0;
  int order = 0;
  if (as_number(left, a) && as_number(right, b)) {
    order = a < b ? -1 : (a > b ? 1 : 0);
  } else {
    const int c = left.compare(right);
    order = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  switch (op) {
    case Condition::Op::eq:
      return order == 0;
    case Condition::Op::ne:
      return order != 0;
    case Condition::Op::lt:
      return order < 0;
    case Condition::Op::le:
      return order <= 0;
    case Condition::Op::gt:
      return order > 0;
    case Condition::Op::ge:
      return order >= 0;
    case Condition::Op::truthy:
      break;
  }
  return false;
}

bool Condition::evaluate(const RenderContext& context, std::string& left_buffer,
                         std::string& right_buffer) const {
  left_buffer.clear();
  left.render(context, left_buffer);
  if (op == Op::truthy) {
    return compare_values(left_buffer, op, {});
  }
  right_buffer.clear();
  right.render(context, right_buffer);
  return compare_values(left_buffer, op, right_buffer);
}

}  // namespace crest::load
