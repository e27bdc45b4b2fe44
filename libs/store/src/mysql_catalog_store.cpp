#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "mysql_internal.hpp"
#include "soci_shared.hpp"

namespace crest::store {
namespace {

using soci_shared::kProductColumns;
using soci_shared::ProductRow;

// LOCATE and ORDER BY name follow the columns' _ci collation: case-insensitive as they are.
constexpr soci_shared::SqlCatalogDialect kDialect{"LOCATE(:t2, name) > 0",
                                                  "LOCATE(:t3, description) > 0",
                                                  "(LOCATE(:rt, name) > 0)", "name ASC", false};

// `ids` are integers, so they are formatted into the statement rather than bound one by one.
std::vector<Product> load_products(soci::session& sql, const std::vector<std::int64_t>& ids) {
  std::vector<Product> out;
  if (ids.empty()) {
    return out;
  }
  ProductRow row;
  soci::statement st(sql);
  row.bind(st);
  st.alloc();
  st.prepare(fmt::format("SELECT {} FROM products WHERE id IN ({}) ORDER BY id", kProductColumns,
                         fmt::join(ids, ",")));
  st.define_and_bind();
  st.execute();
  while (st.fetch()) {
    out.push_back(row.take());
  }
  return out;
}

}  // namespace

MysqlCatalogStore::MysqlCatalogStore(MysqlDatabasePtr db, Clock& clock)
    : db_(std::move(db)), clock_(clock) {}

Result<std::vector<Category>> MysqlCatalogStore::categories() {
  return db_->impl().read(Consistency::eventual, {},
                          [](soci::session& sql) -> Result<std::vector<Category>> {
                            return soci_shared::select_categories(sql);
                          });
}

Result<ProductPage> MysqlCatalogStore::list_products(const ProductQuery& query) {
  if (auto checked = soci_shared::check_query(query); !checked.ok()) {
    return checked.error();
  }
  return db_->impl().read(Consistency::eventual, {},
                          [&](soci::session& sql) -> Result<ProductPage> {
                            return soci_shared::select_products(sql, query, kDialect);
                          });
}

Result<Product> MysqlCatalogStore::product(std::int64_t id, Consistency consistency) {
  return db_->impl().read(consistency, {}, [&](soci::session& sql) -> Result<Product> {
    auto found = load_products(sql, {id});
    if (found.empty()) {
      return Error{ErrorKind::not_found, fmt::format("product {} not found", id)};
    }
    return std::move(found.front());
  });
}

Result<std::vector<Product>> MysqlCatalogStore::products(const std::vector<std::int64_t>& ids,
                                                         Consistency consistency) {
  std::vector<std::int64_t> unique = ids;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  if (unique.empty()) {
    return std::vector<Product>{};
  }
  return db_->impl().read(consistency, {}, [&](soci::session& sql) -> Result<std::vector<Product>> {
    return load_products(sql, unique);
  });
}

Result<void> MysqlCatalogStore::reserve_stock(std::int64_t order_id,
                                              const std::vector<OrderLine>& lines) {
  // Merged per product and visited in id order, so two reservations lock rows in the same
  // order and do not deadlock each other.
  auto merged = soci_shared::merge_lines(lines);
  if (!merged.ok()) {
    return merged.error();
  }
  const auto& wanted = merged.value();
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    // The reservation row first: a concurrent retry of the same order waits on this key and
    // then finds it, so an order never reserves twice.
    soci::statement claim = (sql.prepare << "INSERT IGNORE INTO stock_reservations "
                                            "(order_id, created_at_ns) VALUES (:o, :t)",
                             soci::use(order_id), soci::use(now));
    claim.execute(true);
    if (claim.get_affected_rows() == 0) {
      return {};  // already reserved: the worker is retrying
    }
    for (const auto& [product_id, quantity] : wanted) {
      if (auto taken = soci_shared::take_stock(sql, product_id, quantity, now); !taken.ok()) {
        return taken;
      }
      sql << "INSERT INTO stock_reservation_lines (order_id, product_id, quantity) "
             "VALUES (:o, :p, :q)",
          soci::use(order_id), soci::use(product_id), soci::use(quantity);
    }
    return {};
  });
}

Result<void> MysqlCatalogStore::release_stock(std::int64_t order_id) {
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    int released = 1;
    sql << "SELECT released FROM stock_reservations WHERE order_id = :o FOR UPDATE",
        soci::use(order_id), soci::into(released);
    if (!sql.got_data() || released != 0) {
      return {};
    }
    sql << "UPDATE products p JOIN stock_reservation_lines l ON l.product_id = p.id "
           "SET p.stock = p.stock + l.quantity, p.version = p.version + 1, p.updated_at_ns = :t "
           "WHERE l.order_id = :o",
        soci::use(now), soci::use(order_id);
    sql << "UPDATE stock_reservations SET released = 1 WHERE order_id = :o", soci::use(order_id);
    return {};
  });
}

Result<void> MysqlCatalogStore::set_price(std::int64_t product_id, std::int64_t price_cents) {
  if (price_cents < 0) {
    return Error{ErrorKind::invalid_argument, "price must not be negative"};
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    return soci_shared::set_column(sql, "price_cents", product_id, price_cents, now);
  });
}

Result<void> MysqlCatalogStore::set_stock(std::int64_t product_id, std::int64_t stock) {
  if (stock < 0) {
    return Error{ErrorKind::invalid_argument, "stock must not be negative"};
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    return soci_shared::set_column(sql, "stock", product_id, stock, now);
  });
}

Result<std::int64_t> MysqlCatalogStore::insert_category(const Category& category) {
  if (category.slug.empty()) {
    return Error{ErrorKind::invalid_argument, "category slug is empty"};
  }
  return db_->impl().write([&](soci::session& sql) -> Result<std::int64_t> {
    // NULL lets AUTO_INCREMENT assign the id.
    soci::indicator id_ind = category.id == 0 ? soci::i_null : soci::i_ok;
    sql << "INSERT INTO categories (id, slug, name) VALUES (:id, :slug, :name)",
        soci::use(category.id, id_ind), soci::use(category.slug), soci::use(category.name);
    if (category.id != 0) {
      return category.id;
    }
    std::int64_t id = 0;
    sql << "SELECT LAST_INSERT_ID()", soci::into(id);
    return id;
  });
}

Result<std::int64_t> MysqlCatalogStore::insert_product(const Product& product) {
  if (auto checked = soci_shared::check_new_product(product); !checked.ok()) {
    return checked.error();
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<std::int64_t> {
    soci_shared::insert_product_row(sql, product, now);
    if (product.id != 0) {
      return product.id;
    }
    std::int64_t id = 0;
    sql << "SELECT LAST_INSERT_ID()", soci::into(id);
    return id;
  });
}

}  // namespace crest::store
