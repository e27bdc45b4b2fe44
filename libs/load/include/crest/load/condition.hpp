#pragma once
// The condition of `if:` and `loop: {while: ...}` blocks in a journey: `LEFT OP RIGHT` or a single
// operand, each side a template or a literal (docs/load.md). Compiled once with the plan;
// evaluated per VU into reused buffers, with no exception and no allocation once they have grown.
#include <cstdint>
#include <string>
#include <string_view>

#include "crest/core/error.hpp"
#include "crest/load/template.hpp"

namespace crest::load {

struct Condition {
  enum class Op : std::uint8_t { truthy, eq, ne, lt, le, gt, ge };
  std::string text;  // as written, for messages
  Template left;
  Op op = Op::truthy;
  Template right;

  // "{{ id }} != ''", "{{ count }} >= 3", "{{ env.DEBUG }}"; errors name what was expected.
  static Result<Condition> compile(std::string_view text, const VarTable& vars);

  // Numbers compare as numbers when both sides read as numbers, otherwise bytes compare; a single
  // operand is true unless it renders empty, "0" or "false". `left`/`right` are scratch buffers.
  bool evaluate(const RenderContext& context, std::string& left_buffer,
                std::string& right_buffer) const;
};

// The comparison itself, on rendered values.
bool compare_values(std::string_view left, Condition::Op op, std::string_view right);

}  // namespace crest::load
