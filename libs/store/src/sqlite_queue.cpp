#include "crest/store/sqlite_queue.hpp"

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crest/metrics/registry.hpp"
#include "sqlite_internal.hpp"

namespace crest::store {
namespace {

constexpr std::chrono::milliseconds kMaxWait{20000};  // SQS's long-poll ceiling
constexpr std::chrono::milliseconds kMaxVisibility{12 * 3600 * 1000};
// Another process may send or a visibility may expire while a long poll waits: look again
// this often.
constexpr std::chrono::milliseconds kPollSlice{50};

bool parse_i64(std::string_view text, std::int64_t& out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && out > 0;
}

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
    : db_(std::move(db)), options_(std::move(options)), clock_(clock) {
  if (options_.metrics != nullptr) {
    auto& m = *options_.metrics;
    const std::vector<std::string> labels{"queue"};
    sent_ =
        &m.counter_family("crest_queue_messages_sent_total", "Messages sent to a queue.", labels)
             .with({options_.name});
    received_ = &m.counter_family("crest_queue_messages_received_total",
                                  "Messages delivered by a queue (redeliveries included).", labels)
                     .with({options_.name});
    deleted_ = &m.counter_family("crest_queue_messages_deleted_total",
                                 "Messages deleted (acknowledged) from a queue.", labels)
                    .with({options_.name});
    dead_lettered_ = &m.counter_family("crest_queue_messages_dead_lettered_total",
                                       "Messages moved to the dead-letter queue.", labels)
                          .with({options_.name});
  }
}

Result<std::vector<std::string>> SqliteQueue::send_messages(
    const std::vector<OutgoingMessage>& messages) {
  if (messages.empty() || messages.size() > static_cast<std::size_t>(max_batch)) {
    return Error{ErrorKind::invalid_argument,
                 fmt::format("a batch holds 1..{} messages, not {}", max_batch, messages.size())};
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  // One transaction: when it commits, every message is on disk; before, none is.
  auto ids = db_->impl().write([&](soci::session& sql) -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    for (const auto& message : messages) {
      // Attributes as a JSON object; NULL when there are none.
      const std::string attributes =
          message.attributes.empty() ? std::string() : nlohmann::json(message.attributes).dump();
      soci::indicator has_attributes = message.attributes.empty() ? soci::i_null : soci::i_ok;
      sql << "INSERT INTO queue_messages (queue, body, attributes, sent_at_ns, visible_at_ns, "
             "receive_count) VALUES (:q, :b, :a, :s, :v, 0)",
          soci::use(options_.name), soci::use(message.body), soci::use(attributes, has_attributes),
          soci::use(now), soci::use(now);
      std::int64_t id = 0;
      sql << "SELECT last_insert_rowid()", soci::into(id);
      out.push_back(fmt::format("{}-{}", options_.name, id));
    }
    return out;
  });
  if (ids) {
    if (sent_ != nullptr) {
      sent_->inc(static_cast<double>(ids->size()));
    }
    arrived_.notify_all();
  }
  return ids;
}

Result<std::vector<ReceivedMessage>> SqliteQueue::receive_once(
    int max, std::chrono::milliseconds visibility) {
  const std::int64_t now = to_ns(clock_.wall_now());
  // Idle consumers poll: a read first, so they do not take the write lock for nothing.
  auto any = db_->impl().read([&](soci::session& sql) -> Result<bool> {
    std::int64_t id = 0;
    sql << "SELECT id FROM queue_messages WHERE queue = :q AND visible_at_ns <= :n LIMIT 1",
        soci::use(options_.name), soci::use(now), soci::into(id);
    return sql.got_data();
  });
  if (!any) {
    return any.error();
  }
  if (!*any) {
    return std::vector<ReceivedMessage>{};
  }
  int dead = 0;
  auto received =
      db_->impl().write([&](soci::session& sql) -> Result<std::vector<ReceivedMessage>> {
        std::vector<ReceivedMessage> out;
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
             soci::use(options_.name), soci::use(now), soci::use(limit), soci::into(id),
             soci::into(body), soci::into(count), soci::into(sent_at),
             soci::into(attributes, attributes_indicator));
        st.execute();
        while (st.fetch()) {
          rows.push_back(Row{id, count, sent_at, body,
                             attributes_indicator == soci::i_ok ? attributes : std::string()});
        }
        for (auto& row : rows) {
          if (out.size() >= static_cast<std::size_t>(max)) {
            break;
          }
          if (options_.redrive && row.count >= options_.redrive->max_receive_count) {
            // The same row moves to the dead-letter queue in this transaction: never lost, never
            // in both.
            sql << "UPDATE queue_messages SET queue = :d, receive_count = 0, visible_at_ns = :n "
                   "WHERE id = :id",
                soci::use(options_.redrive->dead_letter_queue), soci::use(now), soci::use(row.id);
            ++dead;
            continue;
          }
          const std::int64_t next_count = row.count + 1;
          const std::int64_t visible_at = now + ns(visibility);
          sql << "UPDATE queue_messages SET receive_count = :c, visible_at_ns = :v WHERE id = :id",
              soci::use(next_count), soci::use(visible_at), soci::use(row.id);
          // The receive count is the receipt's serial: each receive supersedes earlier handles.
          out.push_back(ReceivedMessage{fmt::format("{}-{}", options_.name, row.id),
                                        fmt::format("{}:{}:{}", options_.name, row.id, next_count),
                                        std::move(row.body), static_cast<int>(next_count),
                                        from_ns(row.sent_at), parse_attributes(row.attributes)});
        }
        return out;
      });
  if (received && dead > 0 && dead_lettered_ != nullptr) {
    dead_lettered_->inc(dead);
  }
  return received;
}

Result<std::vector<ReceivedMessage>> SqliteQueue::receive(const ReceiveOptions& options) {
  if (options.max_messages < 1 || options.max_messages > max_batch) {
    return Error{ErrorKind::invalid_argument, fmt::format("max_messages must be 1..{}", max_batch)};
  }
  if (options.wait_time.count() < 0 || options.wait_time > kMaxWait) {
    return Error{ErrorKind::invalid_argument, "wait_time must be 0..20s"};
  }
  const auto visibility = options.visibility_timeout.value_or(options_.default_visibility_timeout);
  if (visibility.count() < 0 || visibility > kMaxVisibility) {
    return Error{ErrorKind::invalid_argument, "visibility_timeout must be 0..12h"};
  }
  // Long polling waits in real time: a condition variable cannot wait on a ManualClock.
  const auto deadline = std::chrono::steady_clock::now() + options.wait_time;
  for (;;) {
    auto out = receive_once(options.max_messages, visibility);
    if (!out) {
      return out.error();
    }
    const auto now = std::chrono::steady_clock::now();
    if (!out->empty() || now >= deadline) {
      if (received_ != nullptr) {
        received_->inc(static_cast<double>(out->size()));
      }
      return out;
    }
    std::unique_lock lock(mutex_);
    arrived_.wait_until(lock, std::min(deadline, now + kPollSlice));
  }
}

Result<SqliteQueue::Receipt> SqliteQueue::parse_receipt(const std::string& receipt_handle) const {
  const std::string_view handle = receipt_handle;
  const std::string prefix = options_.name + ":";
  const auto invalid = Error{ErrorKind::invalid_argument, "receipt handle is not from this queue"};
  if (handle.substr(0, prefix.size()) != prefix) {
    return invalid;
  }
  const auto rest = handle.substr(prefix.size());
  const auto colon = rest.find(':');
  Receipt parsed;
  if (colon == std::string_view::npos || !parse_i64(rest.substr(0, colon), parsed.id) ||
      !parse_i64(rest.substr(colon + 1), parsed.receive_count)) {
    return invalid;
  }
  return parsed;
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

Result<void> SqliteQueue::delete_message(const std::string& receipt_handle) {
  auto receipt = parse_receipt(receipt_handle);
  if (!receipt) {
    return receipt.error();
  }
  auto deleted = db_->impl().write([&](soci::session& sql) -> Result<void> {
    soci::statement st =
        (sql.prepare << "DELETE FROM queue_messages WHERE id = :id AND queue = :q AND "
                        "receive_count = :c",
         soci::use(receipt->id), soci::use(options_.name), soci::use(receipt->receive_count));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return receipt_miss(sql, options_.name, receipt->id, receipt->receive_count);
    }
    return {};
  });
  if (deleted && deleted_ != nullptr) {
    deleted_->inc();
  }
  return deleted;
}

Result<void> SqliteQueue::change_visibility(const std::string& receipt_handle,
                                            std::chrono::milliseconds timeout) {
  if (timeout.count() < 0 || timeout > kMaxVisibility) {
    return Error{ErrorKind::invalid_argument, "visibility timeout must be 0..12h"};
  }
  auto receipt = parse_receipt(receipt_handle);
  if (!receipt) {
    return receipt.error();
  }
  const std::int64_t now = to_ns(clock_.wall_now());
  const std::int64_t visible_at = now + ns(timeout);
  auto changed = db_->impl().write([&](soci::session& sql) -> Result<void> {
    soci::statement st =
        (sql.prepare << "UPDATE queue_messages SET visible_at_ns = :v WHERE id = :id AND "
                        "queue = :q AND receive_count = :c AND visible_at_ns > :n",
         soci::use(visible_at), soci::use(receipt->id), soci::use(options_.name),
         soci::use(receipt->receive_count), soci::use(now));
    st.execute(true);
    if (st.get_affected_rows() == 0) {
      return receipt_miss(sql, options_.name, receipt->id, receipt->receive_count);
    }
    return {};
  });
  if (changed) {
    arrived_.notify_all();
  }
  return changed;
}

Result<QueueAttributes> SqliteQueue::attributes() {
  const std::int64_t now = to_ns(clock_.wall_now());
  return db_->impl().read([&](soci::session& sql) -> Result<QueueAttributes> {
    QueueAttributes a;
    soci::indicator oldest_ind = soci::i_null;
    std::int64_t oldest = 0;
    sql << "SELECT COALESCE(SUM(visible_at_ns <= :n), 0), COALESCE(SUM(visible_at_ns > :n2), 0), "
           "MIN(sent_at_ns) FROM queue_messages WHERE queue = :q",
        soci::use(now), soci::use(now), soci::use(options_.name), soci::into(a.visible),
        soci::into(a.in_flight), soci::into(oldest, oldest_ind);
    if (oldest_ind == soci::i_ok && oldest < now) {
      a.oldest_age = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::nanoseconds(now - oldest));
    }
    return a;
  });
}

}  // namespace crest::store
