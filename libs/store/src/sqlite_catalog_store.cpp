#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "sqlite_internal.hpp"

namespace crest::store {
namespace {

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

const char* order_by(ProductSort sort, bool has_text) {
  switch (sort) {
    case ProductSort::price_asc:
      return "price_cents ASC, id ASC";
    case ProductSort::price_desc:
      return "price_cents DESC, id ASC";
    case ProductSort::name_asc:
      return "name COLLATE NOCASE ASC, id ASC";
    case ProductSort::newest:
      return "id DESC";
    case ProductSort::relevance_or_id:
      break;
  }
  // A match in the name ranks above a match only in the description.
  return has_text ? "(instr(lower(name), :rt) > 0) DESC, id ASC" : "id ASC";
}

}  // namespace

SqliteCatalogStore::SqliteCatalogStore(SqliteDatabasePtr db, Clock& clock)
    : db_(std::move(db)), clock_(clock) {}

Result<std::vector<Category>> SqliteCatalogStore::categories() {
  return db_->impl().read([](soci::session& sql) -> Result<std::vector<Category>> {
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

Result<ProductPage> SqliteCatalogStore::list_products(const ProductQuery& query) {
  if (query.page < 1) {
    return Error{ErrorKind::invalid_argument, "page must be at least 1"};
  }
  if (query.page_size < 1 || query.page_size > ProductQuery::max_page_size) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("page_size must be 1..{}", ProductQuery::max_page_size)};
  }
  return db_->impl().read([&](soci::session& sql) -> Result<ProductPage> {
    const int has_category = query.category_id.has_value() ? 1 : 0;
    const std::int64_t category = query.category_id.value_or(0);
    const std::string text = normalize_email(query.text);  // ASCII lower-case, like lower()
    // Values are always bound; only fixed fragments are chosen in code.
    const char* where =
        "WHERE (:hc = 0 OR category_id = :c) AND (:t1 = '' OR instr(lower(name), :t2) > 0 OR "
        "instr(lower(description), :t3) > 0)";
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
    int seen = 0;
    sql << "SELECT COUNT(*) FROM stock_reservations WHERE order_id = :o", soci::use(order_id),
        soci::into(seen);
    if (seen > 0) {
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
        soci::indicator ind = soci::i_null;
        sql << "SELECT stock FROM products WHERE id = :id", soci::use(product_id),
            soci::into(stock, ind);
        if (!sql.got_data()) {
          return Error{ErrorKind::not_found, fmt::format("product {} not found", product_id)};
        }
        return Error{ErrorKind::conflict,
                     fmt::format("insufficient stock for product {}: {} wanted, {} left",
                                 product_id, quantity, stock)};
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
    soci::statement st = (sql.prepare << "UPDATE products SET price_cents = :p, version = "
                                         "version + 1, updated_at_ns = :t WHERE id = :id",
                          soci::use(price_cents), soci::use(now), soci::use(product_id));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return Error{ErrorKind::not_found, fmt::format("product {} not found", product_id)};
    }
    return {};
  });
}

Result<void> SqliteCatalogStore::set_stock(std::int64_t product_id, std::int64_t stock) {
  if (stock < 0) {
    return Error{ErrorKind::invalid_argument, "stock must not be negative"};
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    soci::statement st = (sql.prepare << "UPDATE products SET stock = :s, version = "
                                         "version + 1, updated_at_ns = :t WHERE id = :id",
                          soci::use(stock), soci::use(now), soci::use(product_id));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return Error{ErrorKind::not_found, fmt::format("product {} not found", product_id)};
    }
    return {};
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
    std::int64_t id = 0;
    sql << "SELECT last_insert_rowid()", soci::into(id);
    return id;
  });
}

}  // namespace crest::store
