#pragma once
// Request templates: "{{ var }}", "{{ feed.column }}", "{{ randint(1, 10) }}", "{{ pick(a, b) }}",
// "{{ uuid() }}", "{{ timestamp() }}", "{{ vu }}", "{{ iteration }}", "{{ env.NAME }}" (a
// variable the plan parser fills from -e or the process environment). Compiled once when the plan
// is loaded (variable names become slot indices), rendered per request into a reused buffer, so
// rendering neither hashes names nor allocates once the buffer has grown.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "crest/core/error.hpp"

namespace crest::load {

// The names a plan can refer to, each given a slot in a virtual user's variable array.
class VarTable {
 public:
  int find(std::string_view name) const;  // -1 when unknown
  int add(std::string_view name);         // existing slot or a new one
  std::size_t size() const { return names_.size(); }
  const std::string& name(int slot) const { return names_[static_cast<std::size_t>(slot)]; }

 private:
  std::vector<std::string> names_;
};

enum class Escape : std::uint8_t { none, json, url };

// A virtual user's random numbers: SplitMix64 (Steele, Lea and Flood, 2014), 8 bytes of state.
// std::mt19937_64 carries 2.5 KiB, which at 50 000 VUs is 125 MB and a cache miss per use.
class Rng {
 public:
  using result_type = std::uint64_t;
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  result_type operator()() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

struct RenderContext {
  const std::vector<std::string>& vars;
  Rng& rng;
  std::uint64_t vu = 0;
  std::uint64_t iteration = 0;
};

class Template {
 public:
  enum class Kind : std::uint8_t { literal, var, randint, pick, uuid, timestamp, vu, iteration };
  struct Segment {
    Kind kind = Kind::literal;
    Escape escape = Escape::none;
    std::string text;                // literal text
    int slot = -1;                   // var
    std::int64_t low = 0, high = 0;  // randint
    int low_slot = -1,
        high_slot = -1;              // randint bounds read from variables ("{{ randint(1, n) }}")
    std::vector<std::string> items;  // pick
  };

  Template() = default;
  static Template literal(std::string text);

  // Compiles text; unknown variables and malformed expressions are errors naming the problem.
  static Result<Template> compile(std::string_view text, const VarTable& vars,
                                  Escape escape = Escape::none);

  void append(const Template& other);
  void append_literal(std::string_view text);

  void render(const RenderContext& ctx, std::string& out) const;  // appends to out
  std::string render(const RenderContext& ctx) const;

  bool is_constant() const;
  bool empty() const { return segments_.empty(); }
  const std::vector<Segment>& segments() const { return segments_; }

 private:
  std::vector<Segment> segments_;
};

void append_escaped(std::string& out, std::string_view value, Escape escape);

}  // namespace crest::load
