#include <fmt/format.h>

#include "mysql_internal.hpp"

namespace crest::store {
namespace {

using mysql_detail::from_ns;
using mysql_detail::to_ns;

std::optional<User> load_user(soci::session& sql, const char* where, auto key) {
  User u;
  std::int64_t created_at_ns = 0;
  sql << fmt::format("SELECT id, email, name, password_hash, created_at_ns FROM users WHERE {}",
                     where),
      soci::use(key), soci::into(u.id), soci::into(u.email), soci::into(u.name),
      soci::into(u.password_hash), soci::into(created_at_ns);
  if (!sql.got_data()) {
    return std::nullopt;
  }
  u.created_at = from_ns(created_at_ns);
  return u;
}

std::string user_key(std::int64_t id) {
  return fmt::format("user:{}", id);
}
std::string email_key(const std::string& email) {
  return "email:" + email;
}

}  // namespace

MysqlUserStore::MysqlUserStore(MysqlDatabasePtr db, Clock& clock)
    : db_(std::move(db)), clock_(clock) {}

Result<User> MysqlUserStore::create_user(std::string_view email, std::string_view name,
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
  auto created = db_->impl().write([&](soci::session& sql) -> Result<User> {
    sql << "INSERT INTO users (email, name, password_hash, created_at_ns) "
           "VALUES (:e, :n, :h, :t)",
        soci::use(user.email), soci::use(user.name), soci::use(user.password_hash),
        soci::use(created_at_ns);
    sql << "SELECT LAST_INSERT_ID()", soci::into(user.id);
    return user;
  });
  if (!created) {
    if (created.error().kind == ErrorKind::conflict) {
      return Error{ErrorKind::conflict, "email already registered"};  // no address in logs
    }
    return created;
  }
  auto& router = db_->impl().router;
  router.record_write(user_key(user.id));
  router.record_write(email_key(user.email));
  return created;
}

Result<User> MysqlUserStore::user_by_email(std::string_view email, Consistency consistency) {
  const std::string key = normalize_email(email);
  const std::string recent = email_key(key);
  return db_->impl().read(consistency, {recent}, [&](soci::session& sql) -> Result<User> {
    auto u = load_user(sql, "email = :e", key);
    if (!u) {
      return Error{ErrorKind::not_found, "no user with that email"};
    }
    return std::move(*u);
  });
}

Result<User> MysqlUserStore::user_by_id(std::int64_t id, Consistency consistency) {
  const std::string recent = user_key(id);
  return db_->impl().read(consistency, {recent}, [&](soci::session& sql) -> Result<User> {
    auto u = load_user(sql, "id = :id", id);
    if (!u) {
      return Error{ErrorKind::not_found, fmt::format("user {} not found", id)};
    }
    return std::move(*u);
  });
}

}  // namespace crest::store
