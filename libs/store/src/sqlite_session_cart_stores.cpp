#include <fmt/format.h>

#include "sqlite_internal.hpp"

namespace crest::store {

SqliteSessionStore::SqliteSessionStore(SqliteDatabasePtr db, Clock& clock)
    : db_(std::move(db)), clock_(clock) {}

Result<void> SqliteSessionStore::put(const Session& session) {
  if (session.token.empty()) {
    return Error{ErrorKind::invalid_argument, "session token is empty"};
  }
  const std::int64_t expires_at_ns = to_ns(session.expires_at);
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    sql << "INSERT INTO sessions (token, user_id, expires_at_ns) VALUES (:t, :u, :e) "
           "ON CONFLICT (token) DO UPDATE SET user_id = excluded.user_id, "
           "expires_at_ns = excluded.expires_at_ns",
        soci::use(session.token), soci::use(session.user_id), soci::use(expires_at_ns);
    return {};
  });
}

Result<Session> SqliteSessionStore::get(std::string_view token) {
  const std::string key(token);
  const WallTime now = clock_.wall_now();
  return db_->impl().read([&](soci::session& sql) -> Result<Session> {
    Session s;
    std::int64_t expires_at_ns = 0;
    sql << "SELECT token, user_id, expires_at_ns FROM sessions WHERE token = :t", soci::use(key),
        soci::into(s.token), soci::into(s.user_id), soci::into(expires_at_ns);
    s.expires_at = from_ns(expires_at_ns);
    if (!sql.got_data() || s.expires_at <= now) {
      return Error{ErrorKind::not_found, "no such session"};  // never echo the token
    }
    return s;
  });
}

Result<void> SqliteSessionStore::erase(std::string_view token) {
  const std::string key(token);
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    sql << "DELETE FROM sessions WHERE token = :t", soci::use(key);
    return {};
  });
}

SqliteCartStore::SqliteCartStore(SqliteDatabasePtr db) : db_(std::move(db)) {}

namespace {

Cart load_cart(soci::session& sql, std::int64_t user_id) {
  Cart cart;
  cart.user_id = user_id;
  CartLine line;
  soci::statement st = (sql.prepare << "SELECT product_id, quantity FROM cart_items "
                                       "WHERE user_id = :u ORDER BY product_id",
                        soci::use(user_id), soci::into(line.product_id), soci::into(line.quantity));
  st.execute();
  while (st.fetch()) {
    cart.lines.push_back(line);
  }
  return cart;
}

}  // namespace

Result<Cart> SqliteCartStore::get(std::int64_t user_id) {
  return db_->impl().read(
      [&](soci::session& sql) -> Result<Cart> { return load_cart(sql, user_id); });
}

Result<Cart> SqliteCartStore::add_item(std::int64_t user_id, std::int64_t product_id,
                                       std::int64_t quantity, std::int64_t max_line_quantity) {
  if (quantity <= 0) {
    return Error{ErrorKind::invalid_argument, "quantity must be positive"};
  }
  if (quantity > max_line_quantity) {
    return Error{ErrorKind::conflict,
                 fmt::format("a cart line holds at most {} units", max_line_quantity)};
  }
  return db_->impl().write([&](soci::session& sql) -> Result<Cart> {
    // One upsert statement: the increment happens inside the database, so no update is lost,
    // and the limit is checked on the sum it makes.
    soci::statement st =
        (sql.prepare
             << "INSERT INTO cart_items (user_id, product_id, quantity) VALUES (:u, :p, :q) "
                "ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = quantity + "
                "excluded.quantity WHERE quantity + excluded.quantity <= :m",
         soci::use(user_id), soci::use(product_id), soci::use(quantity),
         soci::use(max_line_quantity));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return Error{ErrorKind::conflict,
                   fmt::format("a cart line holds at most {} units", max_line_quantity)};
    }
    return load_cart(sql, user_id);
  });
}

Result<Cart> SqliteCartStore::set_quantity(std::int64_t user_id, std::int64_t product_id,
                                           std::int64_t quantity) {
  if (quantity < 0) {
    return Error{ErrorKind::invalid_argument, "quantity must not be negative"};
  }
  return db_->impl().write([&](soci::session& sql) -> Result<Cart> {
    if (quantity == 0) {
      sql << "DELETE FROM cart_items WHERE user_id = :u AND product_id = :p", soci::use(user_id),
          soci::use(product_id);
    } else {
      sql << "INSERT INTO cart_items (user_id, product_id, quantity) VALUES (:u, :p, :q) "
             "ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = excluded.quantity",
          soci::use(user_id), soci::use(product_id), soci::use(quantity);
    }
    return load_cart(sql, user_id);
  });
}

Result<Cart> SqliteCartStore::remove_item(std::int64_t user_id, std::int64_t product_id) {
  return db_->impl().write([&](soci::session& sql) -> Result<Cart> {
    soci::statement st =
        (sql.prepare << "DELETE FROM cart_items WHERE user_id = :u AND product_id = :p",
         soci::use(user_id), soci::use(product_id));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return Error{ErrorKind::not_found, fmt::format("product {} is not in the cart", product_id)};
    }
    return load_cart(sql, user_id);
  });
}

Result<void> SqliteCartStore::clear(std::int64_t user_id) {
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    sql << "DELETE FROM cart_items WHERE user_id = :u", soci::use(user_id);
    sql << "DELETE FROM cart_claims WHERE user_id = :u", soci::use(user_id);
    return {};
  });
}

Result<void> SqliteCartStore::claim_lines(std::int64_t user_id, const std::string& idempotency_key,
                                          const std::vector<CartLine>& lines, WallTime now) {
  if (lines.empty()) {
    return Error{ErrorKind::invalid_argument, "a claim needs at least one line"};
  }
  const std::int64_t now_ns = to_ns(now);
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    int held = 0;
    sql << "SELECT COUNT(*) FROM cart_claims WHERE user_id = :u AND idempotency_key = :k",
        soci::use(user_id), soci::use(idempotency_key), soci::into(held);
    if (held > 0) {
      return Error{ErrorKind::conflict, "this checkout already holds a claim on the cart"};
    }
    for (const auto& line : lines) {
      // The whole line, or part of a line raised meanwhile; any error rolls every line back.
      soci::statement whole =
          (sql.prepare << "DELETE FROM cart_items WHERE user_id = :u AND product_id = :p AND "
                          "quantity = :q",
           soci::use(user_id), soci::use(line.product_id), soci::use(line.quantity));
      whole.execute(true);
      if (whole.get_affected_rows() == 0) {
        soci::statement part =
            (sql.prepare << "UPDATE cart_items SET quantity = quantity - :q WHERE user_id = :u "
                            "AND product_id = :p AND quantity > :q2",
             soci::use(line.quantity), soci::use(user_id), soci::use(line.product_id),
             soci::use(line.quantity));
        part.execute(true);
        if (part.get_affected_rows() == 0) {
          return Error{ErrorKind::conflict,
                       fmt::format("cart_changed: product {} no longer has {} in the cart",
                                   line.product_id, line.quantity)};
        }
      }
      sql << "INSERT INTO cart_claims (user_id, idempotency_key, product_id, quantity, "
             "claimed_at_ns) VALUES (:u, :k, :p, :q, :t)",
          soci::use(user_id), soci::use(idempotency_key), soci::use(line.product_id),
          soci::use(line.quantity), soci::use(now_ns);
    }
    return {};
  });
}

Result<std::vector<CartClaim>> SqliteCartStore::claims(std::int64_t user_id) {
  return db_->impl().read([&](soci::session& sql) -> Result<std::vector<CartClaim>> {
    std::vector<CartClaim> out;
    std::string key;
    CartLine line;
    std::int64_t claimed_at = 0;
    soci::statement st =
        (sql.prepare << "SELECT idempotency_key, product_id, quantity, claimed_at_ns FROM "
                        "cart_claims WHERE user_id = :u ORDER BY claimed_at_ns, idempotency_key, "
                        "product_id",
         soci::use(user_id), soci::into(key), soci::into(line.product_id),
         soci::into(line.quantity), soci::into(claimed_at));
    st.execute();
    while (st.fetch()) {
      if (out.empty() || out.back().idempotency_key != key) {
        out.push_back(CartClaim{key, {}, from_ns(claimed_at)});
      }
      out.back().lines.push_back(line);
    }
    return out;
  });
}

Result<void> SqliteCartStore::drop_claim(std::int64_t user_id, const std::string& idempotency_key) {
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    sql << "DELETE FROM cart_claims WHERE user_id = :u AND idempotency_key = :k",
        soci::use(user_id), soci::use(idempotency_key);
    return {};
  });
}

Result<void> SqliteCartStore::return_claim(std::int64_t user_id,
                                           const std::string& idempotency_key) {
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    soci::statement back =
        (sql.prepare << "INSERT INTO cart_items (user_id, product_id, quantity) "
                        "SELECT user_id, product_id, quantity FROM cart_claims "
                        "WHERE user_id = :u AND idempotency_key = :k "
                        "ON CONFLICT (user_id, product_id) DO UPDATE SET quantity = quantity + "
                        "excluded.quantity",
         soci::use(user_id), soci::use(idempotency_key));
    back.execute(true);
    if (back.get_affected_rows() == 0) {
      return Error{ErrorKind::not_found, "no such claim on the cart"};
    }
    sql << "DELETE FROM cart_claims WHERE user_id = :u AND idempotency_key = :k",
        soci::use(user_id), soci::use(idempotency_key);
    return {};
  });
}

}  // namespace crest::store
