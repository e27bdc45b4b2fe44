#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "soci_shared.hpp"
#include "sql_dialect.hpp"

namespace crest::store {
namespace {

using soci_shared::kProductColumns;
using soci_shared::ProductRow;

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

SqlCatalogStore::SqlCatalogStore(SqlDatabasePtr db, Clock& clock)
    : db_(std::move(db)), dialect_(db_->dialect()), clock_(clock) {}

Result<std::vector<Category>> SqlCatalogStore::categories() {
  return dialect_.read(Consistency::eventual, {},
                       [](soci::session& sql) -> Result<std::vector<Category>> {
                         return soci_shared::select_categories(sql);
                       });
}

Result<ProductPage> SqlCatalogStore::list_products(const ProductQuery& query) {
  if (auto checked = soci_shared::check_query(query); !checked.ok()) {
    return checked.error();
  }
  return dialect_.read(Consistency::eventual, {}, [&](soci::session& sql) -> Result<ProductPage> {
    return soci_shared::select_products(sql, query, dialect_.fragments.search);
  });
}

Result<Product> SqlCatalogStore::product(std::int64_t id, Consistency consistency) {
  return dialect_.read(consistency, {}, [&](soci::session& sql) -> Result<Product> {
    auto found = load_products(sql, {id});
    if (found.empty()) {
      return Error{ErrorKind::not_found, fmt::format("product {} not found", id)};
    }
    return std::move(found.front());
  });
}

Result<std::vector<Product>> SqlCatalogStore::products(const std::vector<std::int64_t>& ids,
                                                       Consistency consistency) {
  std::vector<std::int64_t> unique = ids;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  if (unique.empty()) {
    return std::vector<Product>{};
  }
  return dialect_.read(consistency, {}, [&](soci::session& sql) -> Result<std::vector<Product>> {
    return load_products(sql, unique);
  });
}

Result<void> SqlCatalogStore::reserve_stock(std::int64_t order_id,
                                            const std::vector<OrderLine>& lines) {
  // Merged per product and visited in id order, so two reservations lock rows in the same
  // order and do not deadlock each other.
  auto merged = soci_shared::merge_lines(lines);
  if (!merged.ok()) {
    return merged.error();
  }
  const auto& wanted = merged.value();
  const std::int64_t now = to_ns(clock_.wall_now());
  return dialect_.write([&](soci::session& sql) -> Result<void> {
    // The reservation row first: a concurrent retry of the same order waits on this key and
    // then finds it, so an order never reserves twice. A shortage rolls the claim back.
    soci::statement claim =
        (sql.prepare << fmt::format("{} stock_reservations (order_id, created_at_ns) "
                                    "VALUES (:o, :t)",
                                    dialect_.fragments.insert_ignore_into),
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

Result<void> SqlCatalogStore::release_stock(std::int64_t order_id) {
  const std::int64_t now = to_ns(clock_.wall_now());
  return dialect_.write([&](soci::session& sql) -> Result<void> {
    int released = 1;
    sql << fmt::format("SELECT released FROM stock_reservations WHERE order_id = :o{}",
                       dialect_.fragments.lock_rows),
        soci::use(order_id), soci::into(released);
    if (!sql.got_data() || released != 0) {
      return {};
    }
    dialect_.put_back_reserved_stock(sql, order_id, now);
    sql << "UPDATE stock_reservations SET released = 1 WHERE order_id = :o", soci::use(order_id);
    return {};
  });
}

Result<void> SqlCatalogStore::set_price(std::int64_t product_id, std::int64_t price_cents) {
  if (price_cents < 0) {
    return Error{ErrorKind::invalid_argument, "price must not be negative"};
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return dialect_.write([&](soci::session& sql) -> Result<void> {
    return soci_shared::set_column(sql, "price_cents", product_id, price_cents, now);
  });
}

Result<void> SqlCatalogStore::set_stock(std::int64_t product_id, std::int64_t stock) {
  if (stock < 0) {
    return Error{ErrorKind::invalid_argument, "stock must not be negative"};
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return dialect_.write([&](soci::session& sql) -> Result<void> {
    return soci_shared::set_column(sql, "stock", product_id, stock, now);
  });
}

Result<std::int64_t> SqlCatalogStore::insert_category(const Category& category) {
  if (category.slug.empty()) {
    return Error{ErrorKind::invalid_argument, "category slug is empty"};
  }
  return dialect_.write([&](soci::session& sql) -> Result<std::int64_t> {
    // NULL lets the database assign the id.
    soci::indicator id_ind = category.id == 0 ? soci::i_null : soci::i_ok;
    sql << "INSERT INTO categories (id, slug, name) VALUES (:id, :slug, :name)",
        soci::use(category.id, id_ind), soci::use(category.slug), soci::use(category.name);
    return category.id != 0 ? category.id : dialect_.last_insert_id(sql);
  });
}

Result<std::int64_t> SqlCatalogStore::insert_product(const Product& product) {
  if (auto checked = soci_shared::check_new_product(product); !checked.ok()) {
    return checked.error();
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return dialect_.write([&](soci::session& sql) -> Result<std::int64_t> {
    soci_shared::insert_product_row(sql, product, now);
    return product.id != 0 ? product.id : dialect_.last_insert_id(sql);
  });
}

}  // namespace crest::store
