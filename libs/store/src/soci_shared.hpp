#pragma once
// What the SQLite and MySQL stores share: the same schema and, for catalog, orders and users,
// the same statements, except for a few SQL fragments each dialect spells its own way
// (SqlCatalogDialect). Each store keeps what really differs: transactions and replica routing,
// how a reservation is claimed, how stock is put back, and how a new id is read.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <soci/soci.h>

#include "crest/core/error.hpp"
#include "crest/store/model.hpp"

namespace crest::store::soci_shared {

inline constexpr const char* kProductColumns =
    "id, category_id, sku, name, description, price_cents, stock, version, updated_at_ns";

// Binds the output columns of kProductColumns to `row`; fetch() refills it.
struct ProductRow {
  Product product;
  std::int64_t updated_at_ns = 0;
  void bind(soci::statement& st);
  Product take();
};

// The fragments of a product search that differ between dialects.
struct SqlCatalogDialect {
  const char* name_contains;         // with the placeholders :t2
  const char* description_contains;  // with :t3
  const char* relevance;             // ORDER BY term with :rt, a name match first
  const char* name_order;            // case-insensitive name order
  bool lower_case_text = false;      // the search text is lower-cased before binding
};

Result<void> check_query(const ProductQuery& query);
std::vector<Category> select_categories(soci::session& sql);
ProductPage select_products(soci::session& sql, const ProductQuery& query,
                            const SqlCatalogDialect& dialect);

// Quantities per product (merged, in id order), or invalid_argument.
Result<std::map<std::int64_t, std::int64_t>> merge_lines(const std::vector<OrderLine>& lines);
// Takes `quantity` off a product's stock unless that would make it negative: not_found or
// conflict (naming what is left) when it cannot.
Result<void> take_stock(soci::session& sql, std::int64_t product_id, std::int64_t quantity,
                        std::int64_t now);

// Sets one integer column of a product ("price_cents" or "stock": never user input), bumping
// its version; not_found when there is no such product.
Result<void> set_column(soci::session& sql, const char* column, std::int64_t product_id,
                        std::int64_t value, std::int64_t now);

Result<void> check_new_product(const Product& product);
// Inserts the product (id 0: the database picks one); the caller reads the new id its own way.
void insert_product_row(soci::session& sql, const Product& product, std::int64_t now);

std::optional<User> user_by_email(soci::session& sql, const std::string& normalized_email);
std::optional<User> user_by_id(soci::session& sql, std::int64_t id);

inline constexpr int kMaxOrdersPerPage = 100;
inline constexpr int kMaxOutboxBatch = 1000;

// Orders, with their lines, matching `where_and_order` (integers formatted in by the caller,
// never user text); two queries in all.
std::vector<Order> load_orders(soci::session& sql, const std::string& where_and_order);
std::optional<Order> load_order(soci::session& sql, std::int64_t order_id);
std::optional<std::int64_t> find_by_key(soci::session& sql, std::int64_t user_id,
                                        const std::string& key);
// Moves an order from one status to another: not_found, or conflict naming its status.
Result<void> transition_order(soci::session& sql, std::int64_t order_id, const std::string& from,
                              const std::string& to, const std::string& reason, std::int64_t now);
// Claims up to `limit` unsent outbox rows that no relay holds, oldest first, for a lease of
// kOutboxClaimLease, so each row is published by one relay in the normal case; a relay that
// dies loses its claim when the lease ends. Run inside a write transaction; `lock_clause` is
// " FOR UPDATE SKIP LOCKED" on MySQL (concurrent relays skip each other's rows instead of
// waiting) and "" on SQLite (whose write lock already serialises relays).
inline constexpr std::int64_t kOutboxClaimLeaseNs = 10'000'000'000;
std::vector<OutboxEntry> claim_pending_outbox(soci::session& sql, int limit, std::int64_t now,
                                              const char* lock_clause);
void mark_outbox_sent(soci::session& sql, const std::vector<std::int64_t>& ids, std::int64_t now);
OrderBacklog select_backlog(soci::session& sql);
std::vector<std::int64_t> select_pending_orders_before(soci::session& sql, std::int64_t cutoff_ns,
                                                       std::int64_t after_id, int limit);

}  // namespace crest::store::soci_shared
