#include <algorithm>

#include <fmt/format.h>

#include "soci_shared.hpp"
#include "sqlite_internal.hpp"

namespace crest::store {
namespace {

using soci_shared::kProductColumns;
using soci_shared::ProductRow;

constexpr soci_shared::SqlCatalogDialect kDialect{
    "instr(lower(name), :t2) > 0", "instr(lower(description), :t3) > 0",
    "(instr(lower(name), :rt) > 0)", "name COLLATE NOCASE ASC",
    true};  // lower() and a lower-cased text: ASCII case-insensitive

std::optional<Product> load_product(soci::session& sql, std::int64_t id) {
  ProductRow row;
  soci::statement st(sql);
  row.bind(st);
  st.exchange(soci::use(id));
  st.alloc();
  st.prepare(fmt::format("SELECT {} FROM products WHERE id = :id", kProductColumns));
  st.define_and_bind();
  if (!st.execute(true)) {
    return std::nullopt;
  }
  return row.take();
}

}  // namespace

SqliteCatalogStore::SqliteCatalogStore(SqliteDatabasePtr db, Clock& clock)
    : db_(std::move(db)), clock_(clock) {}

Result<std::vector<Category>> SqliteCatalogStore::categories() {
  return db_->impl().read([](soci::session& sql) -> Result<std::vector<Category>> {
    return soci_shared::select_categories(sql);
  });
}

Result<ProductPage> SqliteCatalogStore::list_products(const ProductQuery& query) {
  if (auto checked = soci_shared::check_query(query); !checked.ok()) {
    return checked.error();
  }
  return db_->impl().read([&](soci::session& sql) -> Result<ProductPage> {
    return soci_shared::select_products(sql, query, kDialect);
  });
}

Result<Product> SqliteCatalogStore::product(std::int64_t id, Consistency /*consistency*/) {
  return db_->impl().read([&](soci::session& sql) -> Result<Product> {
    auto p = load_product(sql, id);
    if (!p) {
      return Error{ErrorKind::not_found, fmt::format("product {} not found", id)};
    }
    return std::move(*p);
  });
}

Result<std::vector<Product>> SqliteCatalogStore::products(const std::vector<std::int64_t>& ids,
                                                          Consistency /*consistency*/) {
  std::vector<std::int64_t> unique = ids;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  return db_->impl().read([&](soci::session& sql) -> Result<std::vector<Product>> {
    std::vector<Product> out;
    for (const std::int64_t id : unique) {
      if (auto p = load_product(sql, id)) {
        out.push_back(std::move(*p));
      }
    }
    return out;
  });
}

Result<void> SqliteCatalogStore::reserve_stock(std::int64_t order_id,
                                               const std::vector<OrderLine>& lines) {
  // Merge repeated products so each is checked against its total.
  auto merged = soci_shared::merge_lines(lines);
  if (!merged.ok()) {
    return merged.error();
  }
  const auto& wanted = merged.value();
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    int seen = 0;
    sql << "SELECT COUNT(*) FROM stock_reservations WHERE order_id = :o", soci::use(order_id),
        soci::into(seen);
    if (seen > 0) {
      return {};  // already reserved: the worker is retrying
    }
    for (const auto& [product_id, quantity] : wanted) {
      if (auto taken = soci_shared::take_stock(sql, product_id, quantity, now); !taken.ok()) {
        return taken;
      }
    }
    sql << "INSERT INTO stock_reservations (order_id, created_at_ns) VALUES (:o, :t)",
        soci::use(order_id), soci::use(now);
    for (const auto& [product_id, quantity] : wanted) {
      sql << "INSERT INTO stock_reservation_lines (order_id, product_id, quantity) "
             "VALUES (:o, :p, :q)",
          soci::use(order_id), soci::use(product_id), soci::use(quantity);
    }
    return {};
  });
}

Result<void> SqliteCatalogStore::release_stock(std::int64_t order_id) {
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    int released = 1;
    sql << "SELECT released FROM stock_reservations WHERE order_id = :o", soci::use(order_id),
        soci::into(released);
    if (!sql.got_data() || released != 0) {
      return {};
    }
    sql << "UPDATE products SET stock = stock + (SELECT quantity FROM stock_reservation_lines l "
           "WHERE l.order_id = :o1 AND l.product_id = products.id), version = version + 1, "
           "updated_at_ns = :t WHERE id IN (SELECT product_id FROM stock_reservation_lines "
           "WHERE order_id = :o2)",
        soci::use(order_id), soci::use(now), soci::use(order_id);
    sql << "UPDATE stock_reservations SET released = 1 WHERE order_id = :o", soci::use(order_id);
    return {};
  });
}

Result<void> SqliteCatalogStore::set_price(std::int64_t product_id, std::int64_t price_cents) {
  if (price_cents < 0) {
    return Error{ErrorKind::invalid_argument, "price must not be negative"};
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    return soci_shared::set_column(sql, "price_cents", product_id, price_cents, now);
  });
}

Result<void> SqliteCatalogStore::set_stock(std::int64_t product_id, std::int64_t stock) {
  if (stock < 0) {
    return Error{ErrorKind::invalid_argument, "stock must not be negative"};
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    return soci_shared::set_column(sql, "stock", product_id, stock, now);
  });
}

Result<std::int64_t> SqliteCatalogStore::insert_category(const Category& category) {
  if (category.slug.empty()) {
    return Error{ErrorKind::invalid_argument, "category slug is empty"};
  }
  return db_->impl().write([&](soci::session& sql) -> Result<std::int64_t> {
    // NULL id lets SQLite assign one.
    soci::indicator id_ind = category.id == 0 ? soci::i_null : soci::i_ok;
    sql << "INSERT INTO categories (id, slug, name) VALUES (:id, :slug, :name)",
        soci::use(category.id, id_ind), soci::use(category.slug), soci::use(category.name);
    std::int64_t id = 0;
    sql << "SELECT last_insert_rowid()", soci::into(id);
    return id;
  });
}

Result<std::int64_t> SqliteCatalogStore::insert_product(const Product& product) {
  if (auto checked = soci_shared::check_new_product(product); !checked.ok()) {
    return checked.error();
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<std::int64_t> {
    soci_shared::insert_product_row(sql, product, now);
    std::int64_t id = 0;
    sql << "SELECT last_insert_rowid()", soci::into(id);
    return id;
  });
}

}  // namespace crest::store
