#pragma once
// Port: registered users.
#include <cstdint>
#include <memory>
#include <string_view>

#include "crest/core/error.hpp"
#include "crest/store/model.hpp"

namespace crest::store {

class UserStore {
 public:
  virtual ~UserStore() = default;

  // The email is normalised (normalize_email) before storing; conflict if it already exists
  // in any letter case.
  virtual Result<User> create_user(std::string_view email, std::string_view name,
                                   std::string_view password_hash) = 0;
  // Case-insensitive; not_found if absent. Login right after registration wants `strong`.
  virtual Result<User> user_by_email(std::string_view email,
                                     Consistency consistency = Consistency::eventual) = 0;
  virtual Result<User> user_by_id(std::int64_t id,
                                  Consistency consistency = Consistency::eventual) = 0;
};

using UserStorePtr = std::unique_ptr<UserStore>;

}  // namespace crest::store
