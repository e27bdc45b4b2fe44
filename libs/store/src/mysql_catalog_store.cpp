#include <algorithm>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "mysql_internal.hpp"

namespace crest::store {
namespace {

using mysql_detail::from_ns;
using mysql_detail::to_ns;

constexpr const char* kProductColumns =
    "id, category_id, sku, name, description, price_cents, stock, version, updated_at_ns";

// Binds the output columns of kProductColumns to `row`; fetch() refills it.
struct ProductRow {
  Product product;
  std::int64_t updated_at_ns = 0;

  void bind(soci::statement& st) {
    st.exchange(soci::into(product.id));
    st.exchange(soci::into(product.category_id));
    st.exchange(soci::into(product.sku));
    st.exchange(soci::into(product.name));
    st.exchange(soci::into(product.description));
    st.exchange(soci::into(product.price_cents));
    st.exchange(soci::into(product.stock));
    st.exchange(soci::into(product.version));
    st.exchange(soci::into(updated_at_ns));
  }
  Product take() {
    product.updated_at = from_ns(updated_at_ns);
    return product;
  }
};

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

const char* order_by(ProductSort sort, bool has_text) {
  switch (sort) {
    case ProductSort::price_asc:
      return "price_cents ASC, id ASC";
    case ProductSort::price_desc:
      return "price_cents DESC, id ASC";
    case ProductSort::name_asc:
      return "name ASC, id ASC";  // the column's _ci collation: case-insensitive
    case ProductSort::newest:
      return "id DESC";
    case ProductSort::relevance_or_id:
      break;
  }
  // A match in the name ranks above a match only in the description.
  return has_text ? "(LOCATE(:rt, name) > 0) DESC, id ASC" : "id ASC";
}

Result<void> check_changed(soci::statement& st, std::int64_t product_id) {
  if (st.get_affected_rows() == 0) {
    return Error{ErrorKind::not_found, fmt::format("product {} not found", product_id)};
  }
  return {};
}

}  // namespace

MysqlCatalogStore::MysqlCatalogStore(MysqlDatabasePtr db, Clock& clock)
    : db_(std::move(db)), clock_(clock) {}

Result<std::vector<Category>> MysqlCatalogStore::categories() {
  return db_->impl().read(
      Consistency::eventual, {}, [](soci::session& sql) -> Result<std::vector<Category>> {
        std::vector<Category> out;
        Category c;
        soci::statement st = (sql.prepare << "SELECT id, slug, name FROM categories ORDER BY id",
                              soci::into(c.id), soci::into(c.slug), soci::into(c.name));
        st.execute();
        while (st.fetch()) {
          out.push_back(c);
        }
        return out;
      });
}

Result<ProductPage> MysqlCatalogStore::list_products(const ProductQuery& query) {
  if (query.page < 1) {
    return Error{ErrorKind::invalid_argument, "page must be at least 1"};
  }
  if (query.page_size < 1 || query.page_size > ProductQuery::max_page_size) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("page_size must be 1..{}", ProductQuery::max_page_size)};
  }
  return db_->impl().read(
      Consistency::eventual, {}, [&](soci::session& sql) -> Result<ProductPage> {
        const int has_category = query.category_id.has_value() ? 1 : 0;
        const std::int64_t category = query.category_id.value_or(0);
        const std::string& text = query.text;  // LOCATE follows the _ci collation
        // Values are always bound; only fixed fragments are chosen in code.
        const char* where =
            "WHERE (:hc = 0 OR category_id = :c) AND (:t1 = '' OR LOCATE(:t2, name) > 0 OR "
            "LOCATE(:t3, description) > 0)";
        ProductPage page;
        page.page = query.page;
        page.page_size = query.page_size;
        sql << fmt::format("SELECT COUNT(*) FROM products {}", where), soci::use(has_category),
            soci::use(category), soci::use(text), soci::use(text), soci::use(text),
            soci::into(page.total);

        const bool relevance = query.sort == ProductSort::relevance_or_id && !text.empty();
        const std::int64_t limit = query.page_size;
        const std::int64_t offset = static_cast<std::int64_t>(query.page - 1) * query.page_size;
        ProductRow row;
        soci::statement st(sql);
        row.bind(st);
        st.exchange(soci::use(has_category));
        st.exchange(soci::use(category));
        st.exchange(soci::use(text));
        st.exchange(soci::use(text));
        st.exchange(soci::use(text));
        if (relevance) {
          st.exchange(soci::use(text));
        }
        st.exchange(soci::use(limit));
        st.exchange(soci::use(offset));
        st.alloc();
        st.prepare(fmt::format("SELECT {} FROM products {} ORDER BY {} LIMIT :lim OFFSET :off",
                               kProductColumns, where, order_by(query.sort, !text.empty())));
        st.define_and_bind();
        st.execute();
        while (st.fetch()) {
          page.items.push_back(row.take());
        }
        return page;
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
  std::map<std::int64_t, std::int64_t> wanted;
  for (const auto& line : lines) {
    if (line.quantity <= 0) {
      return Error{ErrorKind::invalid_argument,
                   fmt::format("quantity for product {} must be positive", line.product_id)};
    }
    wanted[line.product_id] += line.quantity;
  }
  if (wanted.empty()) {
    return Error{ErrorKind::invalid_argument, "a reservation needs at least one line"};
  }
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
      // The guard in the WHERE clause is what keeps stock from going negative.
      soci::statement st =
          (sql.prepare << "UPDATE products SET stock = stock - :q, version = version + 1, "
                          "updated_at_ns = :t WHERE id = :id AND stock >= :q2",
           soci::use(quantity), soci::use(now), soci::use(product_id), soci::use(quantity));
      st.execute(true);
      if (st.get_affected_rows() == 0) {
        std::int64_t stock = 0;
        sql << "SELECT stock FROM products WHERE id = :id", soci::use(product_id),
            soci::into(stock);
        if (!sql.got_data()) {
          return Error{ErrorKind::not_found, fmt::format("product {} not found", product_id)};
        }
        return Error{ErrorKind::conflict,
                     fmt::format("insufficient stock for product {}: {} wanted, {} left",
                                 product_id, quantity, stock)};
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
    soci::statement st = (sql.prepare << "UPDATE products SET price_cents = :p, version = "
                                         "version + 1, updated_at_ns = :t WHERE id = :id",
                          soci::use(price_cents), soci::use(now), soci::use(product_id));
    st.execute(true);
    return check_changed(st, product_id);
  });
}

Result<void> MysqlCatalogStore::set_stock(std::int64_t product_id, std::int64_t stock) {
  if (stock < 0) {
    return Error{ErrorKind::invalid_argument, "stock must not be negative"};
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    soci::statement st = (sql.prepare << "UPDATE products SET stock = :s, version = "
                                         "version + 1, updated_at_ns = :t WHERE id = :id",
                          soci::use(stock), soci::use(now), soci::use(product_id));
    st.execute(true);
    return check_changed(st, product_id);
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
  if (product.sku.empty()) {
    return Error{ErrorKind::invalid_argument, "product sku is empty"};
  }
  if (product.price_cents < 0 || product.stock < 0) {
    return Error{ErrorKind::invalid_argument, "price and stock must not be negative"};
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<std::int64_t> {
    soci::indicator id_ind = product.id == 0 ? soci::i_null : soci::i_ok;
    const std::int64_t version = std::max<std::int64_t>(product.version, 1);
    sql << "INSERT INTO products (id, category_id, sku, name, description, price_cents, stock, "
           "version, updated_at_ns) VALUES (:id, :c, :sku, :n, :d, :p, :s, :v, :t)",
        soci::use(product.id, id_ind), soci::use(product.category_id), soci::use(product.sku),
        soci::use(product.name), soci::use(product.description), soci::use(product.price_cents),
        soci::use(product.stock), soci::use(version), soci::use(now);
    if (product.id != 0) {
      return product.id;
    }
    std::int64_t id = 0;
    sql << "SELECT LAST_INSERT_ID()", soci::into(id);
    return id;
  });
}

}  // namespace crest::store
