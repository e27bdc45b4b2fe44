#include "soci_shared.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

namespace crest::store::soci_shared {

void ProductRow::bind(soci::statement& st) {
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

Product ProductRow::take() {
  product.updated_at = from_ns(updated_at_ns);
  return product;
}

Result<void> check_query(const ProductQuery& query) {
  if (query.page < 1) {
    return Error{ErrorKind::invalid_argument, "page must be at least 1"};
  }
  if (query.page_size < 1 || query.page_size > ProductQuery::max_page_size) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("page_size must be 1..{}", ProductQuery::max_page_size)};
  }
  return {};
}

std::vector<Category> select_categories(soci::session& sql) {
  std::vector<Category> out;
  Category c;
  soci::statement st = (sql.prepare << "SELECT id, slug, name FROM categories ORDER BY id",
                        soci::into(c.id), soci::into(c.slug), soci::into(c.name));
  st.execute();
  while (st.fetch()) {
    out.push_back(c);
  }
  return out;
}

namespace {

std::string order_by(ProductSort sort, bool has_text, const SqlCatalogDialect& dialect) {
  switch (sort) {
    case ProductSort::price_asc:
      return "price_cents ASC, id ASC";
    case ProductSort::price_desc:
      return "price_cents DESC, id ASC";
    case ProductSort::name_asc:
      return fmt::format("{}, id ASC", dialect.name_order);
    case ProductSort::newest:
      return "id DESC";
    case ProductSort::relevance_or_id:
      break;
  }
  // A match in the name ranks above a match only in the description.
  return has_text ? fmt::format("{} DESC, id ASC", dialect.relevance) : "id ASC";
}

}  // namespace

ProductPage select_products(soci::session& sql, const ProductQuery& query,
                            const SqlCatalogDialect& dialect) {
  const int has_category = query.category_id.has_value() ? 1 : 0;
  const std::int64_t category = query.category_id.value_or(0);
  const std::string text = dialect.lower_case_text ? normalize_email(query.text) : query.text;
  // Values are always bound; only fixed fragments are chosen in code.
  const std::string where =
      fmt::format("WHERE (:hc = 0 OR category_id = :c) AND (:t1 = '' OR {} OR {})",
                  dialect.name_contains, dialect.description_contains);
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
                         kProductColumns, where, order_by(query.sort, !text.empty(), dialect)));
  st.define_and_bind();
  st.execute();
  while (st.fetch()) {
    page.items.push_back(row.take());
  }
  return page;
}

namespace {
std::optional<User> load_user(soci::session& sql, const char* where, const auto& key) {
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
}  // namespace

std::optional<User> user_by_email(soci::session& sql, const std::string& normalized_email) {
  return load_user(sql, "email = :e", normalized_email);
}

std::optional<User> user_by_id(soci::session& sql, std::int64_t id) {
  return load_user(sql, "id = :id", id);
}

Result<std::map<std::int64_t, std::int64_t>> merge_lines(const std::vector<OrderLine>& lines) {
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
  return wanted;
}

Result<void> take_stock(soci::session& sql, std::int64_t product_id, std::int64_t quantity,
                        std::int64_t now) {
  // The guard in the WHERE clause is what keeps stock from going negative.
  soci::statement st =
      (sql.prepare << "UPDATE products SET stock = stock - :q, version = version + 1, "
                      "updated_at_ns = :t WHERE id = :id AND stock >= :q2",
       soci::use(quantity), soci::use(now), soci::use(product_id), soci::use(quantity));
  st.execute(true);
  if (st.get_affected_rows() > 0) {
    return {};
  }
  std::int64_t stock = 0;
  soci::indicator ind = soci::i_null;
  sql << "SELECT stock FROM products WHERE id = :id", soci::use(product_id), soci::into(stock, ind);
  if (!sql.got_data()) {
    return Error{ErrorKind::not_found, fmt::format("product {} not found", product_id)};
  }
  return Error{ErrorKind::conflict,
               fmt::format("insufficient stock for product {}: {} wanted, {} left", product_id,
                           quantity, stock)};
}

Result<void> set_column(soci::session& sql, const char* column, std::int64_t product_id,
                        std::int64_t value, std::int64_t now) {
  soci::statement st =
      (sql.prepare << fmt::format(
           "UPDATE products SET {} = :v, version = version + 1, updated_at_ns = :t "
           "WHERE id = :id",
           column),
       soci::use(value), soci::use(now), soci::use(product_id));
  st.execute(true);
  if (st.get_affected_rows() == 0) {
    return Error{ErrorKind::not_found, fmt::format("product {} not found", product_id)};
  }
  return {};
}

Result<void> check_new_product(const Product& product) {
  if (product.sku.empty()) {
    return Error{ErrorKind::invalid_argument, "product sku is empty"};
  }
  if (product.price_cents < 0 || product.stock < 0) {
    return Error{ErrorKind::invalid_argument, "price and stock must not be negative"};
  }
  return {};
}

void insert_product_row(soci::session& sql, const Product& product, std::int64_t now) {
  soci::indicator id_ind = product.id == 0 ? soci::i_null : soci::i_ok;
  const std::int64_t version = std::max<std::int64_t>(product.version, 1);
  sql << "INSERT INTO products (id, category_id, sku, name, description, price_cents, stock, "
         "version, updated_at_ns) VALUES (:id, :c, :sku, :n, :d, :p, :s, :v, :t)",
      soci::use(product.id, id_ind), soci::use(product.category_id), soci::use(product.sku),
      soci::use(product.name), soci::use(product.description), soci::use(product.price_cents),
      soci::use(product.stock), soci::use(version), soci::use(now);
}

// Loads whole orders (with their lines) matching `where`, in `order`; two queries in all.
std::vector<Order> load_orders(soci::session& sql, const std::string& where_and_order) {
  std::vector<Order> out;
  Order o;
  std::string status;
  std::int64_t created_at_ns = 0;
  std::int64_t updated_at_ns = 0;
  soci::statement st =
      (sql.prepare << "SELECT id, user_id, idempotency_key, status, failure_reason, total_cents, "
                      "created_at_ns, updated_at_ns FROM orders " +
                          where_and_order,
       soci::into(o.id), soci::into(o.user_id), soci::into(o.idempotency_key), soci::into(status),
       soci::into(o.failure_reason), soci::into(o.total_cents), soci::into(created_at_ns),
       soci::into(updated_at_ns));
  st.execute();
  while (st.fetch()) {
    Order each = o;
    each.status = parse_order_status(status).value_or(OrderStatus::failed);
    each.created_at = from_ns(created_at_ns);
    each.updated_at = from_ns(updated_at_ns);
    out.push_back(std::move(each));
  }
  if (out.empty()) {
    return out;
  }
  std::map<std::int64_t, std::size_t> index;
  std::vector<std::int64_t> ids;
  for (std::size_t i = 0; i < out.size(); ++i) {
    index[out[i].id] = i;
    ids.push_back(out[i].id);
  }
  std::int64_t order_id = 0;
  OrderLine line;
  soci::statement lines =
      (sql.prepare << fmt::format("SELECT order_id, product_id, quantity, unit_price_cents FROM "
                                  "order_lines WHERE order_id IN ({}) ORDER BY order_id, "
                                  "product_id",
                                  fmt::join(ids, ",")),
       soci::into(order_id), soci::into(line.product_id), soci::into(line.quantity),
       soci::into(line.unit_price_cents));
  lines.execute();
  while (lines.fetch()) {
    out[index[order_id]].lines.push_back(line);
  }
  return out;
}

std::optional<Order> load_order(soci::session& sql, std::int64_t order_id) {
  auto found = load_orders(sql, fmt::format("WHERE id = {}", order_id));
  if (found.empty()) {
    return std::nullopt;
  }
  return std::move(found.front());
}

std::optional<std::int64_t> find_by_key(soci::session& sql, std::int64_t user_id,
                                        const std::string& key) {
  std::int64_t id = 0;
  sql << "SELECT id FROM orders WHERE user_id = :u AND idempotency_key = :k", soci::use(user_id),
      soci::use(key), soci::into(id);
  if (!sql.got_data()) {
    return std::nullopt;
  }
  return id;
}

Result<void> transition_order(soci::session& sql, std::int64_t order_id, const std::string& from,
                              const std::string& to, const std::string& reason, std::int64_t now) {
  soci::statement st =
      (sql.prepare << "UPDATE orders SET status = :to, failure_reason = :r, updated_at_ns = :t "
                      "WHERE id = :id AND status = :from",
       soci::use(to), soci::use(reason), soci::use(now), soci::use(order_id), soci::use(from));
  st.execute(true);
  if (st.get_affected_rows() > 0) {
    return {};
  }
  std::string current;
  sql << "SELECT status FROM orders WHERE id = :id", soci::use(order_id), soci::into(current);
  if (!sql.got_data()) {
    return Error{ErrorKind::not_found, fmt::format("order {} not found", order_id)};
  }
  return Error{ErrorKind::conflict, fmt::format("order {} is {}, not {}", order_id, current, from)};
}

std::vector<OutboxEntry> claim_pending_outbox(soci::session& sql, int limit, std::int64_t now,
                                              const char* lock_clause) {
  std::vector<OutboxEntry> out;
  OutboxEntry e;
  std::int64_t created_at_ns = 0;
  soci::statement st =
      (sql.prepare << std::string(
                          "SELECT id, payload, created_at_ns FROM outbox WHERE sent_at_ns IS "
                          "NULL AND (claimed_until_ns IS NULL OR claimed_until_ns <= :n) "
                          "ORDER BY id LIMIT :l") +
                          lock_clause,
       soci::use(now), soci::use(limit), soci::into(e.id), soci::into(e.payload),
       soci::into(created_at_ns));
  st.execute();
  std::vector<std::int64_t> ids;
  while (st.fetch()) {
    e.created_at = from_ns(created_at_ns);
    out.push_back(e);
    ids.push_back(e.id);
  }
  if (!ids.empty()) {
    const std::int64_t until = now + kOutboxClaimLeaseNs;
    sql << fmt::format("UPDATE outbox SET claimed_until_ns = :u WHERE id IN ({})",
                       fmt::join(ids, ",")),
        soci::use(until);
  }
  return out;
}

void mark_outbox_sent(soci::session& sql, const std::vector<std::int64_t>& ids, std::int64_t now) {
  sql << fmt::format("UPDATE outbox SET sent_at_ns = :t WHERE id IN ({}) AND sent_at_ns IS NULL",
                     fmt::join(ids, ",")),
      soci::use(now);
}

OrderBacklog select_backlog(soci::session& sql) {
  OrderBacklog backlog;
  sql << "SELECT COUNT(*) FROM outbox WHERE sent_at_ns IS NULL", soci::into(backlog.unsent_outbox);
  std::int64_t oldest = 0;
  soci::indicator oldest_ind = soci::i_null;
  sql << "SELECT COUNT(*), MIN(created_at_ns) FROM orders WHERE status = 'pending'",
      soci::into(backlog.pending_orders), soci::into(oldest, oldest_ind);
  if (oldest_ind == soci::i_ok && backlog.pending_orders > 0) {
    backlog.oldest_pending_created_at = from_ns(oldest);
  }
  return backlog;
}

std::vector<std::int64_t> select_pending_orders_before(soci::session& sql, std::int64_t cutoff_ns,
                                                       std::int64_t after_id, int limit) {
  std::vector<std::int64_t> out;
  std::int64_t id = 0;
  soci::statement st =
      (sql.prepare << "SELECT id FROM orders WHERE status = 'pending' AND "
                      "created_at_ns < :c AND id > :a ORDER BY id LIMIT :l",
       soci::use(cutoff_ns), soci::use(after_id), soci::use(limit), soci::into(id));
  st.execute();
  while (st.fetch()) {
    out.push_back(id);
  }
  return out;
}

}  // namespace crest::store::soci_shared
