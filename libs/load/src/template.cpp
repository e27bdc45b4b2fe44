#include "crest/load/template.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "crest/core/text.hpp"

namespace crest::load {

using text::trim;

int VarTable::find(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

int VarTable::add(std::string_view name) {
  const int found = find(name);
  if (found >= 0) {
    return found;
  }
  names_.emplace_back(name);
  return static_cast<int>(names_.size() - 1);
}

namespace {

std::string_view unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

std::vector<std::string_view> split_args(std::string_view args) {
  std::vector<std::string_view> out;
  if (trim(args).empty()) {
    return out;
  }
  std::size_t start = 0;
  char quote = 0;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const char c = args[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == ',') {
      out.push_back(trim(args.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(trim(args.substr(start)));
  return out;
}

bool parse_int(std::string_view s, std::int64_t& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

Error error(std::string message) {
  return Error{ErrorKind::invalid_argument, std::move(message)};
}

Result<Template::Segment> compile_expression(std::string_view expr, const VarTable& vars,
                                             Escape escape) {
  Template::Segment seg;
  seg.escape = escape;
  expr = trim(expr);
  if (expr.empty()) {
    return error("empty expression in {{ }}");
  }
  const auto paren = expr.find('(');
  if (paren == std::string_view::npos) {
    if (expr == "vu") {
      seg.kind = Template::Kind::vu;
      return seg;
    }
    if (expr == "iteration") {
      seg.kind = Template::Kind::iteration;
      return seg;
    }
    for (char c : expr) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_' || c == '.' || c == '-';
      if (!ok) {
        return error("invalid variable name '" + std::string(expr) + "'");
      }
    }
    seg.kind = Template::Kind::var;
    seg.slot = vars.find(expr);
    if (seg.slot < 0) {
      return error("unknown variable '" + std::string(expr) +
                   "' (expected a plan variable, -e variable, data column as feed.column, or a "
                   "value captured by an earlier step)");
    }
    return seg;
  }
  if (expr.back() != ')') {
    return error("expected ')' at the end of '" + std::string(expr) + "'");
  }
  const auto name = trim(expr.substr(0, paren));
  const auto args = split_args(expr.substr(paren + 1, expr.size() - paren - 2));
  if (name == "randint") {
    seg.kind = Template::Kind::randint;
    // A bound is an integer or a variable holding one (a captured catalogue size, say).
    const auto bound = [&vars](std::string_view arg, std::int64_t& value, int& slot) {
      if (parse_int(arg, value)) {
        return true;
      }
      slot = vars.find(arg);
      return slot >= 0;
    };
    if (args.size() != 2 || !bound(args[0], seg.low, seg.low_slot) ||
        !bound(args[1], seg.high, seg.high_slot) ||
        (seg.low_slot < 0 && seg.high_slot < 0 && seg.low > seg.high)) {
      return error(
          "randint expects two integers (or variables holding integers) low <= high, as "
          "randint(1, 10) or randint(1, product_count)");
    }
    return seg;
  }
  if (name == "pick") {
    seg.kind = Template::Kind::pick;
    if (args.empty()) {
      return error("pick expects at least one item, as pick(a, b, c)");
    }
    for (auto a : args) {
      seg.items.emplace_back(unquote(a));
    }
    return seg;
  }
  if (name == "uuid" || name == "timestamp") {
    if (!args.empty()) {
      return error(std::string(name) + "() takes no arguments");
    }
    seg.kind = name == "uuid" ? Template::Kind::uuid : Template::Kind::timestamp;
    return seg;
  }
  return error("unknown function '" + std::string(name) +
               "' (expected randint, pick, uuid or timestamp)");
}

}  // namespace

Template Template::literal(std::string text) {
  Template t;
  if (!text.empty()) {
    Segment seg;
    seg.text = std::move(text);
    t.segments_.push_back(std::move(seg));
  }
  return t;
}

Result<Template> Template::compile(std::string_view text, const VarTable& vars, Escape escape) {
  Template t;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto open = text.find("{{", pos);
    // Literal text is escaped like the values: it sits in the same JSON string or query value.
    std::string literal;
    if (open == std::string_view::npos) {
      append_escaped(literal, text.substr(pos), escape);
      t.append_literal(literal);
      break;
    }
    append_escaped(literal, text.substr(pos, open - pos), escape);
    t.append_literal(literal);
    bool raw = open + 2 < text.size() && text[open + 2] == '{';
    const auto start = open + (raw ? 3 : 2);
    const auto close = text.find(raw ? "}}}" : "}}", start);
    if (close == std::string_view::npos) {
      return error(std::string("unclosed '") + (raw ? "{{{" : "{{") + "' at offset " +
                   std::to_string(open));
    }
    auto seg =
        compile_expression(text.substr(start, close - start), vars, raw ? Escape::none : escape);
    if (!seg.ok()) {
      return seg.error();
    }
    t.segments_.push_back(std::move(seg.value()));
    pos = close + (raw ? 3 : 2);
  }
  return t;
}

void Template::append(const Template& other) {
  for (const auto& seg : other.segments_) {
    if (seg.kind == Kind::literal) {
      append_literal(seg.text);
    } else {
      segments_.push_back(seg);
    }
  }
}

void Template::append_literal(std::string_view text) {
  if (text.empty()) {
    return;
  }
  if (!segments_.empty() && segments_.back().kind == Kind::literal) {
    segments_.back().text.append(text);
    return;
  }
  Segment seg;
  seg.text = std::string(text);
  segments_.push_back(std::move(seg));
}

bool Template::is_constant() const {
  for (const auto& seg : segments_) {
    if (seg.kind != Kind::literal) {
      return false;
    }
  }
  return true;
}

void append_escaped(std::string& out, std::string_view value, Escape escape) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  switch (escape) {
    case Escape::none:
      out.append(value);
      return;
    case Escape::json:
      for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
          out.push_back('\\');
          out.push_back(c);
        } else if (c == '\n') {
          out.append("\\n");
        } else if (c == '\r') {
          out.append("\\r");
        } else if (c == '\t') {
          out.append("\\t");
        } else if (u < 0x20) {
          out.append("\\u00");
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 15]);
        } else {
          out.push_back(c);
        }
      }
      return;
    case Escape::url:
      for (char c : value) {
        const auto u = static_cast<unsigned char>(c);
        const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                                c == '~';
        if (unreserved) {
          out.push_back(c);
        } else {
          out.push_back('%');
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 15]);
        }
      }
      return;
  }
}

void Template::render(const RenderContext& ctx, std::string& out) const {
  char num[32];
  for (const auto& seg : segments_) {
    switch (seg.kind) {
      case Kind::literal:
        out.append(seg.text);
        break;
      case Kind::var:
        append_escaped(out, ctx.vars[static_cast<std::size_t>(seg.slot)], seg.escape);
        break;
      case Kind::randint: {
        // A variable bound that is not an integer reads as 0; low > high draws from [high, low].
        std::int64_t low = seg.low;
        std::int64_t high = seg.high;
        if (seg.low_slot >= 0) {
          low = 0;
          parse_int(text::trim(ctx.vars[static_cast<std::size_t>(seg.low_slot)]), low);
        }
        if (seg.high_slot >= 0) {
          high = 0;
          parse_int(text::trim(ctx.vars[static_cast<std::size_t>(seg.high_slot)]), high);
        }
        std::uniform_int_distribution<std::int64_t> dist(std::min(low, high), std::max(low, high));
        auto [end, ec] = std::to_chars(num, num + sizeof num, dist(ctx.rng));
        out.append(num, end);
        break;
      }
      case Kind::pick: {
        std::uniform_int_distribution<std::size_t> dist(0, seg.items.size() - 1);
        append_escaped(out, seg.items[dist(ctx.rng)], seg.escape);
        break;
      }
      case Kind::uuid: {
        static constexpr char kHex[] = "0123456789abcdef";
        const std::uint64_t a = ctx.rng();
        const std::uint64_t b = ctx.rng();
        unsigned char bytes[16];
        for (int i = 0; i < 8; ++i) {
          bytes[i] = static_cast<unsigned char>(a >> (i * 8));
          bytes[8 + i] = static_cast<unsigned char>(b >> (i * 8));
        }
        bytes[6] = static_cast<unsigned char>((bytes[6] & 0x0f) | 0x40);  // version 4
        bytes[8] = static_cast<unsigned char>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
        for (int i = 0; i < 16; ++i) {
          if (i == 4 || i == 6 || i == 8 || i == 10) {
            out.push_back('-');
          }
          out.push_back(kHex[bytes[i] >> 4]);
          out.push_back(kHex[bytes[i] & 15]);
        }
        break;
      }
      case Kind::timestamp: {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
        auto [end, ec] = std::to_chars(num, num + sizeof num, ms);
        out.append(num, end);
        break;
      }
      case Kind::vu: {
        auto [end, ec] = std::to_chars(num, num + sizeof num, ctx.vu);
        out.append(num, end);
        break;
      }
      case Kind::iteration: {
        auto [end, ec] = std::to_chars(num, num + sizeof num, ctx.iteration);
        out.append(num, end);
        break;
      }
    }
  }
}

std::string Template::render(const RenderContext& ctx) const {
  std::string out;
  render(ctx, out);
  return out;
}

}  // namespace crest::load
