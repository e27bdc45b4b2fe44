#include "crest/store/sqlite_queue.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crest/metrics/registry.hpp"
#include "sqlite_internal.hpp"

namespace crest::store {
namespace {

std::int64_t ns(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

// Attributes stored by send_batch; anything else (a hand-edited row) reads as none.
MessageAttributes parse_attributes(const std::string& text) {
  MessageAttributes out;
  if (text.empty()) return out;
  const auto json = nlohmann::json::parse(text, nullptr, false);
  if (!json.is_object()) return out;
  for (const auto& [name, value] : json.items()) {
    if (value.is_string()) out[name] = value.get<std::string>();
  }
  return out;
}

}  // namespace

SqliteQueue::SqliteQueue(SqliteDatabasePtr db, SqliteQueueOptions options, Clock& clock)
    : LocalQueue(
          options.name, options.default_visibility_timeout,
          options.redrive ? std::optional<int>(options.redrive->max_receive_count) : std::nullopt,
          options.metrics),
      db_(std::move(db)),
      dead_letter_queue_(options.redrive ? options.redrive->dead_letter_queue : std::string()),
      clock_(clock) {}

Result<std::vector<std::int64_t>> SqliteQueue::store(const std::vector<OutgoingMessage>& messages) {
  const std::int64_t now = to_ns(clock_.wall_now());
  // One transaction: when it commits, every message is on disk; before, none is.
  return db_->impl().write([&](soci::session& sql) -> Result<std::vector<std::int64_t>> {
    std::vector<std::int64_t> out;
    for (const auto& message : messages) {
      // Attributes as a JSON object; NULL when there are none.
      const std::string attributes =
          message.attributes.empty() ? std::string() : nlohmann::json(message.attributes).dump();
      soci::indicator has_attributes = message.attributes.empty() ? soci::i_null : soci::i_ok;
      sql << "INSERT INTO queue_messages (queue, body, attributes, sent_at_ns, visible_at_ns, "
             "receive_count) VALUES (:q, :b, :a, :s, :v, 0)",
          soci::use(name()), soci::use(message.body), soci::use(attributes, has_attributes),
          soci::use(now), soci::use(now);
      std::int64_t id = 0;
      sql << "SELECT last_insert_rowid()", soci::into(id);
      out.push_back(id);
    }
    return out;
  });
}

Result<LocalQueue::Received> SqliteQueue::claim(int max, std::chrono::milliseconds visibility) {
  const std::int64_t now = to_ns(clock_.wall_now());
  // Idle consumers poll: a read first, so they do not take the write lock for nothing.
  auto any = db_->impl().read([&](soci::session& sql) -> Result<bool> {
    std::int64_t id = 0;
    sql << "SELECT id FROM queue_messages WHERE queue = :q AND visible_at_ns <= :n LIMIT 1",
        soci::use(name()), soci::use(now), soci::into(id);
    return sql.got_data();
  });
  if (!any) {
    return any.error();
  }
  if (!*any) {
    return Received{};
  }
  return db_->impl().write([&](soci::session& sql) -> Result<Received> {
    Received out;
    std::int64_t id = 0;
    std::string body;
    std::int64_t count = 0;
    std::int64_t sent_at = 0;
    std::string attributes;
    soci::indicator attributes_indicator = soci::i_null;
    struct Row {
      std::int64_t id, count, sent_at;
      std::string body;
      std::string attributes;  // JSON object, or empty
    };
    std::vector<Row> rows;
    // Dead-lettered rows leave the queue below, so a few more than `max` are looked at.
    const int limit = max + 10;
    soci::statement st =
        (sql.prepare << "SELECT id, body, receive_count, sent_at_ns, attributes "
                        "FROM queue_messages "
                        "WHERE queue = :q AND visible_at_ns <= :n ORDER BY visible_at_ns, id "
                        "LIMIT :l",
         soci::use(name()), soci::use(now), soci::use(limit), soci::into(id), soci::into(body),
         soci::into(count), soci::into(sent_at), soci::into(attributes, attributes_indicator));
    st.execute();
    while (st.fetch()) {
      rows.push_back(Row{id, count, sent_at, body,
                         attributes_indicator == soci::i_ok ? attributes : std::string()});
    }
    for (auto& row : rows) {
      if (out.messages.size() >= static_cast<std::size_t>(max)) {
        break;
      }
      if (dead_letters(row.count)) {
        // The same row moves to the dead-letter queue in this transaction: never lost, never
        // in both.
        sql << "UPDATE queue_messages SET queue = :d, receive_count = 0, visible_at_ns = :n "
               "WHERE id = :id",
            soci::use(dead_letter_queue_), soci::use(now), soci::use(row.id);
        ++out.dead_lettered;
        continue;
      }
      const std::int64_t next_count = row.count + 1;
      const std::int64_t visible_at = now + ns(visibility);
      sql << "UPDATE queue_messages SET receive_count = :c, visible_at_ns = :v WHERE id = :id",
          soci::use(next_count), soci::use(visible_at), soci::use(row.id);
      // The receive count is the receipt's serial: each receive supersedes earlier handles.
      out.messages.push_back(ReceivedMessage{
          message_id(row.id), receipt_handle(row.id, next_count), std::move(row.body),
          static_cast<int>(next_count), from_ns(row.sent_at), parse_attributes(row.attributes)});
    }
    return out;
  });
}

namespace {

// Why an update keyed by a receipt touched no row: not_found or a superseded handle.
Error receipt_miss(soci::session& sql, const std::string& queue, std::int64_t id,
                   std::int64_t receive_count) {
  std::int64_t current = 0;
  sql << "SELECT receive_count FROM queue_messages WHERE id = :id AND queue = :q", soci::use(id),
      soci::use(queue), soci::into(current);
  if (!sql.got_data()) {
    return Error{ErrorKind::not_found, "message is no longer in the queue"};
  }
  if (current != receive_count) {
    return Error{ErrorKind::conflict, "stale receipt handle: the message was received again"};
  }
  return Error{ErrorKind::conflict, "message is not in flight"};
}

}  // namespace

Result<void> SqliteQueue::remove(const Receipt& receipt) {
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    soci::statement st =
        (sql.prepare << "DELETE FROM queue_messages WHERE id = :id AND queue = :q AND "
                        "receive_count = :c",
         soci::use(receipt.serial), soci::use(name()), soci::use(receipt.receipt_serial));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return receipt_miss(sql, name(), receipt.serial, receipt.receipt_serial);
    }
    return {};
  });
}

Result<void> SqliteQueue::set_visibility(const Receipt& receipt,
                                         std::chrono::milliseconds timeout) {
  const std::int64_t now = to_ns(clock_.wall_now());
  const std::int64_t visible_at = now + ns(timeout);
  return db_->impl().write([&](soci::session& sql) -> Result<void> {
    soci::statement st =
        (sql.prepare << "UPDATE queue_messages SET visible_at_ns = :v WHERE id = :id AND "
                        "queue = :q AND receive_count = :c AND visible_at_ns > :n",
         soci::use(visible_at), soci::use(receipt.serial), soci::use(name()),
         soci::use(receipt.receipt_serial), soci::use(now));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return receipt_miss(sql, name(), receipt.serial, receipt.receipt_serial);
    }
    return {};
  });
}

Result<QueueAttributes> SqliteQueue::attributes() {
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().read([&](soci::session& sql) -> Result<QueueAttributes> {
    QueueAttributes a;
    soci::indicator oldest_ind = soci::i_null;
    std::int64_t oldest = 0;
    sql << "SELECT COALESCE(SUM(visible_at_ns <= :n), 0), COALESCE(SUM(visible_at_ns > :n2), 0), "
           "MIN(sent_at_ns) FROM queue_messages WHERE queue = :q",
        soci::use(now), soci::use(now), soci::use(name()), soci::into(a.visible),
        soci::into(a.in_flight), soci::into(oldest, oldest_ind);
    if (oldest_ind == soci::i_ok && oldest < now) {
      a.oldest_age = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::nanoseconds(now - oldest));
    }
    return a;
  });
}

}  // namespace crest::store
