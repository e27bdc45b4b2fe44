#include <fmt/format.h>

#include "soci_shared.hpp"
#include "sql_dialect.hpp"

namespace crest::store {

SqlUserStore::SqlUserStore(SqlDatabasePtr db, Clock& clock)
    : db_(std::move(db)), dialect_(db_->dialect()), clock_(clock) {}

Result<User> SqlUserStore::create_user(std::string_view email, std::string_view name,
                                       std::string_view password_hash) {
  User user;
  user.email = normalize_email(email);
  user.name = std::string(name);
  user.password_hash = std::string(password_hash);
  user.created_at = clock_.wall_now();
  if (user.email.empty()) {
    return Error{ErrorKind::invalid_argument, "email is empty"};
  }
  const std::int64_t created_at_ns = to_ns(user.created_at);
  auto created = dialect_.write([&](soci::session& sql) -> Result<User> {
    sql << "INSERT INTO users (email, name, password_hash, created_at_ns) "
           "VALUES (:e, :n, :h, :t)",
        soci::use(user.email), soci::use(user.name), soci::use(user.password_hash),
        soci::use(created_at_ns);
    user.id = dialect_.last_insert_id(sql);
    return user;
  });
  if (!created) {
    if (created.error().kind == ErrorKind::conflict) {
      return Error{ErrorKind::conflict, "email already registered"};  // no address in logs
    }
    return created;
  }
  dialect_.record_write(user_key(user.id));
  dialect_.record_write(email_key(user.email));
  return created;
}

Result<User> SqlUserStore::user_by_email(std::string_view email, Consistency consistency) {
  const std::string key = normalize_email(email);
  const std::string recent = email_key(key);
  return dialect_.read(consistency, {recent}, [&](soci::session& sql) -> Result<User> {
    auto u = soci_shared::user_by_email(sql, key);
    if (!u) {
      return Error{ErrorKind::not_found, "no user with that email"};
    }
    return std::move(*u);
  });
}

Result<User> SqlUserStore::user_by_id(std::int64_t id, Consistency consistency) {
  const std::string recent = user_key(id);
  return dialect_.read(consistency, {recent}, [&](soci::session& sql) -> Result<User> {
    auto u = soci_shared::user_by_id(sql, id);
    if (!u) {
      return Error{ErrorKind::not_found, fmt::format("user {} not found", id)};
    }
    return std::move(*u);
  });
}

}  // namespace crest::store
