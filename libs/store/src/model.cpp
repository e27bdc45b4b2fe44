#include "crest/store/model.hpp"

#include <cctype>
#include <chrono>

namespace crest::store {

const char* to_string(OrderStatus status) noexcept {
  switch (status) {
    case OrderStatus::pending:
      return "pending";
    case OrderStatus::confirmed:
      return "confirmed";
    case OrderStatus::failed:
      return "failed";
  }
  return "unknown";
}

std::optional<OrderStatus> parse_order_status(std::string_view text) noexcept {
  for (const auto status : {OrderStatus::pending, OrderStatus::confirmed, OrderStatus::failed}) {
    if (text == to_string(status)) {
      return status;
    }
  }
  return std::nullopt;
}

std::int64_t to_ns(WallTime t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

WallTime from_ns(std::int64_t ns) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(ns)));
}

std::string normalize_email(std::string_view email) {
  std::string out(email);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace crest::store
